// mergeSpeculation: one response's stats from several choices.
import t from 'tap';
import { emptyStats, type SpeculationStats } from '../../engine/stats.ts';
import { mergeSpeculation } from '../../server/speculation.ts';

const stats = (o: Partial<SpeculationStats>): SpeculationStats => ({ ...emptyStats(['lookup']), ...o });

t.test('one or none passes through', async (t) => {
  t.equal(mergeSpeculation([]), undefined);
  const a = stats({ steps: 3 });
  t.equal(mergeSpeculation([a]), a);
});

t.test('counts add up, rates are re-derived and weighted by steps', async (t) => {
  const a = stats({ steps: 2, drafted: 6, accepted: 2, acceptance_by_depth: [1, 0], per_drafter: { lookup: { drafted: 6, accepted: 2 } }, draft_ms: 1, mean_tree_size: 3, tree_sizes: [3, 3] });
  const b = stats({ drafters: ['recycling'], steps: 6, drafted: 6, accepted: 6, acceptance_by_depth: [0.5], per_drafter: { recycling: { drafted: 6, accepted: 6 } }, draft_ms: 2, mean_tree_size: 1, tree_sizes: [1, 1, 1, 1, 1, 1] });
  const m = mergeSpeculation([a, b])!;
  t.same(m.drafters, ['lookup', 'recycling']);
  t.equal(m.steps, 8);
  t.equal(m.drafted, 12);
  t.equal(m.accepted, 8);
  t.equal(m.mean_accepted_length, (8 + 8) / 8);
  t.same(m.acceptance_by_depth, [(1 * 2 + 0.5 * 6) / 8, 0]);
  t.same(m.per_drafter, { lookup: { drafted: 6, accepted: 2 }, recycling: { drafted: 6, accepted: 6 } });
  t.equal(m.draft_ms, 3);
  t.equal(m.mean_tree_size, (3 * 2 + 1 * 6) / 8);
  t.equal(m.tree_sizes.length, 8);
});
