// ggml blocks → MatMulNBits form: the dequantized values equal ggml's dequantization exactly, for every type.
import t from 'tap';
import { dequantize } from '../../../model/quant/dequant.ts';
import { nbitsToFloat, sameFormat, stackRows, toNBits } from '../../../model/quant/nbits.ts';
import { quantize } from '../../../model/quant/quantize.ts';
import type { GgmlType } from '../../../model/weights.ts';
import { Rng } from '../../../common/rng.ts';

function randomRows(rows: number, cols: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * cols);
  // Mixed magnitudes and signs, an all-zero row and a one-spike row, so scales and mins vary widely.
  for (let i = 0; i < x.length; i++) x[i] = (rng.next() * 2 - 1) * (1 + 10 * (Math.floor(i / 37) % 3));
  x.fill(0, 0, cols);
  x.fill(0, cols, 2 * cols);
  x[cols + 5] = 3.5;
  return x;
}

const TYPES: GgmlType[] = ['Q4_0', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K'];

for (const type of TYPES) {
  t.test(`${type}: MatMulNBits form dequantizes to ggml's values exactly`, async (t) => {
    const rows = 6;
    const cols = 512;
    const bytes = quantize(type, randomRows(rows, cols, 3));
    const m = toNBits({ type, shape: [rows, cols], data: bytes }, 'w');
    const ours = nbitsToFloat(m);
    const ggml = dequantize(type, bytes, rows * cols);
    let mismatches = 0;
    for (let i = 0; i < ours.length; i++) if (ours[i] !== ggml[i]) mismatches++;
    t.equal(mismatches, 0, `${rows * cols} values equal`);
    t.ok(ggml.some((v) => v !== 0), 'not trivially zero');
    t.equal(m.bits, type === 'Q4_0' || type === 'Q4_K' ? 4 : 8);
    t.equal(m.mins !== null, type === 'Q4_K' || type === 'Q5_K', 'K-quants carry the min term');
  });
}

t.test('stackRows keeps each part\'s rows', async (t) => {
  const a = toNBits({ type: 'Q4_K', shape: [2, 256], data: quantize('Q4_K', randomRows(2, 256, 5)) }, 'a');
  const b = toNBits({ type: 'Q4_K', shape: [3, 256], data: quantize('Q4_K', randomRows(3, 256, 6)) }, 'b');
  t.ok(sameFormat(a, b));
  const s = nbitsToFloat(stackRows([a, b]));
  t.same(Array.from(s), [...nbitsToFloat(a), ...nbitsToFloat(b)]);
  const c = toNBits({ type: 'Q8_0', shape: [1, 256], data: quantize('Q8_0', randomRows(1, 256, 7)) }, 'c');
  t.notOk(sameFormat(a, c), 'different types do not stack');
});

t.test('unsupported types and bad shapes fail naming the tensor', async (t) => {
  t.throws(() => toNBits({ type: 'F16', shape: [2, 32], data: new Uint8Array(128) }, 'model.norm.weight'), { message: /model\.norm\.weight.*F16/ });
  t.throws(() => toNBits({ type: 'Q4_0', shape: [64], data: new Uint8Array(36) }, 'v'), { message: /not a matrix/ });
});
