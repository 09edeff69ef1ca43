// Per-request speculation statistics (vLLM's vocabulary: drafted, accepted, and mean accepted length
// counting the bonus token, so plain decoding scores 1.0).

export interface SpeculationStats {
  drafters: string[];
  /** Target forwards (verification steps). */
  steps: number;
  /** Draft tokens sent to verification. */
  drafted: number;
  /** Draft tokens accepted. */
  accepted: number;
  /** (accepted + steps) / steps: tokens per target forward, bonus included. */
  mean_accepted_length: number;
  /** acceptance_by_depth[d] = accepted draft tokens at depth d+1 / steps that drafted at that depth. */
  acceptance_by_depth: number[];
  /** Accepted draft tokens credited to each drafter (a token proposed by two drafters counts for both). */
  per_drafter: Record<string, { drafted: number; accepted: number }>;
  draft_ms: number;
  verify_ms: number;
  other_ms: number;
  /** Mean number of draft nodes per step. */
  mean_tree_size: number;
}

export function emptyStats(drafters: string[]): SpeculationStats {
  return {
    drafters,
    steps: 0,
    drafted: 0,
    accepted: 0,
    mean_accepted_length: 0,
    acceptance_by_depth: [],
    per_drafter: Object.fromEntries(drafters.map((d) => [d, { drafted: 0, accepted: 0 }])),
    draft_ms: 0,
    verify_ms: 0,
    other_ms: 0,
    mean_tree_size: 0,
  };
}
