// GGUF metadata values with their on-disk types, as the writer needs them (the reader gives plain JS values),
// and the value-type table (ids and sizes) that the GGUF reader and writer both use.
// Shared by the GGUF reader and writer (model/gguf/read.ts, write.ts) and the tokenizer metadata converter.

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string';
export type GgufValueType = GgufScalarType | 'array';

/** GGUF's value types (gguf_metadata_value_type): a type's index here is its id in the file. */
export const GGUF_VALUE_TYPES: readonly GgufValueType[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];

/** A value type's id in the file (its index in GGUF_VALUE_TYPES). */
export const GGUF_VALUE_TYPE_ID = Object.fromEntries(GGUF_VALUE_TYPES.map((t, i) => [t, i])) as Record<GgufValueType, number>;

/** Bytes a value of each type takes on disk; for a string and an array the least (u64 length; u32 item type + u64 count). */
export const GGUF_VALUE_BYTES: Readonly<Record<GgufValueType, number>> = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8, string: 8, array: 12 };

export type GgufKv =
  | { key: string; type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { key: string; type: 'u64' | 'i64'; value: bigint | number }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'array'; itemType: 'string'; value: string[] }
  | { key: string; type: 'array'; itemType: Exclude<GgufScalarType, 'string' | 'bool'>; value: number[] }
  | { key: string; type: 'array'; itemType: 'bool'; value: boolean[] };

/** Metadata as the reader returns it: key → plain value (arrays of numbers or strings, bigint for 64-bit ints). */
export type GgufMetadata = Record<string, unknown>;
