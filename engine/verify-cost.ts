// Measures t_verify(n), the time of one target forward over n tokens, on this machine, once per model
// (cached on disk by compiled-graph key and thread count). The expander sizes trees against it.
import { causalBias, type ModelRunner } from '../model/runner.ts';
import { piecewiseCost, type CostCurve } from '../trees/expander.ts';
import { measuredOnce } from './measured.ts';
import { EwLineFit } from '../common/ew-fit.ts';

export const COST_SIZES = [1, 2, 4, 8, 12, 16, 24, 32, 48, 65];
/** Measuring stops adding sizes past this much time (a big model's large forwards are extrapolated). */
const MEASURE_BUDGET_MS = 5000;
const PREFIX = 64;

export interface CostPoint {
  n: number;
  ms: number;
}

const memo = new WeakMap<ModelRunner, CostCurve>();

export async function verifyCostCurve(runner: ModelRunner): Promise<CostCurve> {
  const hit = memo.get(runner);
  if (hit) return hit;
  const points = await measuredOnce('verify-cost', runner, () => measureVerifyCost(runner));
  const curve = piecewiseCost(points);
  memo.set(runner, curve);
  return curve;
}

/**
 * Median forward time per size over a committed prefix, each size in its own block of runs (~40 ms or at least
 * 3), as a decoding loop with a steady tree size sees it; at most ~5 s in all (sizes left out are extrapolated).
 * The result is made non-decreasing in n; what steps really cost refines it online (OnlineCost).
 */
export async function measureVerifyCost(runner: ModelRunner, sizes = COST_SIZES): Promise<CostPoint[]> {
  const cap = Math.min(runner.maxTreeRows, runner.contextLength - PREFIX);
  const cache = runner.newCache();
  await runner.prefill(cache, Array.from({ length: PREFIX }, (_, i) => (i * 31 + 7) % runner.vocab));
  const inputs = sizes.filter((s) => s <= cap).map((n) => {
    const tokens = Array.from({ length: n }, (_, i) => (i * 17 + 3) % runner.vocab);
    return { n, tokens, positions: tokens.map((_, i) => PREFIX + i), bias: causalBias(n, PREFIX) };
  });
  // Warm-up: a fresh process pays for JIT, page faults and arena growth on its first forwards.
  const start = performance.now();
  for (let pass = 0; pass < 2; pass++) {
    for (const x of inputs) {
      await runner.forward(cache, x.tokens, x.positions, x.bias);
      if (performance.now() - start > MEASURE_BUDGET_MS / 2) break;
    }
  }
  const points: CostPoint[] = [];
  let floor = 0;
  for (const { n, tokens, positions, bias } of inputs) {
    if (points.length >= 2 && performance.now() - start > MEASURE_BUDGET_MS) break;
    await runner.forward(cache, tokens, positions, bias); // back to this shape
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < 3 || (performance.now() - t0 < 40 && times.length < 200)) {
      const s = performance.now();
      await runner.forward(cache, tokens, positions, bias);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    floor = Math.max(floor, times[times.length >> 1]);
    points.push({ n, ms: floor });
  }
  return points;
}

/**
 * What a step over n tokens costs past drafting (verify + observe; drafting is engine/draft-cost.ts), learned
 * online: the startup verify curve v(n) gives the shape, and a running least-squares fit of observed times
 * y ≈ a·v(n) + b (exponentially weighted) adds what the curve does not see: verifying, observing, the event loop. Sizes never tried still get
 * a sensible cost, because the fit is shared across sizes.
 */
export class OnlineCost implements CostCurve {
  private readonly line: EwLineFit; // y on x = v(n)

  constructor(private readonly base: CostCurve, alpha = 0.05) {
    this.line = new EwLineFit(alpha);
  }

  observe(n: number, ms: number): void {
    if (!(n >= 1) || !Number.isFinite(ms)) return;
    this.line.observe(this.base.at(n), ms);
  }

  /** Slope and intercept of the fit; slope 1 and the mean gap while the observed sizes barely differ. */
  fit(): { a: number; b: number } {
    if (this.line.empty) return { a: 1, b: 0 };
    const { mx, my, varX, cov } = this.line.moments();
    let a = 1;
    if (varX > 1e-4 * mx * mx) a = Math.min(4, Math.max(0.5, cov / varX));
    return { a, b: Math.max(0, my - a * mx) };
  }

  at(n: number): number {
    const { a, b } = this.fit();
    return a * this.base.at(n) + b;
  }
}

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
