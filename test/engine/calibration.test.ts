// Score calibration: starts at the drafter's own score, converges to the observed acceptance rate.
import t from 'tap';
import { ScoreCalibration } from '../../engine/calibration.ts';
import { TreeBuilder } from '../../trees/draft-tree.ts';

t.test('an overconfident drafter is corrected by what the target accepts', async (t) => {
  const c = new ScoreCalibration();
  t.equal(c.estimate(1, 0.8), 0.8, 'no data: the prior is the score');
  const b = new TreeBuilder(5);
  b.add(0, 6, { score: 0.8, source: 1 }); // node 1: claims 0.8
  b.add(0, 7, { score: 0.8, source: 0 }); // node 2: another drafter, same claim
  const tree = b.build();
  for (let i = 0; i < 200; i++) c.observe(tree, i % 5 === 0 ? [0, 1, 0].slice(0, 2) : [0]); // node 1 accepted 20%
  const est = c.estimate(1, 0.8);
  t.ok(Math.abs(est - 0.2) < 0.05, `drafter 1 at score 0.8 → ${est.toFixed(3)} ≈ 0.2`);
  t.ok(c.estimate(0, 0.8) < 0.05, 'drafter 0 never accepted');
  const v = c.values(tree);
  t.equal(v[0], 1, 'root');
  t.ok(Math.abs(v[1] - c.estimate(1, tree.scores[1]) * c.depthFactor(1)) < 1e-5, 'node value = calibrated estimate of its source × its depth\'s factor (+ a tie-breaking sliver of the score)');
});

t.test('a node proposed by two drafters takes the better estimate', async (t) => {
  const c = new ScoreCalibration();
  const b = new TreeBuilder(5);
  b.add(0, 6, { score: 0.5, sources: 0b11 });
  const solo = new TreeBuilder(5);
  solo.add(0, 6, { score: 0.5, source: 0 });
  for (let i = 0; i < 100; i++) c.observe(solo.build(), [0]); // drafter 0 at 0.5: never accepted
  const v = c.values(b.build());
  t.ok(Math.abs(v[1] - 0.5 * c.depthFactor(1)) < 1e-5, 'drafter 1 (no data, prior 0.5) wins over drafter 0 (≈0)');
});

t.test('online step cost: learns the overhead the startup curve misses, and the slope', async (t) => {
  const { OnlineCost } = await import('../../engine/verify-cost.ts');
  const { piecewiseCost } = await import('../../trees/expander.ts');
  const base = piecewiseCost([{ n: 1, ms: 1 }, { n: 65, ms: 5 }]); // v(n) = 1 + (n - 1) / 16
  const c = new OnlineCost(base);
  t.equal(c.at(9), base.at(9), 'no data: the startup curve');
  for (let i = 0; i < 400; i++) for (const n of [2, 9, 33]) c.observe(n, 2 * base.at(n) + 0.5); // truth: 2·v(n) + 0.5
  for (const n of [1, 17, 65]) t.ok(Math.abs(c.at(n) - (2 * base.at(n) + 0.5)) < 1e-6, `n=${n}: ${c.at(n).toFixed(3)}`);
  const one = new OnlineCost(base);
  for (let i = 0; i < 100; i++) one.observe(5, base.at(5) + 0.3);
  t.ok(Math.abs(one.at(40) - (base.at(40) + 0.3)) < 1e-6, 'one observed size: slope 1, the gap as an offset');
});

t.test('online step cost: a size the startup curve underestimates is corrected from its own steps, and so are its untried neighbours', async (t) => {
  const { OnlineCost } = await import('../../engine/verify-cost.ts');
  const { piecewiseCost } = await import('../../trees/expander.ts');
  // The startup curve read 13 rows as cheap as 9 (a noisy measurement); real steps: 9 rows 12.9 ms, 13 rows 15.2.
  const base = piecewiseCost([{ n: 1, ms: 8.6 }, { n: 9, ms: 10.9 }, { n: 13, ms: 10.9 }, { n: 17, ms: 13.7 }, { n: 25, ms: 18.2 }]);
  const truth = (n: number) => 8.6 + 0.5 * (n - 1) + (n > 9 ? 0.075 * (n - 9) : 0); // 9 → 12.6, 13 → 14.9
  const c = new OnlineCost(base);
  for (let i = 0; i < 200; i++) for (const n of [1, 7, 9]) c.observe(n, truth(n)); // what auto tried first
  t.ok(c.at(13) < c.at(9) + 0.5, `before any 13-row step the curve still calls 13 rows cheap (${c.at(13).toFixed(2)} vs ${c.at(9).toFixed(2)})`);
  for (let i = 0; i < 40; i++) c.observe(13, truth(13));
  t.ok(Math.abs(c.at(13) - truth(13)) < 0.02 * truth(13), `13 rows after its own steps: ${c.at(13).toFixed(2)} ≈ ${truth(13).toFixed(2)}`);
  t.ok(Math.abs(c.at(9) - truth(9)) < 0.02 * truth(9), `9 rows stays right: ${c.at(9).toFixed(2)}`);
  t.ok(c.at(11) > c.at(9) && c.at(11) < c.at(13), `11 rows (never tried) lies between: ${c.at(11).toFixed(2)}`);
  t.ok(c.at(17) > c.at(13), `17 rows (never tried) costs more than 13: ${c.at(17).toFixed(2)}`);
  const once = new OnlineCost(base);
  for (let i = 0; i < 200; i++) once.observe(9, 10.9);
  once.observe(13, 2 * 10.9);
  const r = once.at(13) / once.fitAt(13);
  t.ok(r > 1.2 && r < 1.5, `one slow step moves its size a third of the way (×${r.toFixed(3)}, not ×2)`);
});

t.test('within one score bin, values keep the drafter\'s own order', async (t) => {
  const c = new ScoreCalibration();
  const b = new TreeBuilder(5);
  b.add(0, 6, { score: 0.7, source: 3 });
  b.add(0, 7, { score: 0.9, source: 3 }); // same bin [0.5, 1)
  const v = c.values(b.build());
  t.ok(v[2] > v[1], `${v[2]} > ${v[1]}`);
});

t.test('the per-depth factor corrects what the score bins cannot: the same score accepted less often deeper', async (t) => {
  const c = new ScoreCalibration();
  const b = new TreeBuilder(5);
  const a = b.add(0, 6, { score: 0.7, source: 0 }); // depth 1
  b.add(a, 7, { score: 0.7, source: 0 }); // depth 2, the same score bin
  const tree = b.build();
  // Depth 1 accepted in 70% of steps, depth 2 in 10% (the shared bin alone sees 40% for both).
  for (let i = 0; i < 1000; i++) c.observe(tree, i % 10 === 0 ? [0, 1, 2] : i % 10 < 7 ? [0, 1] : [0]);
  const v = c.values(tree);
  t.ok(Math.abs(c.estimate(0, 0.7) - 0.4) < 0.03, `the bin: ${c.estimate(0, 0.7).toFixed(3)} ≈ 0.4`);
  t.ok(Math.abs(v[1] - 0.7) < 0.08, `depth 1 ≈ 0.7 (got ${v[1].toFixed(3)})`);
  t.ok(Math.abs(v[2] - 0.1) < 0.04, `depth 2 ≈ 0.1 (got ${v[2].toFixed(3)})`);
  t.equal(new ScoreCalibration().depthFactor(3), 1, 'no evidence: factor 1');
});
