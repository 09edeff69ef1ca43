// ggml block formats → float32, with ggml's formulas (ggml-quants.c dequantize_row_*), bit for bit:
// every product below is exact in float64 and rounds once to float32 on store, as ggml's float math does.
import { errors } from '../../common/errors.ts';
import type { GgmlType } from '../weights.ts';
import { bf16ToFloat, halfTable } from './half.ts';
import { typeInfo } from './ggml-types.ts';

/** Decodes `numel` values (a whole number of blocks) of `type` from `bytes`. [numel] */
export function dequantize(type: GgmlType, bytes: Uint8Array, numel: number): Float32Array {
  const { blockElems, blockBytes } = typeInfo(type);
  if (numel % blockElems !== 0) throw errors.internal(`dequantize ${type}: ${numel} values is not a whole number of ${blockElems}-value blocks`);
  const need = (numel / blockElems) * blockBytes;
  if (bytes.length < need) throw errors.internal(`dequantize ${type}: ${numel} values need ${need} bytes, got ${bytes.length}`);
  const out = new Float32Array(numel);
  const blocks = numel / blockElems;
  switch (type) {
    case 'F32':
      // Copied first when the bytes do not start on a 4-byte boundary (a Float32Array view needs one).
      out.set(bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, numel) : new Float32Array(new Uint8Array(bytes.subarray(0, need)).buffer));
      break;
    case 'F16': {
      const h = halfTable();
      for (let i = 0; i < numel; i++) out[i] = h[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
      break;
    }
    case 'BF16':
      for (let i = 0; i < numel; i++) out[i] = bf16ToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
      break;
    case 'Q8_0':
      for (let b = 0; b < blocks; b++) q8_0(bytes, b * 34, out, b * 32);
      break;
    case 'Q4_0':
      for (let b = 0; b < blocks; b++) q4_0(bytes, b * 18, out, b * 32);
      break;
    case 'Q4_K':
      for (let b = 0; b < blocks; b++) q4_K(bytes, b * 144, out, b * 256);
      break;
    case 'Q5_K':
      for (let b = 0; b < blocks; b++) q5_K(bytes, b * 176, out, b * 256);
      break;
    case 'Q6_K':
      for (let b = 0; b < blocks; b++) q6_K(bytes, b * 210, out, b * 256);
      break;
  }
  return out;
}

const half = (p: Uint8Array, o: number) => halfTable()[p[o] | (p[o + 1] << 8)];

// Q8_0, 34 bytes for 32 values: d (f16) | qs[32] (int8).  x[i] = d · qs[i]
function q8_0(p: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = half(p, o);
  for (let i = 0; i < 32; i++) y[yo + i] = d * ((p[o + 2 + i] << 24) >> 24);
}

// Q4_0, 18 bytes for 32 values: d (f16) | qs[16], byte j holds value j (low nibble) and value j+16 (high).
// x = d · (nibble − 8)
function q4_0(p: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = half(p, o);
  for (let j = 0; j < 16; j++) {
    const q = p[o + 2 + j];
    y[yo + j] = ((q & 0xf) - 8) * d;
    y[yo + j + 16] = ((q >> 4) - 8) * d;
  }
}

/**
 * The 6-bit scale and min of sub-block j (0..7) from a K-quant's 12 packed bytes at `s`:
 * bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3; bytes 8-11 hold the low 4 bits of
 * scales 4-7 (low nibble) and mins 4-7 (high nibble), whose top 2 bits sit in the spare top bits of bytes 0-7.
 */
export function scaleMinK4(p: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [p[s + j] & 63, p[s + j + 4] & 63];
  return [(p[s + j + 4] & 0xf) | ((p[s + j - 4] >> 6) << 4), (p[s + j + 4] >> 4) | ((p[s + j] >> 6) << 4)];
}

// Q4_K, 144 bytes for 256 values: d (f16) | dmin (f16) | scales[12] | qs[128].
// 8 sub-blocks of 32; qs byte l of chunk c (32 bytes) holds value l of sub-block 2c (low nibble)
// and value l of sub-block 2c+1 (high nibble).  x = d·sc_j · q − dmin·m_j
function q4_K(p: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = half(p, o);
  const dmin = half(p, o + 2);
  for (let c = 0; c < 4; c++) {
    const [sc1, m1] = scaleMinK4(p, o + 4, 2 * c);
    const [sc2, m2] = scaleMinK4(p, o + 4, 2 * c + 1);
    const d1 = Math.fround(d * sc1), min1 = Math.fround(dmin * m1);
    const d2 = Math.fround(d * sc2), min2 = Math.fround(dmin * m2);
    const q = o + 16 + 32 * c;
    for (let l = 0; l < 32; l++) {
      y[yo + 64 * c + l] = d1 * (p[q + l] & 0xf) - min1;
      y[yo + 64 * c + 32 + l] = d2 * (p[q + l] >> 4) - min2;
    }
  }
}

// Q5_K, 176 bytes for 256 values: d (f16) | dmin (f16) | scales[12] | qh[32] | qs[128].
// As Q4_K plus a fifth bit: bit j of qh[l] is the high bit of value l of sub-block j.
// x = d·sc_j · (q + 16·bit) − dmin·m_j
function q5_K(p: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = half(p, o);
  const dmin = half(p, o + 2);
  const qh = o + 16;
  for (let c = 0; c < 4; c++) {
    const [sc1, m1] = scaleMinK4(p, o + 4, 2 * c);
    const [sc2, m2] = scaleMinK4(p, o + 4, 2 * c + 1);
    const d1 = Math.fround(d * sc1), min1 = Math.fround(dmin * m1);
    const d2 = Math.fround(d * sc2), min2 = Math.fround(dmin * m2);
    const q = o + 48 + 32 * c;
    const u1 = 1 << (2 * c), u2 = 2 << (2 * c);
    for (let l = 0; l < 32; l++) {
      y[yo + 64 * c + l] = d1 * ((p[q + l] & 0xf) + (p[qh + l] & u1 ? 16 : 0)) - min1;
      y[yo + 64 * c + 32 + l] = d2 * ((p[q + l] >> 4) + (p[qh + l] & u2 ? 16 : 0)) - min2;
    }
  }
}

// Q6_K, 210 bytes for 256 values: ql[128] (low 4 bits) | qh[64] (high 2 bits) | scales[16] (int8) | d (f16).
// Two halves of 128 values; in half h, for l < 32, ql[64h+l] holds values l (low nibble) and l+64 (high),
// ql[64h+32+l] values l+32 and l+96, and qh[32h+l] their high bits in bit pairs 0-1, 2-3, 4-5, 6-7
// for values l, l+32, l+64, l+96. Value v of the block uses scale v/16.  x = d · scale · (q − 32)
function q6_K(p: Uint8Array, o: number, y: Float32Array, yo: number): void {
  const d = half(p, o + 208);
  const sc = (i: number) => (p[o + 192 + i] << 24) >> 24;
  for (let h = 0; h < 2; h++) {
    const ql = o + 64 * h, qh = o + 128 + 32 * h, s = 8 * h, v = yo + 128 * h;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const hi = p[qh + l];
      y[v + l] = d * sc(s + is) * (((p[ql + l] & 0xf) | ((hi & 3) << 4)) - 32);
      y[v + l + 32] = d * sc(s + is + 2) * (((p[ql + l + 32] & 0xf) | (((hi >> 2) & 3) << 4)) - 32);
      y[v + l + 64] = d * sc(s + is + 4) * (((p[ql + l] >> 4) | (((hi >> 4) & 3) << 4)) - 32);
      y[v + l + 96] = d * sc(s + is + 6) * (((p[ql + l + 32] >> 4) | (((hi >> 6) & 3) << 4)) - 32);
    }
  }
}
