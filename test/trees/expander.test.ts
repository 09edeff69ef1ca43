// The dynamic expander: tree size follows acceptance and the verify-cost curve, never past the hard cap.
import t from 'tap';
import { chooseTreeSize, piecewiseCost } from '../../trees/expander.ts';

const flat = piecewiseCost([{ n: 1, ms: 1 }, { n: 200, ms: 1.2 }]);
const steep = piecewiseCost([{ n: 1, ms: 1 }, { n: 2, ms: 2 }, { n: 200, ms: 200 }]);
const bent = piecewiseCost([{ n: 1, ms: 1 }, { n: 16, ms: 1.1 }, { n: 64, ms: 6 }]);
const high = Array.from({ length: 100 }, (_, i) => 0.95 ** (i + 1)); // a confident drafter
const low = Array.from({ length: 100 }, (_, i) => 0.3 ** (i + 1)); // a poor one

t.test('the docstring example', async (t) => {
  const cost = piecewiseCost([{ n: 1, ms: 1 }, { n: 3, ms: 1 }, { n: 4, ms: 2 }]);
  const c = chooseTreeSize([0.9, 0.8, 0.1], cost, 0, 10);
  t.equal(c.size, 2);
  t.ok(Math.abs(c.expectedTokens - 2.7) < 1e-9);
});

t.test('never exceeds the hard cap', async (t) => {
  for (const cap of [0, 1, 7, 32, 64]) {
    for (const cost of [flat, steep, bent]) {
      for (const values of [high, low, Array(100).fill(1)]) {
        t.ok(chooseTreeSize(values, cost, 0.5, cap).size <= cap, `cap ${cap}`);
      }
    }
  }
  t.equal(chooseTreeSize(Array(100).fill(1), flat, 0, 40).size, 40, 'flat cost and certain acceptance: as big as allowed');
});

t.test('bigger trees when verify cost is flat and acceptance high; smaller when cost grows steeply', async (t) => {
  const flatHigh = chooseTreeSize(high, flat, 0, 100).size;
  const steepHigh = chooseTreeSize(high, steep, 0, 100).size;
  const flatLow = chooseTreeSize(low, flat, 0, 100).size;
  const steepLow = chooseTreeSize(low, steep, 0, 100).size;
  t.ok(flatHigh > steepHigh, `flat ${flatHigh} > steep ${steepHigh} (high acceptance)`);
  t.ok(flatHigh > flatLow, `high ${flatHigh} > low ${flatLow} acceptance (flat cost)`);
  t.equal(steepLow, 0, 'poor drafts under steep cost: do not speculate');
  const knee = chooseTreeSize(high, bent, 0, 100).size;
  t.ok(knee >= 14 && knee <= 20, `stops near the knee of the cost curve at 16 tokens (chose ${knee})`);
});

t.test('a slower drafter makes the extra verify cost relatively cheaper', async (t) => {
  const fast = chooseTreeSize(high, steep, 0, 100).size;
  const slow = chooseTreeSize(high, steep, 20, 100).size;
  t.ok(slow >= fast, `draft 20 ms → ${slow} ≥ draft 0 ms → ${fast}`);
});

t.test('piecewise cost interpolates and extrapolates', async (t) => {
  const c = piecewiseCost([{ n: 1, ms: 1 }, { n: 3, ms: 2 }, { n: 5, ms: 4 }]);
  t.equal(c.at(1), 1);
  t.equal(c.at(2), 1.5);
  t.equal(c.at(4), 3);
  t.equal(c.at(7), 6, 'past the last point: last slope');
  t.equal(c.at(0), 1);
});

t.test('hysteresis: the current size is kept unless another is clearly better; allowed sizes are respected', async (t) => {
  const values = Array.from({ length: 64 }, (_, i) => 0.9 ** (i + 1));
  const free = chooseTreeSize(values, bent, 0, 64);
  const stuck = chooseTreeSize(values, bent, 0, 64, { current: free.size - 1, margin: 0.5 });
  t.equal(stuck.size, free.size - 1, 'a 50% margin keeps the neighbouring size');
  const moved = chooseTreeSize(values, bent, 0, 64, { current: 1, margin: 0.05 });
  t.equal(moved.size, free.size, 'a far worse current size is left');
  const even = chooseTreeSize(values, bent, 0, 64, { allowed: (n) => n % 4 === 0 });
  t.equal(even.size % 4, 0, `only allowed sizes (${even.size})`);
});

t.test('a draft cost that grows with the size kept (the ask it leads to) keeps trees smaller', async (t) => {
  const constant = chooseTreeSize(high, bent, 2, 64).size;
  const growing = chooseTreeSize(high, bent, (n) => 2 + 0.5 * n, 64).size;
  t.ok(growing < constant, `growing draft cost → ${growing} < constant → ${constant}`);
  t.equal(chooseTreeSize(high, bent, () => 2, 64).size, constant, 'a constant function equals the constant');
});
