// How each matrix is stored in the graph: as f32, or in MatMulNBits form. Quantized GGUF tensors keep their own
// type; float tensors stay f32 under `--quantize none` and are quantized with ggml's round-to-nearest under
// q8 (Q8_0) and q4 (Q4_0, the output head included). llama.cpp's Q4_0 files keep the head in Q6_K, but Q6_K's
// exact MatMulNBits form (8-bit values, an f32 scale per 16) costs 1.25 bytes per weight here against Q4_0's
// 0.625: on the 82M-parameter stories model the head is 30% of the weights, and a Q4_0 head made a one-token
// forward 25% faster (4.76 → 3.56 ms, `sprig profile --quantize q4`).
import { errors } from '../../common/errors.ts';
import type { GgmlType, WeightSource } from '../weights.ts';
import { isNBitsType, toNBits, type NBitsMatrix } from '../quant/nbits.ts';
import { quantize } from '../quant/quantize.ts';

export const QUANTIZE_MODES = ['none', 'q8', 'q4'] as const;
export type QuantizeMode = (typeof QUANTIZE_MODES)[number];

export interface MatrixFormat {
  kind: 'f32' | 'nbits';
  /** Equal keys can be stacked into one product. */
  key: string;
  /** The matrix in MatMulNBits form (kind 'nbits' only). [out, in] */
  nbits(): NBitsMatrix;
}

const F32: MatrixFormat = { kind: 'f32', key: 'f32', nbits: () => { throw errors.internal('f32 matrix has no MatMulNBits form'); } };

/** The storage type a float matrix gets under `mode`; null = stays f32 (rows not a multiple of 32). */
export function quantizeTarget(mode: QuantizeMode, cols: number): GgmlType | null {
  if (mode === 'none') return null;
  return cols % 32 === 0 ? (mode === 'q8' ? 'Q8_0' : 'Q4_0') : null;
}

/** The graph format of matrix `name`. `transposed`: stored [in, out] (GPT-2 Conv1D) rather than [out, in]. */
export function matrixFormat(weights: WeightSource, name: string, mode: QuantizeMode, transposed: boolean): MatrixFormat {
  const type = weights.typeOf(name);
  if (isNBitsType(type)) return { kind: 'nbits', key: type, nbits: () => toNBits(weights.raw(name), name) };
  if (mode === 'none') return F32;
  const t = weights.get(name);
  const [out, inF] = transposed ? [t.shape[1], t.shape[0]] : [t.shape[0], t.shape[1]];
  const target = quantizeTarget(mode, inF);
  if (target === null) return F32;
  return {
    kind: 'nbits',
    key: target,
    nbits: () => {
      const rows = transposed ? transpose(t.data, inF, out) : t.data; // [out, in]
      return toNBits({ type: target, shape: [out, inF], data: quantize(target, rows) }, name);
    },
  };
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
