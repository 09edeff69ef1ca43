// Safetensors F16 / BF16 round trips: writing rounds to nearest even (the same helpers as quantization), reading
// decodes every half, subnormals and NaN included.
import path from 'node:path';
import t, { type Test } from 'tap';
import { readSafetensorsHeader, readTensorF32, writeSafetensors } from '../../model/safetensors.ts';

function roundTrip(t: Test, dtype: 'F16' | 'BF16', values: number[]): Float32Array {
  const file = path.join(t.testdir(), `x-${dtype}.safetensors`);
  writeSafetensors(file, [{ name: 'x', shape: [values.length], data: Float32Array.from(values) }], dtype);
  const [info] = readSafetensorsHeader(file);
  t.equal(info.dtype, dtype);
  return readTensorF32(info);
}

t.test('F16: ties to even, subnormals, overflow and NaN', (t) => {
  const got = roundTrip(t, 'F16', [1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 2 ** -20, 65519, 65520, -0.1, NaN]);
  t.equal(got[0], 1, '1 + half an ulp → 1 (even), not 1 + 1 ulp');
  t.equal(got[1], 1 + 2 ** -9, '1 + 1.5 ulp → 1 + 2 ulp (even)');
  t.equal(got[2], 0, 'half the smallest subnormal → 0 (even)');
  t.equal(got[3], 2 ** -23, '1.5 subnormal units → 2 units');
  t.equal(got[4], 2 ** -20, 'a subnormal half kept exactly');
  t.equal(got[5], 65504, 'the largest half');
  t.equal(got[6], Infinity, '65520 rounds past the largest half');
  t.equal(got[7], -0.0999755859375, 'the nearest half to -0.1');
  t.ok(Number.isNaN(got[8]), 'NaN stays NaN');
  t.end();
});

t.test('BF16: ties to even and NaN', (t) => {
  const got = roundTrip(t, 'BF16', [1 + 2 ** -8, 1 + 3 * 2 ** -8, -3, NaN]);
  t.same(Array.from(got.subarray(0, 3)), [1, 1 + 2 ** -6, -3]);
  t.ok(Number.isNaN(got[3]), 'NaN stays NaN');
  t.end();
});
