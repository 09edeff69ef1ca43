// Dequantizers against blocks written byte by byte here, with the floats ggml's formulas give worked out by hand.
import t from 'tap';
import { dequantize } from '../../../model/quant/dequant.ts';

const bytes = (n: number, set: Record<number, number>) => {
  const b = new Uint8Array(n);
  for (const [i, v] of Object.entries(set)) b[Number(i)] = v;
  return b;
};

t.test('F32, F16 (normal, subnormal, extremes) and BF16', async (t) => {
  const f = new Uint8Array(new Float32Array([1.5, -2.25]).buffer);
  const unaligned = new Uint8Array(9);
  unaligned.set(f, 1);
  t.same(Array.from(dequantize('F32', unaligned.subarray(1), 2)), [1.5, -2.25]);
  const pooled = Buffer.concat([Buffer.from([9]), Buffer.from(f)]); // a view into Node's shared pool, odd offset
  t.same(Array.from(dequantize('F32', pooled.subarray(1), 2)), [1.5, -2.25]);
  const aligned = Buffer.from(f); // pooled too, at some multiple-of-8 offset
  t.same(Array.from(dequantize('F32', aligned, 2)), [1.5, -2.25]);
  // 0x3c00 = 1, 0x3555 ≈ 1/3, 0x0001 = 2^-24 (smallest subnormal), 0x83ff = -(1023 · 2^-24), 0x7bff = 65504, 0xfc00 = -Inf
  const h = new Uint8Array(new Uint16Array([0x3c00, 0x3555, 0x0001, 0x83ff, 0x7bff, 0xfc00]).buffer);
  t.same(Array.from(dequantize('F16', h, 6)), [1, 0.333251953125, 2 ** -24, -1023 * 2 ** -24, 65504, -Infinity]);
  const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc040, 0x0001]).buffer);
  t.same(Array.from(dequantize('BF16', bf, 3)), [1, -3, Math.fround(2 ** -133)]);
});

t.test('Q8_0: x = d · q', async (t) => {
  // block 0: d = 0.5 (0x3800), q = -128, -1, 0, 1, 127; block 1: d = 2^-24 (subnormal 0x0001), q[0] = 3
  const b = bytes(68, { 0: 0x00, 1: 0x38, 2: 0x80, 3: 0xff, 4: 0, 5: 1, 6: 127, 34: 0x01, 35: 0x00, 36: 3 });
  const y = dequantize('Q8_0', b, 64);
  t.same(Array.from(y.subarray(0, 6)), [-64, -0.5, 0, 0.5, 63.5, 0]);
  t.equal(y[32], 3 * 2 ** -24);
});

t.test('Q4_0: byte j holds value j (low nibble) and j+16 (high), x = d · (q − 8)', async (t) => {
  // d = 2 (0x4000); byte 0 = 0x0f: value 0 → (15-8)·2 = 14, value 16 → (0-8)·2 = -16; byte 3 = 0x98: value 3 → 0, value 19 → 2
  const y = dequantize('Q4_0', bytes(18, { 1: 0x40, 2: 0x0f, 5: 0x98 }), 32);
  t.equal(y[0], 14);
  t.equal(y[16], -16);
  t.equal(y[3], 0);
  t.equal(y[19], 2);
  t.equal(y[1], -16); // nibble 0 → -8 · 2
});

// K-quant scales for sub-block 0: sc 3, m 2; sub-block 5: sc 33 (0b10_0001), m 17 (0b01_0001), split as
// low 4 bits in byte 9 (0x11) and high 2 bits in the top of byte 1 (sc: 0x80) and byte 5 (m: 0x40).
const K_SCALES = [3, 0x80, 0, 0, 2, 0x40, 0, 0, 0, 0x11, 0, 0];

t.test('Q4_K: x = d·sc·q − dmin·m per 32-value sub-block, 6-bit packed scales', async (t) => {
  const b = new Uint8Array(144);
  b.set([0x00, 0x3c, 0x00, 0x38], 0); // d = 1, dmin = 0.5
  b.set(K_SCALES, 4);
  b[16 + 0] = 0xa5; // value 0 (sub-block 0): q 5 → 3·5 − 0.5·2 = 14; value 32 (sub-block 1, sc 0 m 0): 0
  b[16 + 64] = 0x70; // chunk 2, high nibble → value 160 (sub-block 5): q 7 → 33·7 − 0.5·17 = 222.5
  b[16 + 64 + 1] = 0x0c; // value 129 (sub-block 4, sc 0 m 0): 0
  const y = dequantize('Q4_K', b, 256);
  t.equal(y[0], 14);
  t.equal(y[1], -1); // q 0 → −dmin·m = −1
  t.equal(y[32], 0);
  t.equal(y[160], 222.5);
  t.equal(y[161], -8.5);
  t.equal(y[129], 0);
});

t.test('Q5_K: as Q4_K with a fifth bit from qh (bit j of qh[l] for sub-block j)', async (t) => {
  const b = new Uint8Array(176);
  b.set([0x00, 0x3c, 0x00, 0x38], 0);
  b.set(K_SCALES, 4);
  b[16 + 0] = 0b0010_0001; // qh[0]: bit 0 → value 0 gets +16, bit 5 → value 160 gets +16
  b[48 + 0] = 0x05; // value 0: q 5 + 16 = 21 → 3·21 − 1 = 62
  b[48 + 64] = 0x70; // value 160: q 7 + 16 = 23 → 33·23 − 8.5 = 750.5
  b[48 + 1] = 0x05; // value 1: no high bit → 3·5 − 1 = 14
  const y = dequantize('Q5_K', b, 256);
  t.equal(y[0], 62);
  t.equal(y[1], 14);
  t.equal(y[160], 750.5);
  t.equal(y[161], -8.5);
});

t.test('Q6_K: ql/qh interleave, int8 scales per 16 values, x = d · sc · (q − 32)', async (t) => {
  const b = new Uint8Array(210);
  b.set([0x00, 0x34], 208); // d = 0.25
  b.set([0xfd, 0, 5, 0, 1, 0, 2], 192); // scales 0 = -3, 2 = 5, 4 = 1, 6 = 2
  b[192 + 13] = 100;
  b[0] = 0x21; // value 0 low nibble 1, value 64 high nibble 2
  b[32] = 0x0f; // value 32 low nibble 15, value 96 high nibble 0
  b[128] = 0b11_00_10_01; // high bits: value 0 → 1, value 32 → 2, value 64 → 0, value 96 → 3
  b[64 + 16] = 0xf0; // half 1, l = 16: value 128+16+64 = 208 high nibble 15
  b[128 + 32 + 16] = 0b00_11_00_00; // its high bits 3 → q = 63
  const y = dequantize('Q6_K', b, 256);
  t.equal(y[0], 0.25 * -3 * (17 - 32)); // 11.25
  t.equal(y[32], 0.25 * 5 * (47 - 32)); // 18.75
  t.equal(y[64], 0.25 * 1 * (2 - 32)); // -7.5
  t.equal(y[96], 0.25 * 2 * (48 - 32)); // 8
  t.equal(y[208], 0.25 * 100 * (63 - 32)); // 775
  t.equal(y[1], 0.25 * -3 * -32); // q 0 → 24
});

t.test('wrong sizes are internal errors', async (t) => {
  t.throws(() => dequantize('Q8_0', new Uint8Array(34), 31), { code: 'SPRIG_ERR_INTERNAL', message: /whole number/ });
  t.throws(() => dequantize('Q4_K', new Uint8Array(143), 256), { code: 'SPRIG_ERR_INTERNAL', message: /144 bytes/ });
});
