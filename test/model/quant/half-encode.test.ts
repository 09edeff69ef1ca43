// float → half/bfloat16 encoding: round to nearest even, subnormals, overflow; every half survives a round trip.
import t from 'tap';
import { floatToBf16, floatToHalf } from '../../../model/quant/half-encode.ts';
import { bf16ToFloat, halfToFloat } from '../../../model/quant/half.ts';
import { Rng } from '../../../common/rng.ts';

t.test('every finite half encodes back to its own bits', async (t) => {
  let bad = 0;
  for (let h = 0; h < 65536; h++) {
    const v = halfToFloat(h);
    if (Number.isNaN(v)) continue;
    if (floatToHalf(v) !== h) bad++;
  }
  t.equal(bad, 0);
});

t.test('ties go to even, in the normal and subnormal ranges, and overflow gives infinity', async (t) => {
  t.equal(floatToHalf(1 + 2 ** -11), 0x3c00, '1 + half an ulp → 1 (even)');
  t.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02, '1 + 1.5 ulp → 1 + 2 ulp (even)');
  t.equal(floatToHalf(1 + 2 ** -11 + 2 ** -20), 0x3c01, 'just above the tie rounds up');
  t.equal(floatToHalf(2 ** -25), 0x0000, 'half the smallest subnormal → 0 (even)');
  t.equal(floatToHalf(3 * 2 ** -25), 0x0002, '1.5 units → 2 units');
  t.equal(floatToHalf(-1023.5 * 2 ** -24), 0x8400, 'the top subnormal tie carries into the smallest normal');
  t.equal(floatToHalf(65519), 0x7bff);
  t.equal(floatToHalf(65520), 0x7c00);
  t.equal(floatToHalf(-1e9), 0xfc00);
  t.equal(floatToHalf(-0), 0x8000);
  t.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
});

t.test('random floats land on a nearest half', async (t) => {
  const rng = new Rng(4);
  let bad = 0;
  for (let i = 0; i < 20000; i++) {
    const v = Math.fround((rng.next() - 0.5) * 2 ** (Math.floor(rng.next() * 44) - 26));
    const h = floatToHalf(v);
    const e = Math.abs(halfToFloat(h) - v);
    if (e > Math.abs(halfToFloat(h + 1) - v) || e > Math.abs(halfToFloat(h - 1) - v)) bad++;
  }
  t.equal(bad, 0);
});

t.test('bfloat16: ties to even, NaN stays NaN', async (t) => {
  t.equal(floatToBf16(1), 0x3f80);
  t.equal(floatToBf16(1 + 2 ** -8), 0x3f80, 'tie → even');
  t.equal(floatToBf16(1 + 3 * 2 ** -8), 0x3f82);
  t.equal(bf16ToFloat(floatToBf16(-3)), -3);
  t.ok(Number.isNaN(bf16ToFloat(floatToBf16(NaN))));
});
