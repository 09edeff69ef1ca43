// Log-probabilities of emitted tokens under the target model (plain softmax of the logits, before temperature,
// top-k or top-p — what OpenAI's `logprobs` reports), with the k most likely alternatives.
import { causalBias, type ModelRunner } from '../model/runner.ts';
import { rowStats } from './token-details.ts';

export interface TokenLogprob {
  logprob: number;
  /** The k most likely tokens at that position, most likely first. */
  top: { token: number; logprob: number }[];
}

/** For one row of logits [vocab] at `offset`: log p(token) and the top-k log-probabilities (token details' row pass). */
export function tokenLogprob(logits: Float32Array, offset: number, vocab: number, token: number, k: number): TokenLogprob {
  const { logprob, top } = rowStats(logits, offset, vocab, token, Math.max(1, k)); // its top 1 is the max it needs
  return { logprob, top: top.slice(0, k) };
}

/**
 * Log-probabilities of a prompt's own tokens (for `echo` with `logprobs`, as evaluation harnesses score text):
 * entry i is log p(tokens[i] | tokens[0..i)); the first token has no context, so its entry is null.
 * Runs the prompt through a cache of its own, in chunks, keeping every row's logits.
 */
export async function promptLogprobs(runner: ModelRunner, tokens: readonly number[], k: number, chunk = 256): Promise<(TokenLogprob | null)[]> {
  const out: (TokenLogprob | null)[] = [null];
  const cache = runner.newCache();
  const vocab = runner.vocab;
  for (let s = 0; s < tokens.length - 1; s += chunk) {
    const part = tokens.slice(s, Math.min(tokens.length - 1, s + chunk));
    const positions = part.map((_, i) => cache.length + i);
    const logits = await runner.forward(cache, part, positions, causalBias(part.length, cache.length)); // [part, vocab]
    cache.commitAll();
    for (let i = 0; i < part.length; i++) out.push(tokenLogprob(logits, i * vocab, vocab, tokens[s + i + 1], k));
  }
  return out.slice(0, tokens.length);
}
