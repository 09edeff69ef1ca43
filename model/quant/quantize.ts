// float32 → ggml blocks. Q8_0 and Q4_0 are bit-exact with ggml's reference round-to-nearest
// (quantize_row_q8_0_ref, quantize_row_q4_0_ref, float32 arithmetic included). Q4_K, Q5_K and Q6_K use a
// plain per-sub-block min/max (absmax for Q6_K) choice, not llama.cpp's search: valid blocks, a little less
// accurate. Blocks run along the contiguous dimension, so a [rows, cols] matrix quantizes as one flat array
// when cols is a whole number of blocks.
import { errors } from '../../common/errors.ts';
import type { GgmlType } from '../weights.ts';
import { halfToFloat } from './half.ts';
import { floatToBf16, floatToHalf } from './half-encode.ts';
import { typeInfo } from './ggml-types.ts';

const fr = Math.fround;

/** C's roundf: halves go away from zero. */
const roundf = (v: number) => (v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5));

/** Encodes x (a whole number of blocks) as `type`. [x.length / blockElems × blockBytes] */
export function quantize(type: GgmlType, x: Float32Array): Uint8Array {
  const { blockElems, blockBytes } = typeInfo(type);
  if (x.length % blockElems !== 0) throw errors.internal(`quantize ${type}: ${x.length} values is not a whole number of ${blockElems}-value blocks`);
  const blocks = x.length / blockElems;
  const out = new Uint8Array(blocks * blockBytes);
  switch (type) {
    case 'F32':
      out.set(new Uint8Array(Float32Array.from(x).buffer));
      break;
    case 'F16':
      for (let i = 0; i < x.length; i++) putU16(out, 2 * i, floatToHalf(x[i]));
      break;
    case 'BF16':
      for (let i = 0; i < x.length; i++) putU16(out, 2 * i, floatToBf16(x[i]));
      break;
    case 'Q8_0':
      for (let b = 0; b < blocks; b++) q8_0(x, b * 32, out, b * 34);
      break;
    case 'Q4_0':
      for (let b = 0; b < blocks; b++) q4_0(x, b * 32, out, b * 18);
      break;
    case 'Q4_K':
      for (let b = 0; b < blocks; b++) kQuantMinMax(x, b * 256, out, b * 144, 15);
      break;
    case 'Q5_K':
      for (let b = 0; b < blocks; b++) kQuantMinMax(x, b * 256, out, b * 176, 31);
      break;
    case 'Q6_K':
      for (let b = 0; b < blocks; b++) q6_K(x, b * 256, out, b * 210);
      break;
  }
  return out;
}

function putU16(p: Uint8Array, o: number, v: number): void {
  p[o] = v & 0xff;
  p[o + 1] = v >> 8;
}

// d = amax / 127, q = round(x / d) (as x · (1/d), in float32). Layout in model/quant/dequant.ts.
function q8_0(x: Float32Array, xo: number, p: Uint8Array, o: number): void {
  let amax = 0;
  for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[xo + i]));
  const d = fr(amax / 127);
  const id = d ? fr(1 / d) : 0;
  putU16(p, o, floatToHalf(d));
  for (let i = 0; i < 32; i++) p[o + 2 + i] = roundf(fr(x[xo + i] * id)) & 0xff;
}

// The value of largest magnitude, with its sign, maps to −8: d = max / −8, q = min(15, trunc(x/d + 8.5)).
function q4_0(x: Float32Array, xo: number, p: Uint8Array, o: number): void {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < 32; i++) {
    const v = x[xo + i];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = fr(max / -8);
  const id = d ? fr(1 / d) : 0;
  putU16(p, o, floatToHalf(d));
  const level = (v: number) => Math.min(15, Math.trunc(fr(fr(v * id) + 8.5)));
  for (let j = 0; j < 16; j++) p[o + 2 + j] = level(x[xo + j]) | (level(x[xo + 16 + j]) << 4);
}

/** The smallest half ≥ v (v ≥ 0 and finite), so scales rounded up never clip. */
function halfAtLeast(v: number): number {
  let h = floatToHalf(v);
  if (halfToFloat(h) < v) h++;
  return h;
}

/**
 * Q4_K (levels 15) and Q5_K (levels 31): for each 32-value sub-block, min m_j = −min(0, lowest value) and
 * step = (highest + m_j) / levels, both stored as 6-bit multiples (rounded up) of the block's f16 dmin and d.
 */
function kQuantMinMax(x: Float32Array, xo: number, p: Uint8Array, o: number, levels: 15 | 31): void {
  const lo = new Float64Array(8);
  const hi = new Float64Array(8);
  for (let j = 0; j < 8; j++) {
    let a = 0, b = -Infinity;
    for (let l = 0; l < 32; l++) {
      const v = x[xo + 32 * j + l];
      if (v < a) a = v;
      if (v > b) b = v;
    }
    lo[j] = a;
    hi[j] = b;
  }
  const dminH = halfAtLeast(Math.max(...lo.map((v) => -v)) / 63);
  const dmin = halfToFloat(dminH);
  const m = lo.map((v) => (dmin > 0 ? Math.min(63, Math.ceil(-v / dmin)) : 0));
  const need = hi.map((v, j) => Math.max(0, v + fr(dmin * m[j])) / levels);
  const dH = halfAtLeast(Math.max(...need) / 63);
  const d = halfToFloat(dH);
  const sc = need.map((v) => (d > 0 ? Math.min(63, Math.ceil(v / d)) : 0));
  putU16(p, o, dH);
  putU16(p, o + 2, dminH);
  packScaleMinK4(p, o + 4, sc, m);
  const qs = o + (levels === 15 ? 16 : 48);
  const qh = o + 16;
  if (levels === 31) p.fill(0, qh, qh + 32);
  for (let j = 0; j < 8; j++) {
    const step = fr(d * sc[j]);
    const min = fr(dmin * m[j]);
    const c = j >> 1;
    for (let l = 0; l < 32; l++) {
      const q = step > 0 ? Math.max(0, Math.min(levels, Math.round((x[xo + 32 * j + l] + min) / step))) : 0;
      p[qs + 32 * c + l] |= (q & 0xf) << (j & 1 ? 4 : 0);
      if (q > 15) p[qh + l] |= 1 << j;
    }
  }
}

/** Inverse of dequant.ts's scaleMinK4: packs eight 6-bit scales and mins into 12 bytes. */
function packScaleMinK4(p: Uint8Array, s: number, sc: ArrayLike<number>, m: ArrayLike<number>): void {
  p.fill(0, s, s + 12);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      p[s + j] |= sc[j];
      p[s + j + 4] |= m[j];
    } else {
      p[s + j + 4] = (sc[j] & 0xf) | ((m[j] & 0xf) << 4);
      p[s + j - 4] |= (sc[j] >> 4) << 6;
      p[s + j] |= (m[j] >> 4) << 6;
    }
  }
}

// Q6_K: each 16-value sub-block gets step = absmax / 31 (levels −31..31 of the 6-bit −32..31), stored as an
// int8 multiple (rounded up) of the block's f16 d.
function q6_K(x: Float32Array, xo: number, p: Uint8Array, o: number): void {
  const step = new Float64Array(16);
  for (let j = 0; j < 16; j++) {
    let a = 0;
    for (let l = 0; l < 16; l++) a = Math.max(a, Math.abs(x[xo + 16 * j + l]));
    step[j] = a / 31;
  }
  const dH = halfAtLeast(Math.max(...step) / 127);
  const d = halfToFloat(dH);
  putU16(p, o + 208, dH);
  const q = new Uint8Array(256);
  for (let j = 0; j < 16; j++) {
    const sc = d > 0 ? Math.min(127, Math.ceil(step[j] / d)) : 0;
    p[o + 192 + j] = sc;
    const s = fr(d * sc);
    for (let l = 0; l < 16; l++) q[16 * j + l] = (s > 0 ? Math.max(-32, Math.min(31, Math.round(x[xo + 16 * j + l] / s))) : 0) + 32;
  }
  for (let h = 0; h < 2; h++) {
    const ql = o + 64 * h, qh = o + 128 + 32 * h, v = 128 * h;
    for (let l = 0; l < 32; l++) {
      p[ql + l] = (q[v + l] & 0xf) | ((q[v + l + 64] & 0xf) << 4);
      p[ql + l + 32] = (q[v + l + 32] & 0xf) | ((q[v + l + 96] & 0xf) << 4);
      p[qh + l] = (q[v + l] >> 4) | ((q[v + l + 32] >> 4) << 2) | ((q[v + l + 64] >> 4) << 4) | ((q[v + l + 96] >> 4) << 6);
    }
  }
}
