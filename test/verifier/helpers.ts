// Test helpers for the verifier: rigged logits, per-trial tree builders and a chi-square goodness-of-fit check.
import { targetProbs, type SamplingParams } from '../../common/sampling.ts';

/** [rows.length, vocab] logits with +100 at rows[i] and -100 elsewhere (vLLM's rigged-logit tests). */
export function riggedLogits(rows: number[], vocab: number): Float32Array {
  const logits = new Float32Array(rows.length * vocab).fill(-100);
  rows.forEach((tok, i) => (logits[i * vocab + tok] = 100));
  return logits;
}

/** Copies `rowLogits` ([vocab] each) into one [numRows, vocab] buffer. */
export function stackRows(rowLogits: readonly Float32Array[], vocab: number, out = new Float32Array(rowLogits.length * vocab)): Float32Array {
  rowLogits.forEach((row, i) => out.set(row.subarray(0, vocab), i * vocab));
  return out;
}

export function probsOf(logits: Float32Array, vocab: number, params: SamplingParams): Float32Array {
  return targetProbs(logits, 0, vocab, params, new Float32Array(vocab));
}

// Upper 0.001 quantiles of χ² for df 1..10; larger df use the Wilson–Hilferty approximation (z = 3.0902).
const CRIT_001 = [10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588];

export function chiSquareCritical001(df: number): number {
  if (df <= CRIT_001.length) return CRIT_001[df - 1];
  const a = 2 / (9 * df);
  return df * (1 - a + 3.0902 * Math.sqrt(a)) ** 3;
}

export interface GoodnessOfFit {
  stat: number;
  df: number;
  critical: number;
  /** Observations in cells the target gives probability 0 (must be 0). */
  impossible: number;
}

/** Pearson χ² of `counts` against probabilities `probs` (cells with probability 0 are checked separately). */
export function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>, n: number): GoodnessOfFit {
  let stat = 0;
  let cells = 0;
  let impossible = 0;
  for (let i = 0; i < probs.length; i++) {
    const e = probs[i] * n;
    if (e > 0) {
      stat += (counts[i] - e) ** 2 / e;
      cells++;
    } else impossible += counts[i];
  }
  const df = cells - 1;
  return { stat, df, critical: chiSquareCritical001(df), impossible };
}
