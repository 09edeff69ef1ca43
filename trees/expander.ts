// The dynamic expander: sizes each step's tree from node values and the measured verify-cost curve.
// Sequoia's hardware-aware sizing (Chen et al. 2024, arXiv 2402.12374 §4.1) redone every step, over values
// that estimate each node's acceptance probability (DySpec, Xiong et al. 2024, arXiv 2410.11744, eq. 2).

/** Verify time of a forward over n tokens (root included), measured on this machine. */
export interface CostCurve {
  /** Milliseconds for a forward over n tokens. */
  at(n: number): number;
}

export interface SizeChoice {
  /** Draft nodes to keep (root excluded). */
  size: number;
  /** Expected tokens this step: 1 (bonus) + Σ of the kept nodes' acceptance probabilities. */
  expectedTokens: number;
  /** Expected tokens per millisecond at that size. */
  rate: number;
}

/**
 * Picks n maximising E[tokens](n) / (draft(n) + verify(n + 1)), where E[tokens](n) = 1 + Σ_{i<n} values[i]
 * (the expected number of accepted nodes is the sum of their acceptance probabilities, plus the bonus token).
 * `draftMs` is a constant or, per size, the drafting that keeping that size costs (engine/draft-cost.ts).
 * `values` are in the order the nodes would be kept (best-first, connected), so each prefix is a valid tree.
 * Never returns more than `hardCap` nodes.
 *
 * Example: values [0.9, 0.8, 0.1], cost 1 ms flat up to 3 tokens then +1 ms per token, no draft time:
 * n=0 → 1/1, n=1 → 1.9/1, n=2 → 2.7/1, n=3 → 2.8/2 → size 2.
 */
export function chooseTreeSize(values: ArrayLike<number>, cost: CostCurve, draftMs: number | ((size: number) => number), hardCap: number, opts: SizeOptions = {}): SizeChoice {
  const limit = Math.max(0, Math.min(hardCap, values.length));
  const draft = typeof draftMs === 'number' ? () => draftMs : draftMs;
  let best: SizeChoice = { size: 0, expectedTokens: 1, rate: 1 / (draft(0) + cost.at(1)) };
  let current: SizeChoice | null = opts.current === 0 ? best : null;
  let expected = 1;
  for (let n = 1; n <= limit; n++) {
    expected += Math.max(0, Math.min(1, values[n - 1]));
    if (opts.allowed && !opts.allowed(n) && n !== limit && n !== opts.current) continue;
    const rate = expected / (draft(n) + cost.at(n + 1));
    if (n === opts.current) current = { size: n, expectedTokens: expected, rate };
    if (rate > best.rate) best = { size: n, expectedTokens: expected, rate };
  }
  // Hysteresis: keep the current size unless another is clearly better (changing sizes has a cost of its own).
  if (current && best.rate < current.rate * (1 + (opts.margin ?? 0))) return current;
  return best;
}

export interface SizeOptions {
  /** Sizes that may be chosen (the largest possible size always may). */
  allowed?: (n: number) => boolean;
  /** The size chosen last step: kept unless another beats it by more than `margin`. */
  current?: number;
  /** Relative rate improvement needed to leave `current`, e.g. 0.05. */
  margin?: number;
}

/**
 * Tree sizes the expander picks from: onnxruntime runs noticeably slower when the number of tokens per forward
 * changes from step to step (measured: a 1-token forward costs ~25% more when it alternates with 9-token ones),
 * so a few sizes repeated beat many sizes that each fit slightly better.
 */
export function isBucketSize(n: number): boolean {
  return n <= 2 || n === 4 || n === 6 || (n >= 8 && (n & (n - 1)) === 0) || n === 12 || n === 24 || n === 48;
}

/** A cost curve through measured (n, ms) points, linear in between and extrapolated from the last segment. */
export function piecewiseCost(points: readonly { n: number; ms: number }[]): CostCurve {
  const pts = [...points].sort((a, b) => a.n - b.n);
  if (pts.length === 0) throw new Error('a cost curve needs at least one point');
  return {
    at(n: number): number {
      if (n <= pts[0].n || pts.length === 1) return pts[0].ms;
      for (let i = 1; i < pts.length; i++) {
        if (n <= pts[i].n) {
          const a = pts[i - 1];
          const b = pts[i];
          return a.ms + ((b.ms - a.ms) * (n - a.n)) / (b.n - a.n);
        }
      }
      const a = pts[pts.length - 2];
      const b = pts[pts.length - 1];
      return b.ms + (Math.max(0, b.ms - a.ms) * (n - b.n)) / (b.n - a.n);
    },
  };
}
