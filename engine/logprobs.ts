// Log-probabilities of emitted tokens under the target model (plain softmax of the logits, before temperature,
// top-k or top-p — what OpenAI's `logprobs` reports), with the k most likely alternatives.
import { sortedIndices } from './sampling.ts';

export interface TokenLogprob {
  logprob: number;
  /** The k most likely tokens at that position, most likely first. */
  top: { token: number; logprob: number }[];
}

/** For one row of logits [vocab] at `offset`: log p(token) and the top-k log-probabilities. */
export function tokenLogprob(logits: Float32Array, offset: number, vocab: number, token: number, k: number): TokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  const lse = max + Math.log(sum);
  const row = logits.subarray(offset, offset + vocab); // [vocab]
  const ids = k > 0 ? sortedIndices(row, vocab, Math.min(k, vocab)) : new Int32Array(0);
  return { logprob: row[token] - lse, top: Array.from(ids, (t) => ({ token: t, logprob: row[t] - lse })) };
}
