// Measures t_verify(n), the time of one target forward over n tokens, on this machine, once per model
// (cached on disk by compiled-graph key and thread count). The expander sizes trees against it.
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../model/compile.ts';
import { causalBias, type ModelRunner } from '../model/runner.ts';
import { piecewiseCost, type CostCurve } from '../trees/expander.ts';

export const COST_SIZES = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128];
const PREFIX = 64;

export interface CostPoint {
  n: number;
  ms: number;
}

const memo = new WeakMap<ModelRunner, CostCurve>();

export async function verifyCostCurve(runner: ModelRunner, threads = 1): Promise<CostCurve> {
  const hit = memo.get(runner);
  if (hit) return hit;
  const file = path.join(cacheRoot(), 'verify-cost', `${path.basename(path.dirname(runner.compileInfo.modelPath))}-t${threads}.json`);
  let points: CostPoint[] | null;
  try {
    points = JSON.parse(fs.readFileSync(file, 'utf8')).points;
  } catch {
    points = null;
  }
  if (!points) {
    points = await measureVerifyCost(runner);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify({ measured: new Date().toISOString(), points }));
    } catch {
      // NOTE: a read-only cache only costs a re-measurement next start.
    }
  }
  const curve = piecewiseCost(points);
  memo.set(runner, curve);
  return curve;
}

/** Median forward time per size over a committed prefix; each size gets ~100 ms or at least 3 runs. */
export async function measureVerifyCost(runner: ModelRunner, sizes = COST_SIZES): Promise<CostPoint[]> {
  const cap = Math.min(runner.maxTreeRows, runner.contextLength - PREFIX);
  const cache = runner.newCache();
  await runner.prefill(cache, Array.from({ length: PREFIX }, (_, i) => (i * 31 + 7) % runner.vocab));
  const points: CostPoint[] = [];
  for (const n of sizes.filter((s) => s <= cap)) {
    const tokens = Array.from({ length: n }, (_, i) => (i * 17 + 3) % runner.vocab);
    const positions = tokens.map((_, i) => PREFIX + i);
    const bias = causalBias(n, PREFIX);
    const times: number[] = [];
    const t0 = performance.now();
    await runner.forward(cache, tokens, positions, bias); // warm-up
    while (times.length < 3 || (performance.now() - t0 < 100 && times.length < 50)) {
      const s = performance.now();
      await runner.forward(cache, tokens, positions, bias);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    points.push({ n, ms: times[times.length >> 1] });
  }
  return points;
}
