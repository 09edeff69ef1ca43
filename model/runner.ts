// ModelRunner: a compiled checkpoint in an onnxruntime session, driven with explicit positions and an
// explicit attention bias, writing the new tokens' K/V into a KvCache as pending rows.
import { errors } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import os from 'node:os';
import { compileModel } from './compile.ts';
import type { QuantizeMode } from './graph/weight-format.ts';
import { openModelSource, type ModelSource } from './source.ts';
import type { ModelSpec } from './config.ts';
import { KvCache } from './kv-cache.ts';
import { createSession, floatTensor, int64Tensor, type Feeds, type OnnxSession } from './onnx-session.ts';

/**
 * Context window used when the caller does not set one and the model's is longer: the rotary tables in the graph
 * and the KV cache's bound grow with it (a 128K-token Llama 3 would carry 67 MB of tables).
 */
export const DEFAULT_MAX_CONTEXT = 16384;

/** The past of a layer an early exit skips. */
const EMPTY = new Float32Array(0);

/** Additive bias value for masked positions (finite, so no inf − inf NaNs in fused kernels). */
export const MASKED = -1e30;

export interface RunnerOptions {
  /** onnxruntime intra-op threads; 0 or unset picks by model size (defaultThreads). */
  threads?: number;
  /** Rows a cache may hold beyond the context window, for a draft tree's pending nodes. */
  maxTreeRows?: number;
  /** Tokens per prefill forward. */
  prefillChunk?: number;
  /** How float matrices are stored in the graph (quantized GGUF tensors keep their type). */
  quantize?: QuantizeMode;
  /** onnxruntime per-op profiling to files starting with this path (sprig profile). */
  profilePrefix?: string;
  /** Context window in tokens; 0 or unset = the model's own, capped at DEFAULT_MAX_CONTEXT. */
  contextLength?: number;
  /** Layers after which forwardExit() may stop (the layerskip drafter), or 'all' (1 … numLayers − 1); built into the graph. */
  earlyExits?: readonly number[] | 'all';
  log?: Logger;
}

export class ModelRunner {
  readonly spec: ModelSpec;
  readonly vocab: number;
  readonly contextLength: number;
  readonly maxTreeRows: number;
  private readonly prefillChunk: number;

  private constructor(
    readonly source: ModelSource,
    private readonly session: OnnxSession,
    opts: RunnerOptions,
    /** Layers after which forwardExit() may stop, ascending. */
    readonly earlyExits: readonly number[],
    readonly compileInfo: { modelPath: string; cached: boolean; compileMs: number; quantize: QuantizeMode },
    /** onnxruntime intra-op threads in use. */
    readonly threads: number,
  ) {
    this.spec = source.spec;
    this.vocab = source.spec.vocabSize;
    this.contextLength = source.spec.contextLength;
    this.maxTreeRows = opts.maxTreeRows ?? 256;
    this.prefillChunk = opts.prefillChunk ?? 256;
  }

  /** Loads a HF checkpoint folder or a .gguf file, compiling (or reusing) its graph. */
  static async load(modelPath: string, opts: RunnerOptions = {}): Promise<ModelRunner> {
    const src = openModelSource(modelPath);
    const trained = src.spec.contextLength;
    const ctx = opts.contextLength ? Math.min(opts.contextLength, trained) : Math.min(trained, DEFAULT_MAX_CONTEXT);
    if (opts.contextLength && opts.contextLength > trained) {
      opts.log?.warn({ requested: opts.contextLength, model: trained }, `context window capped at the model's ${trained} tokens`);
    } else if (ctx < trained) {
      opts.log?.info({ context: ctx, model: trained }, `context window ${ctx} of the model's ${trained} tokens (--ctx-size to change)`);
    }
    src.spec.contextLength = ctx;
    const quantize = opts.quantize ?? 'none';
    const L = src.spec.numLayers;
    const asked = opts.earlyExits === 'all' ? Array.from({ length: L - 1 }, (_, i) => i + 1) : opts.earlyExits ?? [];
    const earlyExits = [...new Set(asked)].sort((a, b) => a - b);
    const compiled = compileModel(src, quantize, 0, earlyExits);
    const threads = opts.threads || defaultThreads(src.parameterCount);
    opts.log?.info({ model: src.path, format: src.format, types: src.typeSummary, quantize, graph: compiled.modelPath, cached: compiled.cached, compileMs: Math.round(compiled.compileMs), threads }, 'graph ready');
    const session = await createSession(compiled.modelPath, { threads, profilePrefix: opts.profilePrefix });
    return new ModelRunner(src, session, opts, earlyExits, { ...compiled, quantize }, threads);
  }

  newCache(): KvCache {
    const { numLayers, numKvHeads, headDim } = this.spec;
    return new KvCache(numLayers, numKvHeads * headDim, this.contextLength + this.maxTreeRows);
  }

  /**
   * One forward over n new tokens after the cache's committed prefix.
   * tokens, positions: [n]; bias: [n, cache.length + n] additive (0 attend, MASKED otherwise);
   * logitRows: which of the n rows get logits (default all). Returns logits [logitRows.length, vocab].
   * The n new K/V rows become the cache's pending rows: commit() keeps the ones you want.
   */
  async forward(cache: KvCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array, logitRows?: ArrayLike<number>): Promise<Float32Array> {
    return this.run(cache, this.spec.numLayers, tokens, positions, bias, logitRows);
  }

  /**
   * forward() through the first `layers` layers only, then the final norm and the head (an early exit built into
   * the graph: RunnerOptions.earlyExits). The new rows' K/V of those layers become the cache's pending rows; the
   * other layers' pending rows are left unwritten. Returns logits [logitRows.length, vocab].
   */
  async forwardExit(cache: KvCache, layers: number, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array, logitRows?: ArrayLike<number>): Promise<Float32Array> {
    if (!this.earlyExits.includes(layers)) throw errors.internal(`forwardExit(${layers}): the graph exits only after ${this.earlyExits.join(', ') || 'no'} layers`);
    return this.run(cache, layers, tokens, positions, bias, logitRows);
  }

  private async run(cache: KvCache, layers: number, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array, logitRows?: ArrayLike<number>): Promise<Float32Array> {
    const n = tokens.length;
    const past = cache.length;
    const total = past + n;
    this.checkInputs(cache, tokens, positions, bias);
    cache.reserve(n);
    const { numLayers, numKvHeads, headDim } = this.spec;
    const rows = logitRows ?? Array.from({ length: n }, (_, i) => i);
    const feeds: Feeds = {
      input_ids: int64Tensor(tokens, [1, n]),
      position_ids: int64Tensor(positions, [1, n]),
      attention_bias: floatTensor(bias, [1, 1, n, total]),
      logits_rows: int64Tensor(rows, [rows.length]),
    };
    if (this.earlyExits.length) feeds.exit_layer = int64Tensor([layers], [1]);
    for (let l = 0; l < numLayers; l++) {
      // Layers past an early exit never run: their pasts go in empty.
      feeds[`past_key.${l}`] = floatTensor(l < layers ? cache.pastKeys(l) : EMPTY, [1, l < layers ? past : 0, numKvHeads * headDim]);
      feeds[`past_value.${l}`] = floatTensor(l < layers ? cache.pastValues(l) : EMPTY, [1, l < layers ? past : 0, numKvHeads * headDim]);
    }
    const out = await this.session.run(feeds);
    for (let l = 0; l < layers; l++) {
      cache.writePending(l, out[`present_key.${l}`].data as Float32Array, out[`present_value.${l}`].data as Float32Array, n);
    }
    return out.logits.data as Float32Array;
  }

  /**
   * Runs `tokens` causally after the committed prefix, in chunks, committing all of them.
   * Returns the logits of the last token [vocab].
   */
  async prefill(cache: KvCache, tokens: ArrayLike<number>): Promise<Float32Array> {
    return prefillInChunks(this, cache, tokens, () => this.prefillChunk, (c, t, p, b, r) => this.forward(c, t, p, b, r));
  }

  /** What forward() checks before it runs: sizes, positions inside the window, token ids inside the vocabulary. */
  checkInputs(cache: KvCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array): void {
    const n = tokens.length;
    const total = cache.length + n;
    if (n === 0) throw errors.internal('forward over zero tokens');
    if (positions.length !== n) throw errors.internal(`forward: ${positions.length} positions for ${n} tokens`);
    if (bias.length !== n * total) throw errors.internal(`forward: bias has ${bias.length} values, expected ${n}×${total}`);
    for (let i = 0; i < n; i++) {
      if (positions[i] >= this.contextLength) {
        throw errors.contextOverflow(`position ${positions[i]} is past the context window of ${this.contextLength} tokens`);
      }
      if (tokens[i] < 0 || tokens[i] >= this.vocab) throw errors.invalidParam(`token id ${tokens[i]} is outside the vocabulary of ${this.vocab}`);
    }
  }

  /** Throws a context-overflow error when `numTokens` would not fit the window. */
  checkFits(numTokens: number): void {
    if (numTokens > this.contextLength) {
      throw errors.contextOverflow(`${numTokens} tokens do not fit the context window of ${this.contextLength} tokens`);
    }
  }

  /** Flushes onnxruntime's profile (runners loaded with profilePrefix). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Threads when the caller does not say: one for small models, where a forward is a few hundred microseconds and
 * a thread pool's hand-offs cost more than they save (measured on stories260K: 2 threads 9–37% slower at
 * 1–64 tokens), every core for models big enough that each matrix product pays for splitting.
 */
export function defaultThreads(parameters: number): number {
  return parameters < 20_000_000 ? 1 : os.availableParallelism();
}

type ForwardFn = (cache: KvCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array, logitRows?: ArrayLike<number>) => Promise<Float32Array>;

/**
 * Runs `tokens` causally after the committed prefix through `forward`, in chunks of chunkSize() tokens (asked
 * before each chunk), committing all of them. Returns the logits of the last token [vocab].
 */
export async function prefillInChunks(runner: ModelRunner, cache: KvCache, tokens: ArrayLike<number>, chunkSize: () => number, forward: ForwardFn): Promise<Float32Array> {
  if (tokens.length === 0) throw errors.internal('prefill over zero tokens');
  runner.checkFits(cache.length + tokens.length);
  let logits: Float32Array | null = null;
  for (let s = 0; s < tokens.length;) {
    const e = Math.min(tokens.length, s + chunkSize());
    const chunk = Array.prototype.slice.call(tokens, s, e) as number[];
    const n = chunk.length;
    logits = await forward(cache, chunk, chunk.map((_, i) => cache.length + i), causalBias(n, cache.length), [n - 1]);
    cache.commitAll();
    s = e;
  }
  return logits as Float32Array;
}

/** Causal additive bias for n new tokens after `past` committed ones. [n, past + n] */
export function causalBias(n: number, past: number): Float32Array {
  const total = past + n;
  const bias = new Float32Array(n * total);
  for (let i = 0; i < n; i++) bias.fill(MASKED, i * total + past + i + 1, (i + 1) * total);
  return bias;
}
