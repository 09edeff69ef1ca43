// Log-probabilities of emitted tokens under the target model (plain softmax of the logits, before temperature,
// top-k or top-p — what OpenAI's `logprobs` reports), with the k most likely alternatives.

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
  const ids: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < vocab && k > 0; i++) {
    const v = logits[offset + i];
    if (ids.length === k && v <= vals[k - 1]) continue;
    let j = Math.min(ids.length, k - 1);
    if (ids.length < k) {
      ids.push(i);
      vals.push(v);
    }
    while (j > 0 && vals[j - 1] < v) {
      ids[j] = ids[j - 1];
      vals[j] = vals[j - 1];
      j--;
    }
    ids[j] = i;
    vals[j] = v;
  }
  return { logprob: logits[offset + token] - lse, top: ids.map((t, j) => ({ token: t, logprob: vals[j] - lse })) };
}
