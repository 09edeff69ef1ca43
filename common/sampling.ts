// Logits → token: greedy argmax, and the target distribution under temperature / top-k / top-p.
// The same `targetProbs` is what the speculative verifier compares draft tokens against,
// so plain sampling and speculative sampling share one definition of "the target distribution".
import { Rng } from './rng.ts';

export interface SamplingParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** 0 means no top-k cut. */
  topK: number;
  /** 1 means no nucleus cut. */
  topP: number;
  seed?: number;
  /**
   * With a seed, sampling is reproducible by default: each output position is one seeded draw, so the same
   * seed gives the same text with any drafter or tree (verifier/coupled.ts). false selects rules S and D,
   * which accept more draft tokens but whose outcome depends on the tree.
   */
  reproducible?: boolean;
  /**
   * Added to the target's logits at every position before anything else (OpenAI's logit_bias): the same
   * for every tree node, so speculation stays lossless. [token, bias] pairs.
   */
  logitBias?: readonly (readonly [number, number])[];
  /**
   * OpenAI's penalties on generated tokens: logit −= presence·[count > 0] + frequency·count, where count is
   * how often the token was generated so far — along each tree node's own path, so speculation stays lossless.
   */
  presencePenalty?: number;
  frequencyPenalty?: number;
}

export const GREEDY: SamplingParams = Object.freeze({ temperature: 0, topK: 0, topP: 1 });

export function isGreedy(p: SamplingParams): boolean {
  return p.temperature <= 0;
}

/** Index of the largest value in logits[offset, offset+vocab); ties go to the lowest index. */
export function argmax(logits: Float32Array, offset = 0, vocab = logits.length - offset): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < vocab; i++) {
    const v = logits[offset + i];
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/**
 * Writes into `out` ([vocab]) the target distribution for one row of logits:
 * softmax(logits / T), restricted to the top-k tokens, then to the smallest set whose mass reaches top-p,
 * renormalised. Under greedy params it is the one-hot of the argmax.
 */
export function targetProbs(logits: Float32Array, offset: number, vocab: number, p: SamplingParams, out: Float32Array): Float32Array {
  if (isGreedy(p)) {
    out.fill(0, 0, vocab);
    out[argmax(logits, offset, vocab)] = 1;
    return out;
  }
  const invT = 1 / p.temperature;
  let maxV = -Infinity;
  for (let i = 0; i < vocab; i++) maxV = Math.max(maxV, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    const e = Math.exp((logits[offset + i] - maxV) * invT);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < vocab; i++) out[i] /= sum;
  const k = p.topK > 0 && p.topK < vocab ? p.topK : vocab;
  if (k === vocab && p.topP >= 1) return out;

  // Candidates in descending probability (ties: lower id first), cut by top-k then top-p.
  const order = k < vocab ? sortedIndices(out, vocab, k) : nucleusCandidates(out, vocab, p.topP);
  let keep = order.length;
  if (p.topP < 1) {
    let mass = 0;
    for (let j = 0; j < order.length; j++) {
      mass += out[order[j]];
      if (mass >= p.topP) {
        keep = j + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let j = 0; j < keep; j++) kept += out[order[j]];
  const probsKept = new Float64Array(keep);
  for (let j = 0; j < keep; j++) probsKept[j] = out[order[j]] / kept;
  out.fill(0, 0, vocab);
  for (let j = 0; j < keep; j++) out[order[j]] = probsKept[j];
  return out;
}

/**
 * The tokens that can be in the top-p nucleus, sorted, without sorting the whole vocabulary: the tokens with
 * probability ≥ t hold the nucleus as soon as their mass reaches topP (every token left out is smaller than
 * every one kept). t starts at max·1e-3 and drops by 1000× until that holds. [≤ vocab]
 */
function nucleusCandidates(probs: Float32Array, vocab: number, topP: number): Int32Array {
  let max = 0;
  for (let i = 0; i < vocab; i++) if (probs[i] > max) max = probs[i];
  for (let t = max * 1e-3; t > 0; t *= 1e-3) {
    let mass = 0;
    let count = 0;
    for (let i = 0; i < vocab; i++) {
      if (probs[i] >= t) {
        mass += probs[i];
        count++;
      }
    }
    if (mass < topP && count < vocab) continue;
    const idx = new Int32Array(count);
    for (let i = 0, j = 0; i < vocab; i++) if (probs[i] >= t) idx[j++] = i;
    return idx.sort((a, b) => probs[b] - probs[a] || a - b);
  }
  return sortedIndices(probs, vocab, vocab);
}

/** Indices of the `k` largest entries of probs[0, vocab), largest first, ties by lower index. */
export function sortedIndices(probs: Float32Array, vocab: number, k: number): Int32Array {
  if (k >= vocab) {
    const all = Int32Array.from({ length: vocab }, (_, i) => i);
    return all.sort((a, b) => probs[b] - probs[a] || a - b);
  }
  // Partial selection: keep a sorted buffer of the best k (k is small in practice).
  const idx = new Int32Array(k).fill(-1);
  const val = new Float32Array(k).fill(-Infinity);
  for (let i = 0; i < vocab; i++) {
    const v = probs[i];
    if (v <= val[k - 1]) continue;
    let j = k - 1;
    while (j > 0 && val[j - 1] < v) {
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
  return idx;
}

/** Draws one index from a normalised distribution probs[0, vocab). */
export function sampleFrom(probs: Float32Array, vocab: number, rng: Rng): number {
  const u = rng.next();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < vocab; i++) {
    const q = probs[i];
    if (q <= 0) continue;
    acc += q;
    last = i;
    if (u < acc) return i;
  }
  return last; // rounding: u landed past the accumulated mass
}
