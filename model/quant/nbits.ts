// ggml blocks → the form onnxruntime's MatMulNBits and GatherBlockQuantized read, without widening.
// Every mapping is exact: the dequantized value of each weight is the one ggml computes.
//
//   MatMulNBits value = (u - zp) · scale, u an unsigned `bits`-bit integer, one scale per `blockSize` columns,
//   zp = 2^(bits-1) unless zero points are given.
//
//   Q4_0 → 4-bit, block 32, default zp 8          (ggml: (q - 8)·d)
//   Q8_0 → 8-bit, block 32, u = q + 128            (ggml: q·d, q signed)
//   Q6_K → 8-bit, block 16, u = q + 96, s = d·sc   (ggml: d·sc·(q - 32))
//   Q4_K → 4-bit, block 32, zp 0, s = d·sc          minus the min term (below)
//   Q5_K → 8-bit, block 32, u = q + 128, s = d·sc   minus the min term
//
// The K-quants' min term, dmin·m per 32 weights, has no integer zero point. It is kept exactly as a second,
// small matrix over 16-column sums of the input: mins[r, c/16] = dmin·m for the sub-block holding c, stored
// 8-bit (u = m + 128) with one scale, dmin, per 16 entries (= one 256-weight super-block). Then
//   x · Wᵀ = MatMulNBits(x, main) − MatMulNBits(sum16(x), mins),   sum16(x)[j] = Σ x[16j .. 16j+15].
// This is how ggml computes K-quant dot products too (block sums of the activations times the mins).
import { errors } from '../../common/errors.ts';
import type { RawTensor } from '../weights.ts';
import { halfToFloat } from './half.ts';
import { scaleMinK4 } from './dequant.ts';

export interface NBitsMatrix {
  rows: number;
  cols: number;
  bits: 4 | 8;
  blockSize: 16 | 32;
  /** [rows, cols/blockSize, blockSize·bits/8]: 4-bit values two per byte, low nibble first. */
  data: Uint8Array;
  /** [rows, cols/blockSize] */
  scales: Float32Array;
  /** Packed like data, [rows, ceil(cols/blockSize · bits/8)]; null = the default 2^(bits-1). */
  zeroPoints: Uint8Array | null;
  /** K-quants' exact min term over 16-column input sums, itself 8-bit block 16; null for the others. */
  mins: NBitsMatrix | null;
}

export const NBITS_TYPES = ['Q4_0', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K'] as const;

export function isNBitsType(type: string): boolean {
  return (NBITS_TYPES as readonly string[]).includes(type);
}

/** Converts a quantized matrix [rows, cols] (HF order, blocks along cols) to MatMulNBits form. */
export function toNBits(t: RawTensor, name: string): NBitsMatrix {
  if (t.shape.length !== 2) throw errors.unsupportedModel(`tensor ${name}: ${t.type} with shape [${t.shape}] is not a matrix`);
  const [rows, cols] = t.shape;
  switch (t.type) {
    case 'Q4_0': return q4_0(t.data, rows, cols);
    case 'Q8_0': return q8_0(t.data, rows, cols);
    case 'Q6_K': return q6_k(t.data, rows, cols);
    case 'Q4_K': return kQuant(t.data, rows, cols, 4);
    case 'Q5_K': return kQuant(t.data, rows, cols, 5);
    default: throw errors.unsupportedModel(`tensor ${name}: type ${t.type} has no MatMulNBits form (supported: ${NBITS_TYPES.join(', ')})`);
  }
}

/** Rows [r0, r0 + count) stacked from several matrices of one format (fused q/k/v, gate/up). */
export function stackRows(parts: NBitsMatrix[]): NBitsMatrix {
  const first = parts[0];
  const concat = <T extends Uint8Array | Float32Array>(arrays: T[], make: (n: number) => T): T => {
    const out = make(arrays.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const a of arrays) {
      out.set(a, o);
      o += a.length;
    }
    return out;
  };
  return {
    rows: parts.reduce((a, p) => a + p.rows, 0),
    cols: first.cols,
    bits: first.bits,
    blockSize: first.blockSize,
    data: concat(parts.map((p) => p.data), (n) => new Uint8Array(n)),
    scales: concat(parts.map((p) => p.scales), (n) => new Float32Array(n)),
    zeroPoints: first.zeroPoints ? concat(parts.map((p) => p.zeroPoints as Uint8Array), (n) => new Uint8Array(n)) : null,
    mins: first.mins ? stackRows(parts.map((p) => p.mins as NBitsMatrix)) : null,
  };
}

/** Whether two matrices can be stacked into one MatMulNBits (same cols and the same format). */
export function sameFormat(a: NBitsMatrix, b: NBitsMatrix): boolean {
  return a.cols === b.cols && a.bits === b.bits && a.blockSize === b.blockSize && (a.zeroPoints === null) === (b.zeroPoints === null) && (a.mins === null) === (b.mins === null);
}

function checkCols(cols: number, block: number, type: string): void {
  if (cols % block !== 0) throw errors.badCheckpoint(`${type} matrix with ${cols} columns: not a multiple of the block size ${block}`);
}

function alloc(rows: number, cols: number, bits: 4 | 8, blockSize: 16 | 32): NBitsMatrix {
  return { rows, cols, bits, blockSize, data: new Uint8Array((rows * cols * bits) / 8), scales: new Float32Array((rows * cols) / blockSize), zeroPoints: null, mins: null };
}

// Q4_0 block (18 bytes): f16 d, 16 bytes qs; element j in qs[j] & 15, element j + 16 in qs[j] >> 4.
function q4_0(src: Uint8Array, rows: number, cols: number): NBitsMatrix {
  checkCols(cols, 32, 'Q4_0');
  const m = alloc(rows, cols, 4, 32);
  const nb = (rows * cols) / 32;
  for (let b = 0; b < nb; b++) {
    const s = b * 18;
    const o = b * 16;
    m.scales[b] = halfToFloat(src[s] | (src[s + 1] << 8));
    for (let i = 0; i < 16; i++) {
      // nbits byte i holds elements 2i (low) and 2i + 1 (high)
      const e0 = 2 * i;
      const e1 = e0 + 1;
      const v0 = e0 < 16 ? src[s + 2 + e0] & 15 : src[s + 2 + e0 - 16] >> 4;
      const v1 = e1 < 16 ? src[s + 2 + e1] & 15 : src[s + 2 + e1 - 16] >> 4;
      m.data[o + i] = v0 | (v1 << 4);
    }
  }
  return m;
}

// Q8_0 block (34 bytes): f16 d, 32 int8 q.
function q8_0(src: Uint8Array, rows: number, cols: number): NBitsMatrix {
  checkCols(cols, 32, 'Q8_0');
  const m = alloc(rows, cols, 8, 32);
  const nb = (rows * cols) / 32;
  for (let b = 0; b < nb; b++) {
    const s = b * 34;
    m.scales[b] = halfToFloat(src[s] | (src[s + 1] << 8));
    for (let i = 0; i < 32; i++) m.data[b * 32 + i] = (src[s + 2 + i] + 128) & 255; // int8 byte + 128 → q + 128
  }
  return m;
}

// Q6_K super-block (210 bytes, 256 weights): ql[128] low 4 bits, qh[64] high 2 bits, int8 scales[16] (one per 16),
// f16 d. Per 128-weight half: element l (0..31) of the four 32-runs takes ql[l] & 15, ql[l + 32] & 15, ql[l] >> 4,
// ql[l + 32] >> 4 with qh[l] bits 0-1, 2-3, 4-5, 6-7.
function q6_k(src: Uint8Array, rows: number, cols: number): NBitsMatrix {
  checkCols(cols, 256, 'Q6_K');
  const m = alloc(rows, cols, 8, 16);
  const nsb = (rows * cols) / 256;
  for (let b = 0; b < nsb; b++) {
    const s = b * 210;
    const d = halfToFloat(src[s + 208] | (src[s + 209] << 8));
    for (let i = 0; i < 16; i++) {
      const sc = (src[s + 192 + i] << 24) >> 24; // int8
      m.scales[b * 16 + i] = d * sc;
    }
    const out = b * 256;
    for (let half = 0; half < 2; half++) {
      const ql = s + half * 64;
      const qh = s + 128 + half * 32;
      const y = out + half * 128;
      for (let l = 0; l < 32; l++) {
        const h = src[qh + l];
        m.data[y + l] = ((src[ql + l] & 15) | ((h & 3) << 4)) + 96;
        m.data[y + l + 32] = ((src[ql + l + 32] & 15) | (((h >> 2) & 3) << 4)) + 96;
        m.data[y + l + 64] = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) + 96;
        m.data[y + l + 96] = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) + 96;
      }
    }
  }
  return m;
}

// Q4_K super-block (144 bytes): f16 d, f16 dmin, scales[12] (8 × 6-bit scale and min), qs[128]: per 64-run,
// sub-block 2k in the low nibbles of 32 bytes and sub-block 2k + 1 in their high nibbles.
// Q5_K super-block (176 bytes): the same plus qh[32] before qs: bit (2k) / (2k + 1) of qh[l] is the fifth bit.
// value = d·sc·q − dmin·m.
function kQuant(src: Uint8Array, rows: number, cols: number, qbits: 4 | 5): NBitsMatrix {
  checkCols(cols, 256, qbits === 4 ? 'Q4_K' : 'Q5_K');
  const blockBytes = qbits === 4 ? 144 : 176;
  const m = alloc(rows, cols, qbits === 4 ? 4 : 8, 32);
  if (qbits === 4) m.zeroPoints = new Uint8Array(rows * Math.ceil(cols / 32 / 2)); // zero points 0
  const mins = alloc(rows, cols / 16, 8, 16);
  const nsb = (rows * cols) / 256;
  const q = new Uint8Array(256);
  for (let b = 0; b < nsb; b++) {
    const s = b * blockBytes;
    const d = halfToFloat(src[s] | (src[s + 1] << 8));
    const dmin = halfToFloat(src[s + 2] | (src[s + 3] << 8));
    const qs = s + (qbits === 4 ? 16 : 48);
    const qh = s + 16;
    for (let k = 0; k < 4; k++) {
      for (let l = 0; l < 32; l++) {
        const byte = src[qs + k * 32 + l];
        let lo = byte & 15;
        let hi = byte >> 4;
        if (qbits === 5) {
          const h = src[qh + l];
          lo |= ((h >> (2 * k)) & 1) << 4;
          hi |= ((h >> (2 * k + 1)) & 1) << 4;
        }
        q[k * 64 + l] = lo;
        q[k * 64 + 32 + l] = hi;
      }
    }
    mins.scales[b] = dmin;
    for (let j = 0; j < 8; j++) {
      const [sc, mn] = scaleMinK4(src, s + 4, j);
      m.scales[b * 8 + j] = d * sc;
      mins.data[b * 16 + 2 * j] = mn + 128;
      mins.data[b * 16 + 2 * j + 1] = mn + 128;
    }
    const out = b * 256;
    if (qbits === 4) {
      for (let i = 0; i < 128; i++) m.data[out / 2 + i] = q[2 * i] | (q[2 * i + 1] << 4);
    } else {
      for (let i = 0; i < 256; i++) m.data[out + i] = q[i] + 128;
    }
  }
  m.mins = mins;
  return m;
}

/** Dequantizes an NBitsMatrix (for tests and the reference forward). [rows, cols] */
export function nbitsToFloat(m: NBitsMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  const blocksPerRow = m.cols / m.blockSize;
  const zpBytesPerRow = Math.ceil((blocksPerRow * m.bits) / 8);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const i = r * m.cols + c;
      const u = m.bits === 8 ? m.data[i] : (m.data[i >> 1] >> ((i & 1) * 4)) & 15;
      const blk = Math.floor(c / m.blockSize);
      let zp = 1 << (m.bits - 1);
      if (m.zeroPoints) {
        zp = m.bits === 8 ? m.zeroPoints[r * zpBytesPerRow + blk] : (m.zeroPoints[r * zpBytesPerRow + (blk >> 1)] >> ((blk & 1) * 4)) & 15;
      }
      out[i] = (u - zp) * m.scales[r * blocksPerRow + blk];
    }
  }
  if (m.mins) {
    const mins = nbitsToFloat(m.mins); // [rows, cols/16]
    for (let i = 0; i < out.length; i++) out[i] -= mins[Math.floor(i / 16)];
  }
  return out;
}
