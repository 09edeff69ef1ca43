// Drafter selection: a drafter that costs more than it saves sits out, is probed with growing pauses,
// and comes back when it pays again.
import t from 'tap';
import { DrafterGate } from '../../engine/drafter-gate.ts';

t.test('a drafter that does not pay is benched, probed with doubling pauses, and returns when it pays', async (t) => {
  const g = new DrafterGate();
  for (let i = 0; i < 5; i++) {
    if (i < 3) t.ok(g.active('slow'), 'active while learning (3 steps)');
    g.record('slow', 1.0, 0.1, 2, 0.3, 0.05); // saves 0.03 ms, costs 1.1 ms
    g.record('good', 0.05, 2, 4, 0.3, 0.01); // saves 0.6 ms, costs 0.09 ms
  }
  t.same(g.benched(), ['slow']);
  t.ok(g.active('good'));
  const gaps: number[] = [];
  let since = 0;
  for (let step = 0; step < 200 && gaps.length < 4; step++) {
    since++;
    if (g.active('slow')) {
      gaps.push(since);
      since = 0;
      g.record('slow', 1.0, 0.1, 2, 0.3, 0.05);
    }
  }
  t.ok(gaps.length >= 3 && gaps.every((gap, i) => i === 0 || gap >= gaps[i - 1]), `probe gaps grow: ${gaps.join(', ')}`);
  for (let i = 0; i < 30; i++) g.record('slow', 0.01, 3, 1, 0.3, 0.01); // the text changed: now it pays
  t.same(g.benched(), []);
  t.ok(g.active('slow'));
});
