// Picks k, the layers the `layerskip` drafter drafts with, at startup: measured acceptance × measured cost.
//
// Acceptance: the target writes CALIBRATION_TOKENS tokens greedily from its BOS; then one forward over that text
// per exit k gives the exit's argmax at every position, and α_k is how often it equals the target's own argmax
// there (the rate at which a greedy draft token is accepted; a layerskip draft's first k layers see exactly what
// the target's do, so the same holds along a drafted path). Cost: t_k, a one-token exit forward after a
// 64-token prefix, and the target's verify curve t_verify(n) (engine/verify-cost.ts).
// Score: the best chain of γ ≤ 8 drafts, E[tokens] / ms = (1 − α^(γ+1)) / (1 − α) / (γ·t_k + t_verify(γ + 1)).
// Measurements are kept on disk per compiled graph and thread count, like the verify curve.
import { argmax } from '../common/sampling.ts';
import type { Logger } from '../common/log.ts';
import { measuredOnce } from './measured.ts';
import { causalBias, type ModelRunner } from '../model/runner.ts';
import type { CostCurve } from '../trees/expander.ts';
import { verifyCostCurve } from './verify-cost.ts';

export const CALIBRATION_TOKENS = 96;
const PREFIX = 64;
const MAX_CHAIN = 8;

export interface ExitMeasurement {
  k: number;
  /** Greedy acceptance rate of one draft token. */
  alpha: number;
  /** One-token exit forward, ms. */
  draftMs: number;
}

export interface LayerChoice {
  k: number;
  /** Per exit: the measurement, its best chain length and expected tokens per ms. */
  scores: (ExitMeasurement & { chain: number; tokensPerMs: number })[];
  /** Plain decoding's tokens per ms, 1 / t_verify(1). */
  plainTokensPerMs: number;
}

/**
 * The best chain of at least one draft for acceptance α, draft cost and verify curve: its length and tokens per
 * ms (at least one, so an exit that never pays still ranks by what drafting with it costs).
 */
export function chainScore(alpha: number, draftMs: number, verify: CostCurve): { chain: number; tokensPerMs: number } {
  let best = { chain: 0, tokensPerMs: 0 };
  for (let g = 1; g <= MAX_CHAIN; g++) {
    const expected = alpha >= 1 ? g + 1 : (1 - alpha ** (g + 1)) / (1 - alpha);
    const rate = expected / (g * draftMs + verify.at(g + 1));
    if (rate > best.tokensPerMs) best = { chain: g, tokensPerMs: rate };
  }
  return best;
}

/** Scores every exit and picks the fastest (ties: fewer layers). */
export function pickLayers(measured: readonly ExitMeasurement[], verify: CostCurve): LayerChoice {
  const scores = measured.map((m) => ({ ...m, ...chainScore(m.alpha, m.draftMs, verify) }));
  let best = scores[0];
  for (const s of scores) if (s.tokensPerMs > best.tokensPerMs) best = s;
  return { k: best.k, scores, plainTokensPerMs: 1 / verify.at(1) };
}

/** Chooses k for this runner (its graph must have early exits), measuring once per graph and thread count. */
export async function chooseLayerskipLayers(runner: ModelRunner, log?: Logger): Promise<LayerChoice> {
  if (runner.earlyExits.length === 0) throw new Error('chooseLayerskipLayers: the runner has no early exits');
  const measured = await measuredOnce('layerskip', runner, () => measureExits(runner));
  const choice = pickLayers(measured, await verifyCostCurve(runner));
  log?.info({ layers: choice.k, of: runner.spec.numLayers, exits: choice.scores.map((s) => ({ k: s.k, alpha: +s.alpha.toFixed(3), draftMs: +s.draftMs.toFixed(3), chain: s.chain, speedup: +(s.tokensPerMs / choice.plainTokensPerMs).toFixed(2) })) }, `layerskip drafts with ${choice.k} of ${runner.spec.numLayers} layers (--layerskip-layers K to fix it)`);
  return choice;
}

/** α_k and t_k for every exit of the runner's graph. */
export async function measureExits(runner: ModelRunner): Promise<ExitMeasurement[]> {
  const V = runner.vocab;
  const n = Math.min(CALIBRATION_TOKENS, runner.contextLength - 1);
  // The target's own greedy text from its BOS (token 0 when it has none).
  const text = [runner.spec.bosTokenId ?? 0];
  const gen = runner.newCache();
  let logits = await runner.prefill(gen, text);
  while (text.length < n) {
    const next = argmax(logits, 0, V);
    text.push(next);
    logits = await runner.forward(gen, [next], [text.length - 1], causalBias(1, text.length - 1));
    gen.commitAll();
  }
  const positions = text.map((_, i) => i);
  const bias = causalBias(text.length, 0);
  const argmaxes = (l: Float32Array) => Array.from({ length: text.length }, (_, i) => argmax(l, i * V, V));
  const target = argmaxes(await runner.forward(runner.newCache(), text, positions, bias));

  const timing = runner.newCache();
  await runner.prefill(timing, text.slice(0, Math.min(PREFIX, text.length - 1)));
  const past = timing.length;
  const out: ExitMeasurement[] = [];
  for (const k of runner.earlyExits) {
    const draft = argmaxes(await runner.forwardExit(runner.newCache(), k, text, positions, bias));
    let hits = 0;
    for (let i = 0; i < text.length; i++) if (draft[i] === target[i]) hits++;
    const one = () => runner.forwardExit(timing, k, [text[past]], [past], causalBias(1, past));
    await one();
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < 5 || (performance.now() - t0 < 40 && times.length < 200)) {
      const s = performance.now();
      await one();
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    out.push({ k, alpha: hits / text.length, draftMs: times[times.length >> 1] });
  }
  return out;
}

/**
 * What loadEngine's `layerskip` option should be: the fixed K when --layerskip-layers gives one, 'auto' when
 * some configuration drafts with `layerskip`, else undefined (no early exits in the graph).
 */
export function layerskipSetting(drafterSpecs: readonly string[], layers?: number): number | 'auto' | undefined {
  if (layers !== undefined) return layers;
  return drafterSpecs.some((s) => s.split(/[+,]/).map((p) => p.trim()).includes('layerskip')) ? 'auto' : undefined;
}
