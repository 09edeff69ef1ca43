// The generation loop: prefill the prompt, then step until a stop. Each step runs the target once over
// the root (the last emitted token, not yet in the KV cache) and emits the next token(s).
import { errors } from '../common/errors.ts';
import type { ModelRunner } from '../model/runner.ts';
import { causalBias } from '../model/runner.ts';
import { Rng, randomSeed } from './rng.ts';
import { sampleToken, type SamplingParams } from './sampling.ts';
import type { SpeculationStats } from './stats.ts';
import { StopChecker, type FinishReason } from './stopping.ts';

export interface GenerateRequest {
  /** Prompt ids, including any BOS the tokenizer adds. At least one. */
  promptTokens: number[];
  maxTokens: number;
  sampling: SamplingParams;
  /** Defaults to the model's eos ids. */
  eosIds?: number[];
  stopSequences?: number[][];
  signal?: AbortSignal;
  /** Drafter names (see drafters/registry); empty or ['none'] = plain autoregressive. */
  drafters?: string[];
  /** Max draft nodes per step, or 'auto'. */
  treeBudget?: number | 'auto';
}

export interface GenerateTimings {
  prefill_ms: number;
  decode_ms: number;
  tokens_per_s: number;
}

export interface GenerateResult {
  tokens: number[];
  finishReason: FinishReason;
  timings: GenerateTimings;
  speculation?: SpeculationStats;
}

/** Called with each batch of newly emitted tokens (already past stop checks). */
export type OnTokens = (tokens: number[]) => void;

export async function generate(runner: ModelRunner, req: GenerateRequest, onTokens?: OnTokens): Promise<GenerateResult> {
  const prompt = req.promptTokens;
  if (prompt.length === 0) throw errors.invalidParam('the prompt has no tokens', 'prompt');
  if (!(req.maxTokens >= 1)) throw errors.invalidParam(`max_tokens must be at least 1, got ${req.maxTokens}`, 'max_tokens');
  if (prompt.length + req.maxTokens > runner.contextLength) {
    throw errors.contextOverflow(`prompt (${prompt.length} tokens) + max_tokens (${req.maxTokens}) = ${prompt.length + req.maxTokens} exceeds the context window of ${runner.contextLength} tokens`, 'max_tokens');
  }
  const rng = new Rng(req.sampling.seed ?? randomSeed());
  const stop = new StopChecker(req.eosIds ?? runner.spec.eosTokenIds, req.stopSequences ?? [], req.maxTokens);
  const scratch = new Float32Array(runner.vocab);
  const cache = runner.newCache();
  const out: number[] = [];

  const t0 = performance.now();
  if (prompt.length > 1) await runner.prefill(cache, prompt.slice(0, -1));
  const t1 = performance.now();

  let root = prompt[prompt.length - 1];
  let finish: FinishReason | null = null;
  while (finish === null) {
    if (req.signal?.aborted) {
      finish = 'cancelled';
      break;
    }
    const logits = await runner.forward(cache, [root], [cache.length], causalBias(1, cache.length));
    cache.commitAll();
    root = sampleToken(logits, 0, runner.vocab, req.sampling, rng, scratch);
    const before = out.length;
    finish = stop.push(out, root);
    if (onTokens && out.length > before) onTokens(out.slice(before));
  }
  const t2 = performance.now();
  const decodeMs = t2 - t1;
  return {
    tokens: out,
    finishReason: finish,
    timings: { prefill_ms: t1 - t0, decode_ms: decodeMs, tokens_per_s: decodeMs > 0 ? (out.length * 1000) / decodeMs : 0 },
  };
}
