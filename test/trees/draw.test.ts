// Without-replacement draws: distinct tokens, q's support first, then uniform; the first draw follows q.
import t from 'tap';
import { Rng } from '../../common/rng.ts';
import { drawWithoutReplacement } from '../../trees/draw.ts';

t.test('draws are distinct, exhaust the support of q first, then continue uniformly', (t) => {
  const rng = new Rng(1);
  const q = Float32Array.from([0, 0.5, 0, 0.5, 0]);
  for (let trial = 0; trial < 200; trial++) {
    const d = Array.from(drawWithoutReplacement(q, 5, 4, rng));
    t.equal(new Set(d).size, 4);
    t.same(d.slice(0, 2).sort(), [1, 3]);
  }
  t.throws(() => drawWithoutReplacement(q, 5, 6, rng));
  t.end();
});

t.test('the first two draws follow q, then q renormalised without the first', (t) => {
  const rng = new Rng(2);
  const q = Float32Array.from([0.5, 0.3, 0.2]);
  const n = 20000;
  const pairs = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = Array.from(drawWithoutReplacement(q, 3, 2, rng)).join(',');
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  const expect01 = 0.5 * (0.3 / 0.5);
  const expect20 = 0.2 * (0.5 / 0.8);
  t.ok(Math.abs(pairs.get('0,1')! / n - expect01) < 0.015, `P(0,1) ≈ ${expect01}`);
  t.ok(Math.abs(pairs.get('2,0')! / n - expect20) < 0.015, `P(2,0) ≈ ${expect20}`);
  t.end();
});
