// What drafting costs as a function of how many nodes the drafters are asked for, learned online per request.
// The expander's cut happens after drafting (that step's draft time is spent either way), but the size it
// picks sets the next step's ask (about twice the recent size), and a draft model's time grows with the ask:
// one draft forward per round. Charging each candidate size the draft time its ask will cost keeps `auto`
// from growing trees whose drafting eats what their acceptance earns (issue 10: auto fell to 0.78 of the best
// fixed budget with a draft model).

import { EwLineFit } from '../common/ew-fit.ts';
import { isBucketSize } from '../trees/expander.ts';

/**
 * Under 'auto', how many nodes to ask the drafters for after trees of about `size` nodes: while drafting is
 * cheap, about twice the size and at least CHEAP_ASK_FLOOR (room to grow); while it is not (a draft model runs
 * one forward per round), the tree size the expander would keep (measured: asking one size up every step made
 * the draft model draft like a fixed 8 while it kept ~5 nodes), or on a `probe` step the next size up, so
 * growth is still tried. A costly drafter whose trees are kept at about nothing is not asked at all between
 * probes: its drafting would be pure loss.
 */
export function askFor(size: number, cap: number, cheap: boolean, probe = false): number {
  if (cheap) return Math.min(cap, Math.max(CHEAP_ASK_FLOOR, Math.ceil(2 * size)));
  if (size < 0.5 && !probe) return 0;
  let n = Math.max(1, Math.round(size)) + (probe ? 1 : 0);
  while (!isBucketSize(n)) n++;
  return Math.min(cap, Math.max(2, n));
}

/** While drafting is costly, every PROBE_EVERY-th step asks one tree size up. */
export const PROBE_EVERY = 8;

/** Asks below this are never made while drafting is cheap (room to grow). */
export const CHEAP_ASK_FLOOR = 8;
/** A drafter whose ask-8 draft costs more than this share of a one-token forward is asked for less. */
const CHEAP_SHARE = 0.05;

/**
 * Draft milliseconds ≈ d0 + d1·ask, an exponentially weighted least-squares fit over the steps so far. While the
 * asks seen barely differ, the time is taken as proportional to the ask (the cautious reading: growing costs).
 */
export class DraftCost {
  private readonly line: EwLineFit; // ms on ask

  constructor(alpha = 0.1) {
    this.line = new EwLineFit(alpha);
  }

  observe(ask: number, ms: number): void {
    if (!(ask >= 1) || !Number.isFinite(ms) || ms < 0) return;
    this.line.observe(ask, ms);
  }

  /** Expected draft ms for an ask of n nodes; 0 before any step. */
  at(n: number): number {
    if (this.line.empty || n <= 0) return 0;
    const { mx, my, varX, cov } = this.line.moments();
    if (varX > 0.25) {
      const slope = Math.max(0, cov / varX);
      return Math.max(0, my + slope * (n - mx));
    }
    return mx > 0 ? (my * n) / mx : my;
  }

  /** Whether drafting is cheap: an ask of CHEAP_ASK_FLOOR costs < 5% of a one-token forward. */
  cheap(forwardMs: number): boolean {
    return this.at(CHEAP_ASK_FLOOR) <= CHEAP_SHARE * forwardMs;
  }
}
