// The generation loop: prefill the prompt, then step until a stop. Each step runs the target once over
// the root (the last emitted token, not yet in the KV cache) and emits the next token(s).
import { errors } from '../common/errors.ts';
import type { ModelRunner } from '../model/runner.ts';
import type { KvCache } from '../model/kv-cache.ts';
import type { Datastore } from '../drafters/datastore.ts';
import type { AdjacencyMatrix } from '../drafters/recycling.ts';
import type { SuffixCache } from '../drafters/suffix-cache.ts';
import { createDrafters, parseDrafters } from '../drafters/registry.ts';
import { Rng, randomSeed } from '../common/rng.ts';
import { isGreedy, type SamplingParams } from '../common/sampling.ts';
import { speculativeStep, type SpecState } from './speculative-step.ts';
import { StatsRecorder, type SpeculationStats } from './stats.ts';
import { sharedCalibration } from './calibration.ts';
import { onlineCost } from './verify-cost.ts';
import { DraftCost } from './draft-cost.ts';
import type { TokenLogprob } from './logprobs.ts';
import type { TokenDetail } from './token-details.ts';
import { sharedGate } from './drafter-gate.ts';
import { StopChecker, type FinishReason } from './stopping.ts';
import type { BatchSlot } from './batcher.ts';
import type { PrefixCache } from './prefix-cache.ts';
import { TreeConstraint, type ConstraintRequest } from './constraint.ts';

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
  /** Max draft nodes per step, or 'auto' (the default): the expander sizes every step's tree. */
  treeBudget?: number | 'auto';
  /** Hard cap on draft nodes per step (also bounds 'auto'). */
  maxTreeTokens?: number;
  /** Return each generated token's log-probability and this many most likely alternatives (0–20). */
  logprobs?: number;
  /** Continuous batching (engine/batcher.ts): this generation's forwards run together with the others'. */
  batch?: BatchSlot;
  /** Return each generated token's details (engine/token-details.ts: entropy, margin, top-5, provenance, step). */
  tokenDetails?: boolean;
  /**
   * The model's prefix cache (shared across requests): the longest cached prefix of the prompt is copied
   * in instead of prefilled, and the prompt's and output's blocks are cached for later requests.
   */
  prefixCache?: PrefixCache;
  /** Structured output: the output follows this grammar, speculation left on (engine/constraint.ts). */
  constraint?: ConstraintRequest;
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
  /** Per generated token, when the request asked for logprobs. */
  logprobs?: TokenLogprob[];
  /** Per generated token, when the request asked for token details. */
  tokenDetails?: TokenDetail[];
  /** Prompt tokens whose KV came from the prefix cache (set when the request passed one). */
  cachedTokens?: number;
}

/** Called with each batch of newly emitted tokens (already past stop checks). */
export type OnTokens = (tokens: number[], logprobs?: TokenLogprob[], details?: TokenDetail[]) => void;

/** Hard cap on an 'auto' tree unless the request sets max_tree_tokens. */
export const DEFAULT_MAX_TREE_TOKENS = 64;

/** Process-wide resources some drafters need. */
export interface EngineResources {
  /** The draft model for the `draft` drafter. */
  draft?: ModelRunner;
  /** Layers the `layerskip` drafter drafts with (the runner's graph has early exits; engine/layerskip-layers.ts). */
  layerskipLayers?: number;
  /** The token datastore for the `retrieval` drafter. */
  datastore?: Datastore;
  /** Cross-request drafter state (default: the process-wide one per model; the bench isolates configurations). */
  recyclingMatrix?: AdjacencyMatrix;
  suffixCache?: SuffixCache;
}

export async function generate(runner: ModelRunner, req: GenerateRequest, onTokens?: OnTokens, resources: EngineResources = {}): Promise<GenerateResult> {
  const prompt = req.promptTokens;
  if (prompt.length === 0) throw errors.invalidParam('the prompt has no tokens', 'prompt');
  if (!(req.maxTokens >= 1)) throw errors.invalidParam(`max_tokens must be at least 1, got ${req.maxTokens}`, 'max_tokens');
  if (prompt.length + req.maxTokens > runner.contextLength) {
    throw errors.contextOverflow(`prompt (${prompt.length} tokens) + max_tokens (${req.maxTokens}) = ${prompt.length + req.maxTokens} exceeds the context window of ${runner.contextLength} tokens`, 'max_tokens');
  }
  const budget = req.treeBudget ?? 'auto';
  const maxRows = runner.maxTreeRows - 1;
  if (budget !== 'auto' && (!Number.isInteger(budget) || budget < 0 || budget > maxRows)) {
    throw errors.invalidParam(`tree budget ${budget} must be 'auto' or an integer in [0, ${maxRows}]`, 'tree_budget');
  }
  const hardCap = req.maxTreeTokens ?? (budget === 'auto' ? DEFAULT_MAX_TREE_TOKENS : maxRows);
  if (!Number.isInteger(hardCap) || hardCap < 0 || hardCap > maxRows) {
    throw errors.invalidParam(`max_tree_tokens ${hardCap} must be an integer in [0, ${maxRows}]`, 'max_tree_tokens');
  }
  if (req.logprobs !== undefined && !(Number.isInteger(req.logprobs) && req.logprobs >= 0 && req.logprobs <= 20)) {
    throw errors.invalidParam(`logprobs ${req.logprobs} must be an integer in [0, 20]`, 'logprobs');
  }
  for (const [token, b] of req.sampling.logitBias ?? []) {
    if (!(Number.isInteger(token) && token >= 0 && token < runner.vocab) || !Number.isFinite(b)) {
      throw errors.invalidParam(`logit_bias: token ${token} must be an id in [0, ${runner.vocab}) with a finite bias, got ${b}`, 'logit_bias');
    }
  }
  const names = parseDrafters(req.drafters);
  const seed = req.sampling.seed ?? randomSeed();
  const drafters = createDrafters(names, {
    modelKey: runner.compileInfo.modelPath,
    vocab: runner.vocab,
    draftRunner: resources.draft,
    targetRunner: runner,
    layerskipLayers: resources.layerskipLayers,
    datastore: resources.datastore,
    recyclingMatrix: resources.recyclingMatrix,
    suffixCache: resources.suffixCache,
    sampling: req.sampling,
    seed,
  });
  const ids = new Map(drafters.map((d) => [d.id, d.name]));
  const eosIds = req.eosIds ?? runner.spec.eosTokenIds;
  const stop = new StopChecker(eosIds, req.stopSequences ?? [], req.maxTokens);
  const lazyMask = isGreedy(req.sampling) && req.logprobs === undefined && !req.tokenDetails;
  const constraint = req.constraint && (await TreeConstraint.create(req.constraint, runner.vocab, eosIds.length ? eosIds : runner.spec.eosTokenIds, lazyMask));
  const state: SpecState = {
    runner,
    cache: runner.newCache(),
    drafters,
    drafterNames: ids,
    context: [...prompt],
    sampling: req.sampling,
    rng: new Rng(seed),
    budget,
    hardCap,
    cost: budget === 'auto' && names.length > 0 ? await onlineCost(runner) : undefined,
    draftCost: budget === 'auto' && names.length > 0 ? new DraftCost() : undefined,
    sizeEma: 8,
    lastSize: 8,
    gate: sharedGate(`${runner.compileInfo.modelPath}|${[...names].sort().join('+')}`),
    calibration: sharedCalibration(runner.compileInfo.modelPath),
    stats: new StatsRecorder(ids, budget),
    biasScratch: new Float32Array(0),
    logprobs: req.logprobs,
    tokenDetails: req.tokenDetails,
    generatedCounts: new Map(),
    batch: req.batch,
    constraint,
  };
  const out: number[] = [];
  const outLogprobs: TokenLogprob[] = []; // parallel to out when logprobs are asked for
  const outDetails: TokenDetail[] = []; // parallel to out when token details are asked for

  try {
    for (const d of drafters) d.begin(prompt);
    const t0 = performance.now();
    const pc = req.prefixCache;
    const cachedTokens = pc ? reusePrefix(pc, prompt, state.cache) : 0;
    // The last prompt token is the first step's root: its KV is computed by that step.
    if (prompt.length - 1 > cachedTokens) await (req.batch ?? runner).prefill(state.cache, prompt.slice(cachedTokens, -1));
    // Cached now, so requests that start while this one decodes share its prompt too.
    pc?.insert(prompt, state.cache);
    const t1 = performance.now();

    let finish: FinishReason | null = null;
    while (finish === null) {
      if (req.signal?.aborted) {
        finish = 'cancelled';
        break;
      }
      const left = req.maxTokens - out.length;
      const maxDepth = Math.min(left - 1, runner.contextLength - 1 - state.cache.length);
      const step = await speculativeStep(state, maxDepth);
      const before = out.length;
      for (let i = 0; i < step.tokens.length; i++) {
        state.context.push(step.tokens[i]);
        state.generatedCounts.set(step.tokens[i], (state.generatedCounts.get(step.tokens[i]) ?? 0) + 1);
        const had = out.length;
        finish = stop.push(out, step.tokens[i]);
        if (step.logprobs && out.length > had) outLogprobs.push(step.logprobs[i]);
        if (step.details && out.length > had) outDetails.push(step.details[i]);
        outLogprobs.length = Math.min(outLogprobs.length, out.length); // a matched stop sequence is cut from both
        outDetails.length = Math.min(outDetails.length, out.length);
        if (finish) break;
      }
      if (constraint?.terminated) finish ??= 'stop'; // the grammar took a stop token: nothing may follow
      if (onTokens && out.length > before) onTokens(out.slice(before), step.logprobs ? outLogprobs.slice(before) : undefined, step.details ? outDetails.slice(before) : undefined);
    }
    // The output's blocks too: the next turn of a conversation starts with them.
    pc?.insert(state.context, state.cache);
    const decodeMs = performance.now() - t1;
    return {
      tokens: out,
      finishReason: finish,
      timings: { prefill_ms: t1 - t0, decode_ms: decodeMs, tokens_per_s: decodeMs > 0 ? (out.length * 1000) / decodeMs : 0 },
      speculation: { ...state.stats.finish(), drafters: names.length ? names : ['none'], ...(constraint ? { constraint: constraint.stats } : {}) },
      ...(req.logprobs !== undefined ? { logprobs: outLogprobs } : {}),
      ...(req.tokenDetails ? { tokenDetails: outDetails } : {}),
      ...(pc ? { cachedTokens } : {}),
    };
  } finally {
    for (const d of drafters) d.finish?.(state.context);
    for (const d of drafters) d.dispose();
    constraint?.dispose();
  }
}

/** Copies the longest cached prefix of the prompt into a fresh cache; returns its length in tokens. */
function reusePrefix(pc: PrefixCache, prompt: number[], cache: KvCache): number {
  if (pc.numLayers !== cache.numLayers || pc.rowSize !== cache.rowSize) {
    throw errors.internal(`prefix cache rows (${pc.numLayers} layers × ${pc.rowSize}) do not fit this model's cache (${cache.numLayers} × ${cache.rowSize})`);
  }
  const hit = pc.lookup(prompt);
  for (const b of hit.blocks) cache.appendRows(b.keys, b.values, pc.blockSize);
  return hit.length;
}
