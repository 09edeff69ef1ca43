// Quantizers: Q8_0/Q4_0 follow ggml's reference rounding on hand-worked blocks; every type round-trips
// through dequantize within its stated bound. (Byte equality with llama-quantize's own output is checked on
// the shared GGUF files in test/model/gguf/shared-files.test.ts.)
import t from 'tap';
import { dequantize } from '../../../model/quant/dequant.ts';
import { quantize } from '../../../model/quant/quantize.ts';
import { Rng } from '../../../common/rng.ts';
import type { GgmlType } from '../../../model/weights.ts';

function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = scale * Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
  return x;
}

t.test('Q8_0: d = amax/127 as f16, q = roundf(x/d), halves away from zero', async (t) => {
  const x = new Float32Array(32);
  x.set([127, -2.5, 2.5, 0.5, -0.5, 1.49, -126.6]);
  const b = quantize('Q8_0', x);
  t.same(Array.from(b.subarray(0, 2)), [0x00, 0x3c]); // d = 1
  t.same(Array.from(new Int8Array(b.buffer, 2, 7)), [127, -3, 3, 1, -1, 1, -127]);
  t.same(Array.from(quantize('Q8_0', new Float32Array(32))), new Array(34).fill(0), 'an all-zero block has d = 0');
});

t.test('Q4_0: the signed value of largest magnitude maps to −8, q = min(15, trunc(x/d + 8.5))', async (t) => {
  const x = new Float32Array(32);
  // max = -4 → d = 0.5, 1/d = 2: -4 → 0, 1 → 10, 3.9 → 16 clamped to 15, 0.25 → 9, -0.25 → 8, 0 → 8
  x.set([-4, 1, 3.9, 0.25, -0.25]);
  x[16] = 2; // → 12 in the high nibble of byte 0
  const b = quantize('Q4_0', x);
  t.same(Array.from(b.subarray(0, 2)), [0x00, 0x38]); // d = 0.5
  t.same(Array.from(b.subarray(2, 7)), [0x00 | (12 << 4), 10 | (8 << 4), 15 | (8 << 4), 9 | (8 << 4), 8 | (8 << 4)]);
  const pos = new Float32Array(32);
  pos.set([8, -8]); // ties in magnitude: the first wins, so max = 8, d = -1
  const p = quantize('Q4_0', pos);
  t.same(Array.from(p.subarray(0, 2)), [0x00, 0xbc]);
  t.equal(p[2], 0 | (8 << 4));
  t.equal(p[3], 15 | (8 << 4), '-8 · (1/-1) + 8.5 = 16.5 clamps to 15');
});

// Largest |x − dequantize(quantize(x))| allowed, as a fraction of the largest |x| in the tensor.
// Q8_0: d/2 = amax/254 (+ f16 rounding of d). Q4_0: amax/8, since the value opposite the largest-magnitude one
// can be clipped at level 15 (7/8 of it). K-quants: half a step of (range/levels) with scales rounded up.
// F16/BF16: relative rounding 2^-11 / 2^-8 of each value (F16: plus 2^-25 absolute, half a subnormal unit).
const BOUND: Record<GgmlType, number> = { F32: 0, F16: 2 ** -11, BF16: 2 ** -8, Q8_0: 0.0045, Q4_0: 0.126, Q4_K: 0.075, Q5_K: 0.037, Q6_K: 0.018 };
// Root-mean-square error as a fraction of the data's standard deviation (unit Gaussians, 4096 values).
const RMS: Record<GgmlType, number> = { F32: 0, F16: 1e-3, BF16: 4e-3, Q8_0: 0.006, Q4_0: 0.12, Q4_K: 0.1, Q5_K: 0.05, Q6_K: 0.025 };

t.test('dequantize(quantize(x)) is close for every type', async (t) => {
  for (const type of Object.keys(BOUND) as GgmlType[]) {
    for (const [seed, scale] of [[1, 1], [2, 0.02], [3, 300]] as const) {
      const x = gaussian(4096, seed, scale);
      x[5] = 0; // a zero and an outlier in the mix
      x[700] = 6 * scale;
      const y = dequantize(type, quantize(type, x), x.length);
      let amax = 0, worst = 0, sq = 0;
      for (let i = 0; i < x.length; i++) {
        amax = Math.max(amax, Math.abs(x[i]));
        const err = Math.abs(y[i] - x[i]);
        // F16/BF16: relative to the value, plus half a subnormal unit for F16 (values below 2^-14)
        if (type === 'F16' || type === 'BF16') worst = Math.max(worst, Math.max(0, err - (type === 'F16' ? 2 ** -25 : 0)) / Math.abs(x[i] || 1));
        else worst = Math.max(worst, err);
        sq += err * err;
      }
      const rel = type === 'F16' || type === 'BF16' ? worst : worst / amax;
      t.ok(rel <= BOUND[type], `${type} scale ${scale}: max error ${rel.toExponential(3)} ≤ ${BOUND[type]}`);
      t.ok(Math.sqrt(sq / x.length) / scale <= RMS[type], `${type} scale ${scale}: rms error ${(Math.sqrt(sq / x.length) / scale).toExponential(3)} ≤ ${RMS[type]}`);
      if (type === 'F32') t.same(y, x);
    }
  }
});

t.test('K-quants: constant, all-negative, all-zero and sparse blocks decode sensibly', async (t) => {
  const cases: [string, (i: number) => number][] = [
    ['constant', () => 0.75],
    ['all negative', (i) => -1 - (i % 7) / 3],
    ['all zero', () => 0],
    ['one spike', (i) => (i === 77 ? 5 : 0)],
  ];
  for (const type of ['Q4_K', 'Q5_K', 'Q6_K'] as const) {
    for (const [name, f] of cases) {
      const x = Float32Array.from({ length: 512 }, (_, i) => f(i));
      const y = dequantize(type, quantize(type, x), 512);
      const amax = Math.max(1e-30, ...x.map(Math.abs));
      const worst = Math.max(...y.map((v, i) => Math.abs(v - x[i])));
      t.ok(worst / amax <= BOUND[type], `${type} ${name}: max error ${worst} (amax ${amax})`);
      if (name === 'all zero') t.ok(y.every((v) => v === 0), `${type} zeros stay zero`);
    }
  }
});

t.test('quantizing a 4M-value matrix to Q8_0 and Q4_0 is fast', async (t) => {
  const x = gaussian(1 << 22, 9);
  for (const type of ['Q8_0', 'Q4_0'] as const) {
    const t0 = performance.now();
    quantize(type, x);
    const ms = performance.now() - t0;
    // 100M parameters should take a few seconds: allow 400 ms per 4M values (10 s per 100M) on a shared machine.
    t.ok(ms < 400, `${type}: ${ms.toFixed(0)} ms for 4M values`);
  }
});
