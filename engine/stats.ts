// Per-request speculation statistics (vLLM's vocabulary: drafted, accepted, and mean accepted length
// counting the bonus token, so plain decoding scores 1.0).

import type { ConstraintStats } from './constraint.ts';

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
  /** accepted_by_depth[d] = accepted draft tokens at depth d+1 (counts). */
  accepted_by_depth: number[];
  /** Accepted draft tokens credited to each drafter (a token proposed by two drafters counts for both). */
  per_drafter: Record<string, { drafted: number; accepted: number }>;
  draft_ms: number;
  verify_ms: number;
  other_ms: number;
  /** Mean number of draft nodes per step. */
  mean_tree_size: number;
  /** The budget asked for: a node count, or 'auto' (sized each step by the expander). */
  tree_budget: number | 'auto';
  /** The expander's mean estimate of tokens per step (compare with mean_accepted_length). */
  mean_expected_accepted_length: number;
  /** Draft nodes verified at each step, in order (the first 4096 steps). */
  tree_sizes: number[];
  /** Structured output only: pruned drafts, forced tokens, grammar time (engine/constraint.ts). */
  constraint?: ConstraintStats;
}

export function emptyStats(drafters: string[]): SpeculationStats {
  return {
    drafters,
    steps: 0,
    drafted: 0,
    accepted: 0,
    mean_accepted_length: 0,
    acceptance_by_depth: [],
    accepted_by_depth: [],
    per_drafter: Object.fromEntries(drafters.map((d) => [d, { drafted: 0, accepted: 0 }])),
    draft_ms: 0,
    verify_ms: 0,
    other_ms: 0,
    mean_tree_size: 0,
    tree_budget: 0,
    mean_expected_accepted_length: 0,
    tree_sizes: [],
  };
}

/** Running counters behind SpeculationStats; finish() turns them into the reported record. */
export class StatsRecorder {
  private readonly stats: SpeculationStats;
  private readonly draftedAtDepth: number[] = [];
  private readonly acceptedAtDepth: number[] = [];
  private treeNodes = 0;
  private expected = 0;

  constructor(private readonly drafterNames: Map<number, string>, treeBudget: number | 'auto' = 0) {
    this.stats = emptyStats([...drafterNames.values()]);
    this.stats.tree_budget = treeBudget;
  }

  /**
   * One verification step. depths/sources: the verified tree's arrays [numNodes];
   * acceptedNodes: the accepted root-to-node path (root first).
   */
  step(depths: Int32Array, sources: Uint32Array, acceptedNodes: readonly number[], draftMs: number, verifyMs: number, expectedTokens = 1): void {
    const s = this.stats;
    const n = depths.length;
    s.steps++;
    this.expected += expectedTokens;
    if (s.tree_sizes.length < 4096) s.tree_sizes.push(n - 1);
    s.drafted += n - 1;
    s.accepted += acceptedNodes.length - 1;
    s.draft_ms += draftMs;
    s.verify_ms += verifyMs;
    this.treeNodes += n - 1;
    let maxDepth = 0;
    for (let i = 1; i < n; i++) {
      maxDepth = Math.max(maxDepth, depths[i]);
      this.credit(sources[i], 'drafted');
    }
    for (let d = 1; d <= maxDepth; d++) this.draftedAtDepth[d - 1] = (this.draftedAtDepth[d - 1] ?? 0) + 1;
    for (let j = 1; j < acceptedNodes.length; j++) {
      const node = acceptedNodes[j];
      this.acceptedAtDepth[depths[node] - 1] = (this.acceptedAtDepth[depths[node] - 1] ?? 0) + 1;
      this.credit(sources[node], 'accepted');
    }
  }

  /** Steps recorded so far. */
  get steps(): number {
    return this.stats.steps;
  }

  addOther(ms: number): void {
    this.stats.other_ms += ms;
  }

  private credit(mask: number, field: 'drafted' | 'accepted'): void {
    for (const [id, name] of this.drafterNames) {
      if (mask & (1 << id)) this.stats.per_drafter[name][field]++;
    }
  }

  finish(): SpeculationStats {
    const s = { ...this.stats, per_drafter: structuredClone(this.stats.per_drafter), tree_sizes: [...this.stats.tree_sizes] };
    s.mean_expected_accepted_length = s.steps ? this.expected / s.steps : 0;
    s.mean_accepted_length = s.steps ? (s.accepted + s.steps) / s.steps : 0;
    s.mean_tree_size = s.steps ? this.treeNodes / s.steps : 0;
    s.acceptance_by_depth = this.draftedAtDepth.map((d, i) => (d ? (this.acceptedAtDepth[i] ?? 0) / d : 0));
    s.accepted_by_depth = this.draftedAtDepth.map((_, i) => this.acceptedAtDepth[i] ?? 0);
    return s;
  }
}
