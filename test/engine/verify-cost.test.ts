// The startup verify-cost curve: round-robin rounds + median + isotonic fit, so a transient slowdown does not
// become the cost of a size (and of every larger one) for good.
import t from 'tap';
import { isotonic, measureVerifyCost } from '../../engine/verify-cost.ts';
import type { ModelRunner } from '../../model/runner.ts';

t.test('isotonic: a non-decreasing input is kept, a spike is pooled with the sizes after it, not carried up', async (t) => {
  t.same(isotonic([1, 2, 2, 5]), [1, 2, 2, 5]);
  const fit = isotonic([1, 2, 10, 3, 4]);
  t.same(fit.slice(0, 2), [1, 2]);
  for (const y of fit.slice(2)) t.ok(Math.abs(y - 17 / 3) < 1e-9, `pooled to the mean of 10, 3, 4 (${y})`);
  t.ok(Math.abs(fit.reduce((a, b) => a + b, 0) - 20) < 1e-9, 'the fit keeps the sum (least squares)');
  for (let i = 1; i < fit.length; i++) t.ok(fit[i] >= fit[i - 1], 'non-decreasing');
  t.same(isotonic([]), []);
});

/** A runner whose forward over n rows busy-waits 1 + 0.25·n ms; calls in [spikeFrom, spikeTo) take 20 ms more. */
function fakeRunner(spikeFrom: number, spikeTo: number) {
  let calls = 0;
  const byN = new Map<number, number>();
  const runner = {
    maxTreeRows: 64,
    contextLength: 512,
    vocab: 100,
    newCache: () => ({}),
    prefill: async () => new Float32Array(0),
    forward: async (_c: unknown, tokens: ArrayLike<number>) => {
      const n = tokens.length;
      const call = calls++;
      byN.set(n, (byN.get(n) ?? 0) + 1);
      const ms = 1 + 0.25 * n + (call >= spikeFrom && call < spikeTo ? 20 : 0);
      const end = performance.now() + ms;
      while (performance.now() < end) { /* busy: a forward's wall time */ }
      return new Float32Array(0);
    },
  };
  return { runner: runner as unknown as ModelRunner, byN };
}

t.test('a slowdown during measuring lands on single samples, not on a size and every size above it', async (t) => {
  const sizes = [1, 2, 4, 8, 12, 16];
  // Warm-up runs 12 calls. The next 48 (round 0 and 7 more rounds; ~1 s) are 20 ms slower: measured size by
  // size in blocks, that slowdown covered the first sizes' whole blocks, and a running maximum carried it to
  // every larger size.
  const { runner, byN } = fakeRunner(12, 60);
  const points = await measureVerifyCost(runner, sizes, 2000);
  t.same(points.map((p) => p.n), sizes, 'every size fits the budget');
  for (const n of sizes) t.ok((byN.get(n) ?? 0) >= 2 + 3, `${n} rows: warm-up plus at least 3 rounds (${byN.get(n)} forwards)`);
  for (let i = 1; i < points.length; i++) t.ok(points[i].ms >= points[i - 1].ms, 'non-decreasing');
  for (const p of points) {
    const truth = 1 + 0.25 * p.n;
    t.ok(p.ms < truth + 3, `${p.n} rows: ${p.ms.toFixed(2)} ms, close to the true ${truth} ms, not the spike's ${truth + 20}`);
  }
});

t.test('a model too slow for every size keeps the sizes that fit and at least two', async (t) => {
  const { runner } = fakeRunner(0, 0);
  const points = await measureVerifyCost(runner, [1, 2, 4, 8, 12, 16, 24, 32], 60);
  t.ok(points.length >= 2 && points.length < 8, `${points.length} sizes kept`);
  t.same(points.map((p) => p.n), [1, 2, 4, 8, 12, 16, 24, 32].slice(0, points.length), 'the smallest sizes');
});
