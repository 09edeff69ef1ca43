// Merges the SpeculationStats of a request's choices into the one `speculation` object a response carries.
import type { SpeculationStats } from '../engine/stats.ts';

/**
 * Sums counts and times; rates are re-derived, per-step means weighted by each choice's steps.
 * Fields this function does not know are taken from the first choice.
 */
export function mergeSpeculation(list: readonly SpeculationStats[]): SpeculationStats | undefined {
  if (list.length <= 1) return list[0];
  const steps = list.reduce((a, s) => a + s.steps, 0);
  const accepted = list.reduce((a, s) => a + s.accepted, 0);
  const depth = Math.max(...list.map((s) => s.acceptance_by_depth.length));
  const acceptanceByDepth = Array.from({ length: depth }, (_, d) => {
    const weighted = list.reduce((a, s) => a + (s.acceptance_by_depth[d] ?? 0) * s.steps, 0);
    return steps > 0 ? weighted / steps : 0;
  });
  const perDrafter: SpeculationStats['per_drafter'] = {};
  for (const s of list) {
    for (const [name, c] of Object.entries(s.per_drafter)) {
      const into = (perDrafter[name] ??= { drafted: 0, accepted: 0 });
      into.drafted += c.drafted;
      into.accepted += c.accepted;
    }
  }
  const sum = (key: 'drafted' | 'draft_ms' | 'verify_ms' | 'other_ms') => list.reduce((a, s) => a + s[key], 0);
  const perStep = (key: 'mean_tree_size' | 'mean_expected_accepted_length') => (steps > 0 ? list.reduce((a, s) => a + s[key] * s.steps, 0) / steps : 0);
  return {
    ...list[0],
    drafters: [...new Set(list.flatMap((s) => s.drafters))],
    steps,
    drafted: sum('drafted'),
    accepted,
    mean_accepted_length: steps > 0 ? (accepted + steps) / steps : 0,
    acceptance_by_depth: acceptanceByDepth,
    accepted_by_depth: Array.from({ length: depth }, (_, d) => list.reduce((a, s) => a + (s.accepted_by_depth[d] ?? 0), 0)),
    per_drafter: perDrafter,
    draft_ms: sum('draft_ms'),
    verify_ms: sum('verify_ms'),
    other_ms: sum('other_ms'),
    mean_tree_size: perStep('mean_tree_size'),
    mean_expected_accepted_length: perStep('mean_expected_accepted_length'),
    tree_sizes: list.flatMap((s) => s.tree_sizes),
  };
}
