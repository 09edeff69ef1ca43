// Losslessness check (Spec-Bench's equal.py): every greedy output must equal the baseline's, token for token
// (or character for character when only text is known, e.g. over HTTP). A mismatch is a correctness bug.
import { BASELINE, configKey } from './configs.ts';
import type { LosslessCounts } from './metrics.ts';
import type { BenchConfig, LosslessMismatch, Sample } from './types.ts';

const SNIPPET = 40;

/**
 * Quantized graphs compute with int8 activations (MatMulNBits accuracy level 4, as llama.cpp's q8 dot products):
 * a row's logits then depend on the batch it ran in by ~1e-3 (tiny float differences flip an int8 rounding), and
 * the differences carry through the KV cache, so greedy decoding can part from the baseline where its top two
 * tokens are close. A mismatch where the baseline's top-2 probability gap is below this — the tolerance the
 * project uses against llama.cpp's own greedy runs — is reported as a near-tie, not as a speculation bug.
 */
export const NEAR_TIE_PROB_GAP = 0.05;

/** Mismatches that are not near-ties: these fail the run. */
export function realMismatches(mismatches: readonly LosslessMismatch[]): LosslessMismatch[] {
  return mismatches.filter((m) => !(m.tieGap !== undefined && m.tieGap < NEAR_TIE_PROB_GAP));
}

/**
 * In-process: scores each token mismatch by the baseline's top-2 probability gap at the first difference.
 * `gapAt(promptTokens, outputPrefix)` runs the baseline over prompt + prefix and returns that gap.
 */
export async function scoreNearTies(mismatches: LosslessMismatch[], samples: readonly Sample[], gapAt: (prompt: number[], prefix: number[]) => Promise<number>): Promise<void> {
  const baseKeys = new Set(samples.filter((s) => s.config.startsWith(`${BASELINE}|`) && s.config.includes('|T=0|')).map((s) => s.config));
  for (const m of mismatches) {
    const ref = samples.find((s) => baseKeys.has(s.config) && s.itemId === m.itemId && s.turn === m.turn && s.outputTokens && s.promptTokens);
    if (!ref?.outputTokens || !ref.promptTokens || m.at >= ref.outputTokens.length) continue;
    m.tieGap = await gapAt(ref.promptTokens, ref.outputTokens.slice(0, m.at));
  }
}

function firstDiff<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function snippet(s: Sample, at: number): string {
  if (s.outputTokens) return `[${s.outputTokens.slice(Math.max(0, at - 2), at + 8).join(',')}] "${s.output.slice(0, SNIPPET)}"`;
  return JSON.stringify(s.output.slice(Math.max(0, at - 10), at + SNIPPET));
}

/**
 * Compares every greedy (temperature 0) sample, the baseline's own repeats included, against the first
 * baseline sample of the same item and turn. Returns per-config counts and the mismatches. A later turn of a
 * conversation whose earlier turn already differed is not compared: its history holds its own earlier output,
 * so its prompt is not the baseline's (the earlier difference carries the verdict, near-tie or not).
 */
export function checkLossless(samples: readonly Sample[], configs: readonly BenchConfig[]): LosslessCounts & { mismatches: LosslessMismatch[] } {
  const greedy = new Set(configs.filter((c) => c.temperature === 0).map(configKey));
  const baseKeys = new Set(configs.filter((c) => c.temperature === 0 && c.drafters === BASELINE).map(configKey));
  // Constrained and free output are compared with their own baseline.
  const constrained = new Set(configs.filter((c) => c.constrained).map(configKey));
  const refId = (s: Sample) => `${s.itemId}#${s.turn}#${constrained.has(s.config)}`;
  const reference = new Map<string, Sample>();
  for (const s of samples) {
    const id = refId(s);
    if (baseKeys.has(s.config) && !reference.has(id)) reference.set(id, s);
  }
  const checked = new Map<string, number>();
  const mismatched = new Map<string, number>();
  const nearTies = new Map<string, number>();
  const mismatches: LosslessMismatch[] = [];
  const parted = new Set<string>(); // config#item#repeat whose conversation already differed
  const conversation = (s: Sample) => `${s.config}#${s.itemId}#${s.repeat}`;
  for (const s of [...samples].sort((a, b) => a.turn - b.turn)) {
    if (!greedy.has(s.config)) continue;
    const ref = reference.get(refId(s));
    if (!ref || ref === s || parted.has(conversation(s))) continue;
    checked.set(s.config, (checked.get(s.config) ?? 0) + 1);
    const at = ref.outputTokens && s.outputTokens ? firstDiff(ref.outputTokens, s.outputTokens) : firstDiff(ref.output, s.output);
    if (at < 0) continue;
    parted.add(conversation(s));
    mismatched.set(s.config, (mismatched.get(s.config) ?? 0) + 1);
    mismatches.push({ config: s.config, itemId: s.itemId, turn: s.turn, repeat: s.repeat, at, expected: snippet(ref, at), got: snippet(s, at) });
  }
  return { checked, mismatched, nearTies, mismatches };
}

/** Moves near-tie mismatches from `mismatched` to `nearTies` (after scoreNearTies). */
export function countNearTies(counts: LosslessCounts, mismatches: readonly LosslessMismatch[]): void {
  for (const m of mismatches) {
    if (m.tieGap === undefined || m.tieGap >= NEAR_TIE_PROB_GAP) continue;
    counts.mismatched.set(m.config, (counts.mismatched.get(m.config) ?? 1) - 1);
    counts.nearTies.set(m.config, (counts.nearTies.get(m.config) ?? 0) + 1);
  }
}

/** The loud stderr block; empty string when everything matched. */
export function formatMismatches(all: readonly LosslessMismatch[], labels: Map<string, string>): string {
  const mismatches = realMismatches(all);
  if (mismatches.length === 0) return '';
  const lines = [
    '',
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    `!!! LOSSLESSNESS FAILURE: ${mismatches.length} greedy output(s) differ from the baseline (${BASELINE})`,
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  ];
  for (const m of mismatches.slice(0, 20)) {
    lines.push(`  ${labels.get(m.config) ?? m.config}  item ${m.itemId} turn ${m.turn} repeat ${m.repeat}: first difference at ${m.at}`);
    lines.push(`    expected ${m.expected}`);
    lines.push(`    got      ${m.got}${m.tieGap !== undefined ? ` (baseline's top-2 probability gap there: ${m.tieGap.toFixed(4)})` : ''}`);
  }
  if (mismatches.length > 20) lines.push(`  … and ${mismatches.length - 20} more (see results.jsonl)`);
  return `${lines.join('\n')}\n\n`;
}
