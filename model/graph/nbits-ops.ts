// MatMulNBits and GatherBlockQuantized (onnxruntime contrib ops) over NBitsMatrix weights, including the
// K-quants' exact min term (see model/quant/nbits.ts).
import { stackRows, type NBitsMatrix } from '../quant/nbits.ts';
import type { OnnxGraph } from './onnx-graph.ts';

/** Measured fastest on this machine's kind: int8 activations, as llama.cpp's q8 dot products. */
export const ACCURACY_LEVEL = 4;

/** Initializer names of one MatMulNBits weight, so a tied embedding can gather from the same bytes. */
export interface NBitsWeights {
  data: string;
  m: NBitsMatrix;
}

function addWeights(g: OnnxGraph, m: NBitsMatrix, name: string): NBitsWeights {
  const blocks = m.cols / m.blockSize;
  const data = g.weightBytes(`${name}.q`, 'uint8', m.data, [m.rows, blocks, (m.blockSize * m.bits) / 8]);
  return { data, m };
}

/** x [1, n, K] → Σ x over each 16 columns [1, n, K/16] */
function sum16(g: OnnxGraph, x: string, K: number): string {
  const r = g.op('Reshape', [x, g.constInt64([0, 0, K / 16, 16])]); // [1, n, K/16, 16]
  return g.op('ReduceSum', [r, g.constInt64([-1])], { keepdims: 0 });
}

/**
 * x [1, n, K] · Wᵀ for W = the parts stacked along rows (all one format). → [1, n, Σ rows]
 * `shared`: reuse these quantized bytes instead of writing them again (tied embedding).
 */
export function nbitsMatMul(g: OnnxGraph, x: string, parts: NBitsMatrix[], name: string, shared?: NBitsWeights): string {
  const m = parts.length === 1 ? parts[0] : stackRows(parts);
  const w = shared ?? addWeights(g, m, name);
  const ins = [x, w.data, g.weight(`${name}.scales`, m.scales, [m.scales.length])];
  if (m.zeroPoints) ins.push(g.weightBytes(`${name}.zp`, 'uint8', m.zeroPoints, [m.zeroPoints.length]));
  let y = g.msOp('MatMulNBits', ins, { K: m.cols, N: m.rows, bits: m.bits, block_size: m.blockSize, accuracy_level: ACCURACY_LEVEL });
  if (m.mins) y = g.op('Sub', [y, nbitsMatMul(g, sum16(g, x, m.cols), [m.mins], `${name}.mins`)]);
  return y;
}

/**
 * Rows `ids` [1, n] of a quantized embedding [vocab, D], dequantized → { out [1, n, D], weights }.
 * Without zero points the data initializer is MatMulNBits' own 3D layout, so a tied head can share it.
 */
export function nbitsGather(g: OnnxGraph, m: NBitsMatrix, ids: string, name: string, D: number): { out: string; weights?: NBitsWeights } {
  const blocks = m.cols / m.blockSize;
  const attrs = { bits: m.bits, block_size: m.blockSize, gather_axis: 0 };
  let out: string;
  let weights: NBitsWeights | undefined;
  if (m.zeroPoints) {
    // zero points are packed along the quantized axis: 2D form, not shareable with MatMulNBits' 3D bytes
    const data = g.weightBytes(`${name}.rows`, 'uint8', m.data, [m.rows, (m.cols * m.bits) / 8]);
    const scales = g.weight(`${name}.row_scales`, m.scales, [m.rows, blocks]);
    const zp = g.weightBytes(`${name}.row_zp`, 'uint8', m.zeroPoints, [m.rows, m.zeroPoints.length / m.rows]);
    out = g.msOp('GatherBlockQuantized', [data, ids, scales, zp], { ...attrs, quantize_axis: 1 }); // [1, n, D]
  } else {
    weights = addWeights(g, m, name);
    const scales = g.weight(`${name}.row_scales`, m.scales, [m.rows, blocks, 1]);
    const gathered = g.msOp('GatherBlockQuantized', [weights.data, ids, scales], { ...attrs, quantize_axis: 2 }); // [1, n, blocks, blockSize]
    out = g.op('Reshape', [gathered, g.constInt64([0, 0, D])]);
  }
  if (m.mins) {
    const mins = nbitsGather(g, m.mins, ids, `${name}.mins`, D / 16).out; // [1, n, D/16]
    const wide = g.op('Expand', [g.op('Unsqueeze', [mins, g.constInt64([-1])]), g.constInt64([1, 1, D / 16, 16])]); // [1, n, D/16, 16]
    out = g.op('Sub', [out, g.op('Reshape', [wide, g.constInt64([0, 0, D])])]);
  }
  return { out, weights };
}
