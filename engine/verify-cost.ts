// Measures t_verify(n), the time of one target forward over n tokens, on this machine, once per model
// (cached on disk by compiled-graph key and thread count). The expander sizes trees against it.
import { causalBias, type ModelRunner } from '../model/runner.ts';
import { piecewiseCost, type CostCurve } from '../trees/expander.ts';
import { measuredOnce } from './measured.ts';
import { EwLineFit } from '../common/ew-fit.ts';

export const COST_SIZES = [1, 2, 4, 8, 12, 16, 24, 32, 48, 65];
/** Measuring stops adding rounds past this much time (a big model's large forwards are extrapolated). */
const MEASURE_BUDGET_MS = 5000;
/** Rounds over every kept size: at least this many, at most the other. */
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 25;
const PREFIX = 64;

export interface CostPoint {
  n: number;
  ms: number;
}

const memo = new WeakMap<ModelRunner, CostCurve>();

export async function verifyCostCurve(runner: ModelRunner): Promise<CostCurve> {
  const hit = memo.get(runner);
  if (hit) return hit;
  // "-2": curves measured size by size (before round-robin rounds and the isotonic fit) are measured again.
  const points = await measuredOnce('verify-cost-2', runner, () => measureVerifyCost(runner));
  const curve = piecewiseCost(points);
  memo.set(runner, curve);
  return curve;
}

/**
 * Forward time per size over a committed prefix: rounds that run every size once, in an order rotated each
 * round, then the median per size, made non-decreasing by an isotonic fit; at most ~5 s in all (sizes a big
 * model cannot fit in the first third of that are left out and extrapolated). A transient slowdown (another
 * process, a GC) thus lands on one sample of several sizes, not on one size's whole block; and a size that
 * still reads slow is pooled with its neighbours instead of lifting every larger size to it (a running maximum
 * did: one spike at 12 rows made 12–16 cost 16.7 ms and 24–32 33.6 ms on the 82M model, against ~13.5 and
 * ~22–28 measured alone, and `auto` then took 16 for the price of 12). What steps really cost refines it
 * online (OnlineCost).
 */
export async function measureVerifyCost(runner: ModelRunner, sizes = COST_SIZES, budgetMs = MEASURE_BUDGET_MS): Promise<CostPoint[]> {
  const cap = Math.min(runner.maxTreeRows, runner.contextLength - PREFIX);
  const cache = runner.newCache();
  await runner.prefill(cache, Array.from({ length: PREFIX }, (_, i) => (i * 31 + 7) % runner.vocab));
  const inputs = sizes.filter((s) => s <= cap).map((n) => {
    const tokens = Array.from({ length: n }, (_, i) => (i * 17 + 3) % runner.vocab);
    return { n, tokens, positions: tokens.map((_, i) => PREFIX + i), bias: causalBias(n, PREFIX) };
  });
  const forward = async (x: (typeof inputs)[number]): Promise<number> => {
    const s = performance.now();
    await runner.forward(cache, x.tokens, x.positions, x.bias);
    return performance.now() - s;
  };
  // Warm-up: a fresh process pays for JIT, page faults and arena growth on its first forwards.
  const start = performance.now();
  for (let pass = 0; pass < 2; pass++) {
    for (const x of inputs) {
      await forward(x);
      if (performance.now() - start > budgetMs / 6) break;
    }
  }
  // Round 0 in ascending order decides which sizes fit the budget; later rounds rotate the order.
  const samples: number[][] = inputs.map(() => []);
  let kept = inputs.length;
  for (let i = 0; i < inputs.length; i++) {
    samples[i].push(await forward(inputs[i]));
    if (i >= 1 && performance.now() - start > budgetMs / 3) {
      kept = i + 1;
      break;
    }
  }
  for (let round = 1; round < MAX_ROUNDS; round++) {
    if (round >= MIN_ROUNDS && performance.now() - start > budgetMs) break;
    for (let k = 0; k < kept; k++) {
      const i = (k + round) % kept;
      samples[i].push(await forward(inputs[i]));
    }
  }
  const medians = samples.slice(0, kept).map(median);
  return isotonic(medians).map((ms, i) => ({ n: inputs[i].n, ms }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The closest non-decreasing sequence in least squares (pool adjacent violators): a spike is averaged with its neighbours, not carried up. */
export function isotonic(ys: readonly number[]): number[] {
  const blocks: { sum: number; count: number }[] = [];
  for (const y of ys) {
    blocks.push({ sum: y, count: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (a.sum / a.count <= b.sum / b.count) break;
      a.sum += b.sum;
      a.count += b.count;
      blocks.pop();
    }
  }
  return blocks.flatMap((b) => Array<number>(b.count).fill(b.sum / b.count));
}

/**
 * What a step over n tokens costs past drafting (verify + observe; drafting is engine/draft-cost.ts), learned
 * online: the startup verify curve v(n) gives the shape, and a running least-squares fit of observed times
 * y ≈ a·v(n) + b (exponentially weighted) adds what the curve does not see: verifying, observing, the event loop. Sizes never tried still get
 * a sensible cost, because the fit is shared across sizes.
 *
 * The shape itself can be wrong: the startup curve is measured in ~5 s on a machine whose timings drift ±15%
 * (on the 82M model it once read 12 rows as cheap as 8, while real steps cost 15.2 against 12.9 ms, and `auto`
 * kept taking 12). So each size's own observed times are kept too (rows → exponentially weighted mean), and
 * at(n) scales the fit by the observed/fit ratio of the nearest observed sizes (interpolated between them, the
 * nearest one's beyond them), shrunk toward 1 while those have few observations; an observed size's cost is its
 * own mean, blended with the fit until it has a few observations. A size the curve
 * underestimates is thus corrected after the steps that try it, and so are the untried sizes next to it.
 */
export class OnlineCost implements CostCurve {
  private readonly line: EwLineFit; // y on x = v(n)
  /** rows → exponentially weighted observation weight and sum of observed ms. */
  private readonly bySize = new Map<number, { w: number; sum: number }>();
  /** Observed sizes, ascending (rebuilt when a new size is seen). */
  private sizes: number[] = [];

  constructor(private readonly base: CostCurve, private readonly alpha = 0.05) {
    this.line = new EwLineFit(alpha);
  }

  observe(n: number, ms: number): void {
    if (!(n >= 1) || !Number.isFinite(ms)) return;
    this.line.observe(this.base.at(n), ms);
    const k = 1 - this.alpha;
    const s = this.bySize.get(n);
    if (s) {
      s.w = k * s.w + 1;
      s.sum = k * s.sum + ms;
    } else {
      this.bySize.set(n, { w: 1, sum: ms });
      this.sizes = [...this.bySize.keys()].sort((p, q) => p - q);
    }
  }

  /** Slope and intercept of the fit; slope 1 and the mean gap while the observed sizes barely differ. */
  fit(): { a: number; b: number } {
    if (this.line.empty) return { a: 1, b: 0 };
    const { mx, my, varX, cov } = this.line.moments();
    let a = 1;
    if (varX > 1e-4 * mx * mx) a = Math.min(4, Math.max(0.5, cov / varX));
    return { a, b: Math.max(0, my - a * mx) };
  }

  /** The fit alone, without the per-size correction. */
  fitAt(n: number): number {
    const { a, b } = this.fit();
    return a * this.base.at(n) + b;
  }

  at(n: number): number {
    const s = this.bySize.get(n);
    // An observed size: its own mean, blended with the fit until it has SIZE_PRIOR observations.
    if (s) return s.w >= SIZE_PRIOR ? s.sum / s.w : (s.sum + (SIZE_PRIOR - s.w) * this.fitAt(n)) / SIZE_PRIOR;
    return this.fitAt(n) * this.correction(n);
  }

  /** For a size not observed: the observed/fit ratio of the nearest observed sizes, interpolated, shrunk toward 1 by their weight. */
  correction(n: number): number {
    const sz = this.sizes;
    if (sz.length === 0) return 1;
    let hi = 0; // the first observed size ≥ n (binary search: a batcher sees hundreds of row counts)
    for (let top = sz.length; hi < top; ) {
      const mid = (hi + top) >> 1;
      if (sz[mid] < n) hi = mid + 1;
      else top = mid;
    }
    if (hi < sz.length && sz[hi] === n) return this.ratio(n);
    if (hi === 0) return this.ratio(sz[0]);
    if (hi === sz.length) return this.ratio(sz[sz.length - 1]);
    const lo = sz[hi - 1];
    const up = sz[hi];
    const t = (n - lo) / (up - lo);
    return (1 - t) * this.ratio(lo) + t * this.ratio(up);
  }

  private ratio(n: number): number {
    const s = this.bySize.get(n)!;
    const fit = this.fitAt(n);
    if (!(fit > 0)) return 1;
    const r = s.sum / s.w / fit;
    return 1 + ((r - 1) * Math.min(s.w, SIZE_PRIOR)) / SIZE_PRIOR;
  }
}

/** Observations after which a size's own mean alone is its cost (before: blended with the fit; weights saturate at 1/alpha = 20). */
const SIZE_PRIOR = 3;

const online = new WeakMap<ModelRunner, OnlineCost>();

/** The process-wide online cost curve of a runner (startup measurement, refined by every request's steps). */
export async function onlineCost(runner: ModelRunner): Promise<OnlineCost> {
  let c = online.get(runner);
  if (!c) {
    c = new OnlineCost(await verifyCostCurve(runner));
    online.set(runner, c);
  }
  return c;
}
