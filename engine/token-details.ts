// Per-token detail (the `token_details` request option): for each emitted token, its log-probability, the
// entropy and top-2 margin of the target distribution at its position, the top alternatives, which drafters
// proposed it and at what depth, and the step that emitted it. Everything but provenance and the step comes
// from the target's logits row at the token's node (after logit_bias and penalties, before temperature,
// top-k or top-p — the same row engine/logprobs.ts reads), so it does not depend on speculation.
import { sortedIndices } from '../common/sampling.ts';
import type { DraftTree } from '../trees/draft-tree.ts';

/** Alternatives reported per token. */
export const DETAIL_TOP_K = 5;

/** 'bonus': the target produced the token itself (after the accepted drafts, or with no drafts at all). */
export type Provenance = { drafters: string[]; depth: number } | 'bonus';

export interface RowStats {
  /** log p(token), natural log. */
  logprob: number;
  /** -Σ p log p over the row, in nats. */
  entropy: number;
  /** Top-1 minus top-2 log-probability (≥ 0). */
  margin: number;
  /** The DETAIL_TOP_K most likely tokens, most likely first (ties by lower id). */
  top: { token: number; logprob: number }[];
}

export interface TokenDetail extends RowStats {
  provenance: Provenance;
  /** 1-based step of the request that emitted the token. */
  step: number;
  /** Draft nodes verified in that step (root excluded), and the deepest one's depth. */
  treeSize: number;
  treeDepth: number;
}

/**
 * One logits row [vocab] at `offset`: two passes (the top k, whose first is the max; then Σe and Σe·x).
 * H = log Σe^(x-m) - Σe^(x-m)(x-m) / Σe^(x-m); logprob = x_token - m - log Σe^(x-m).
 */
export function rowStats(logits: Float32Array, offset: number, vocab: number, token: number, k = DETAIL_TOP_K): RowStats {
  const row = logits.subarray(offset, offset + vocab); // [vocab]
  const idx = sortedIndices(row, vocab, Math.min(k, vocab)); // the top k, best first: idx[0] is the max
  const max = row[idx[0]];
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < vocab; i++) {
    const d = row[i] - max;
    // e^-40 < 5e-18: together such tokens move Σe and Σe·x by under 1e-12 relative at any vocabulary size,
    // and skipping the exp makes a peaked row (most of a trained model's) several times cheaper. Also -∞ logits.
    if (d < -40) continue;
    const e = Math.exp(d);
    sum += e;
    weighted += e * d;
  }
  const logSum = Math.log(sum);
  const lse = max + logSum;
  const top: RowStats['top'] = [];
  for (let j = 0; j < idx.length; j++) if (idx[j] >= 0) top.push({ token: idx[j], logprob: row[idx[j]] - lse });
  return {
    logprob: row[token] - lse,
    entropy: Math.max(0, logSum - weighted / sum),
    margin: top.length > 1 ? top[0].logprob - top[1].logprob : 0,
    top,
  };
}

/**
 * One step's details. tree: the verified tree; acceptedNodes: the accepted path, root first; tokens: the emitted
 * tokens (token i was predicted at node acceptedNodes[i], and for i < last it is node acceptedNodes[i + 1]);
 * names: drafter id → name; logits: [numNodes, vocab].
 */
export function stepDetails(tree: DraftTree, acceptedNodes: readonly number[], tokens: readonly number[], logits: Float32Array, vocab: number, names: ReadonlyMap<number, string>, step: number): TokenDetail[] {
  let treeDepth = 0;
  for (let i = 1; i < tree.numNodes; i++) treeDepth = Math.max(treeDepth, tree.depths[i]);
  return tokens.map((tok, i) => {
    const node = i + 1 < acceptedNodes.length ? acceptedNodes[i + 1] : -1;
    const provenance: Provenance = node < 0 ? 'bonus' : { drafters: drafterNames(tree.sources[node], names), depth: tree.depths[node] };
    const r = rowStats(logits, acceptedNodes[i] * vocab, vocab, tok);
    return { logprob: r.logprob, entropy: r.entropy, margin: r.margin, top: r.top, provenance, step, treeSize: tree.numNodes - 1, treeDepth };
  });
}

function drafterNames(mask: number, names: ReadonlyMap<number, string>): string[] {
  const out: string[] = [];
  for (const [id, name] of names) if (mask & (1 << id)) out.push(name);
  return out;
}

/** A completion's scores from its tokens' details (LM-Polygraph's sequence-level uncertainty measures). */
export interface SequenceScores {
  /** (1/N) Σ H_i, nats. */
  mean_entropy: number;
  /** exp(-(1/N) Σ log p_i). */
  perplexity: number;
  /** Σ log p_i: the log-probability of the whole completion. */
  sequence_logprob: number;
  /** exp(Σ log p_i) = Π p_i: the probability of the completion (MSP; 1 - this is its uncertainty). */
  max_sequence_probability: number;
}

/** Scores of N ≥ 0 tokens; with none, entropy 0, perplexity 1, probability 1. */
export function sequenceScores(details: readonly { logprob: number; entropy: number }[]): SequenceScores {
  const n = details.length;
  let lp = 0;
  let h = 0;
  for (const d of details) {
    lp += d.logprob;
    h += d.entropy;
  }
  return { mean_entropy: n ? h / n : 0, perplexity: n ? Math.exp(-lp / n) : 1, sequence_logprob: lp, max_sequence_probability: Math.exp(lp) };
}
