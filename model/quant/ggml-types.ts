// ggml's storage types: numeric ids as written in GGUF files, block sizes, and row byte counts.
// Every ggml type is listed (so a file can be described), and SUPPORTED_TYPES are those Sprig decodes.
import { errors } from '../../common/errors.ts';
import type { GgmlType } from '../weights.ts';

export interface GgmlTypeInfo {
  id: number;
  name: string;
  /** Elements per block (1 for plain floats). */
  blockElems: number;
  /** Bytes per block. */
  blockBytes: number;
}

// [name, id, elements per block, bytes per block], as ggml's type traits (ggml.c) give them.
const TABLE: [string, number, number, number][] = [
  ['F32', 0, 1, 4], ['F16', 1, 1, 2], ['Q4_0', 2, 32, 18], ['Q4_1', 3, 32, 20], ['Q5_0', 6, 32, 22],
  ['Q5_1', 7, 32, 24], ['Q8_0', 8, 32, 34], ['Q8_1', 9, 32, 36], ['Q2_K', 10, 256, 84], ['Q3_K', 11, 256, 110],
  ['Q4_K', 12, 256, 144], ['Q5_K', 13, 256, 176], ['Q6_K', 14, 256, 210], ['Q8_K', 15, 256, 292],
  ['IQ2_XXS', 16, 256, 66], ['IQ2_XS', 17, 256, 74], ['IQ3_XXS', 18, 256, 98], ['IQ1_S', 19, 256, 50],
  ['IQ4_NL', 20, 32, 18], ['IQ3_S', 21, 256, 110], ['IQ2_S', 22, 256, 82], ['IQ4_XS', 23, 256, 136],
  ['I8', 24, 1, 1], ['I16', 25, 1, 2], ['I32', 26, 1, 4], ['I64', 27, 1, 8], ['F64', 28, 1, 8],
  ['IQ1_M', 29, 256, 56], ['BF16', 30, 1, 2], ['TQ1_0', 34, 256, 54], ['TQ2_0', 35, 256, 66],
  ['MXFP4', 39, 32, 17],
];

const BY_ID = new Map<number, GgmlTypeInfo>();
const BY_NAME = new Map<string, GgmlTypeInfo>();
for (const [name, id, blockElems, blockBytes] of TABLE) {
  const info = { id, name, blockElems, blockBytes };
  BY_ID.set(id, info);
  BY_NAME.set(name, info);
}

/** The types Sprig dequantizes (model/quant/dequant.ts) and serves through a WeightSource. */
export const SUPPORTED_TYPES: readonly GgmlType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q5_K', 'Q6_K'];

/** A ggml type by its GGUF id; undefined for an id ggml does not define (as far as this table knows). */
export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** The type's name when Sprig supports it, else null. */
export function supportedType(id: number): GgmlType | null {
  const info = BY_ID.get(id);
  return info && (SUPPORTED_TYPES as readonly string[]).includes(info.name) ? (info.name as GgmlType) : null;
}

export function typeInfo(type: GgmlType): GgmlTypeInfo {
  return BY_NAME.get(type)!;
}

export function ggmlTypeId(type: GgmlType): number {
  return typeInfo(type).id;
}

export function blockElems(type: GgmlType): number {
  return typeInfo(type).blockElems;
}

export function blockBytes(type: GgmlType): number {
  return typeInfo(type).blockBytes;
}

/** Bytes of one row of `cols` values; cols must be a whole number of blocks. */
export function rowBytes(type: GgmlType, cols: number): number {
  const { blockElems: be, blockBytes: bb } = typeInfo(type);
  if (cols % be !== 0) throw errors.internal(`a ${type} row needs a multiple of ${be} values, got ${cols}`);
  return (cols / be) * bb;
}

/** Bytes of a tensor of HF-order shape [..., cols] (blocks run along the last dimension). */
export function tensorBytes(type: GgmlType, shape: readonly number[]): number {
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return rows * rowBytes(type, cols);
}
