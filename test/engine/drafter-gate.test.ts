// Drafter selection: a drafter that costs more than it saves sits out, is probed with growing pauses,
// and comes back when it pays again.
import t from 'tap';
import { DrafterGate } from '../../engine/drafter-gate.ts';

t.test('a drafter that does not pay is benched, probed with doubling pauses, and returns when it pays', async (t) => {
  const g = new DrafterGate();
  for (let i = 0; i < 20; i++) {
    if (i < 16) t.ok(g.active('slow'), 'active while learning (16 steps)');
    g.record('slow', 1.0, 0.1, 2, 0.3, 0.05, 0.1, 2, 2); // saves 0.03 ms, costs 1.1 ms of a 2 ms step
    g.record('good', 0.05, 2, 4, 0.3, 0.01, 2, 4, 2); // saves 0.6 ms, costs 0.09 ms
    g.record('cheap', 0.01, 0, 0, 0.3, 0.01, 0, 0, 2); // finds nothing, but costs 0.5% of the step
  }
  t.same(g.benched(), ['slow'], 'the cheap drafter is never benched');
  t.ok(g.active('good'));
  t.ok(g.active('cheap'));
  // Steps sat out before each probe (a probe runs several steps in a row).
  const gaps: number[] = [];
  let since = 0;
  for (let step = 0; step < 400 && gaps.length < 4; step++) {
    if (g.active('slow')) {
      if (since > 0) gaps.push(since);
      since = 0;
      g.record('slow', 1.0, 0.1, 2, 0.3, 0.05, 0.1, 2, 2);
    } else since++;
  }
  t.ok(gaps.length >= 3 && gaps.every((gap, i) => i === 0 || gap > gaps[i - 1]), `probe gaps grow: ${gaps.join(', ')}`);
  for (let i = 0; i < 60; i++) g.record('slow', 0.2, 3, 1, 0.3, 0.01, 3, 1, 2); // the text changed: now it pays
  t.same(g.benched(), []);
  t.ok(g.active('slow'));
});

t.test('two drafters that duplicate each other are not both benched: the best solo one stays', async (t) => {
  const g = new DrafterGate();
  for (let i = 0; i < 40; i++) {
    // Both propose the same accepted tokens: half credit each looks unprofitable, full credit pays.
    g.record('a', 0.2, 0.5, 1, 0.3, 0.01, 1, 2, 2);
    g.record('b', 0.25, 0.5, 1, 0.3, 0.01, 1, 2, 2);
  }
  t.same(g.benched(), ['b'], 'a (cheaper, same solo value) is the anchor');
  t.ok(g.active('a'));
});

t.test('a drafter that found nothing while cold comes back for good once it pays: probes are trials of several steps', async (t) => {
  const g = new DrafterGate();
  // A drafter cold for its first 16 steps (the first one also pays for JIT compilation): it finds nothing.
  // Beside it a cheap drafter that pays a little (the anchor).
  g.record('suffix', 0.8, 0, 2, 0.3, 0, 0, 2, 1);
  for (let i = 1; i < 16; i++) g.record('suffix', 0.05, 0, 2, 0.3, 0, 0, 2, 0.5);
  for (let i = 0; i < 16; i++) g.record('other', 0.001, 0.001, 0, 0.3, 0, 0.001, 0, 0.5);
  t.same(g.benched(), ['suffix'], 'benched while it finds nothing');
  // Now the text repeats: whenever it drafts, 3 steps in 5 accept one of its tokens (0.3 ms each), 2 find nothing.
  let active = 0;
  let k = 0;
  for (let step = 0; step < 400; step++) {
    g.record('other', 0.001, 0.001, 0, 0.3, 0, 0.001, 0, 0.5);
    if (!g.active('suffix')) continue;
    const pays = k++ % 5 < 3;
    g.record('suffix', 0.05, pays ? 1 : 0, 2, 0.3, 0, pays ? 1 : 0, 2, 0.5);
    if (step >= 200) active++;
  }
  t.ok(active >= 190, `active in ${active} of the last 200 steps`);
});
