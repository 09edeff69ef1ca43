// GGUF metadata values with their on-disk types, as the writer needs them (the reader gives plain JS values).
// Shared by the GGUF writer (model/gguf/write.ts) and the tokenizer metadata converter.

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string';

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
