// The engine facade the server talks to: one loaded model (runner, tokenizer, drafter resources) and
// its generate(). The server NEVER touches runner internals: everything it asks crosses as plain data, so the
// same interface runs in-process (createEngine; tests swap `generate` to spy on steps) or in a worker thread
// (server/engine-thread.ts).
import type { Logger } from '../common/log.ts';
import { generate as engineGenerate, type EngineResources, type GenerateRequest, type GenerateResult, type OnTokens } from '../engine/generate.ts';
import { loadEngine, type LoadOptions } from '../engine/load.ts';
import { Batcher } from '../engine/batcher.ts';
import type { ConstraintRequest } from '../engine/constraint.ts';
import { promptLogprobs as scorePrompt, type TokenLogprob } from '../engine/logprobs.ts';
import { PrefixCache } from '../engine/prefix-cache.ts';
import { verifyCostCurve } from '../engine/verify-cost.ts';
import type { GrammarSpec } from '../grammar/xgrammar.ts';
import type { ModelRunner } from '../model/runner.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { DEFAULT_MAX_BATCH_TOKENS } from './config.ts';
import { constraintFor } from './constraint.ts';

export type GenerateFn = (runner: ModelRunner, req: GenerateRequest, onTokens?: OnTokens, resources?: EngineResources) => Promise<GenerateResult>;

/** A request's compiled constraint. The spec crosses threads; the compiled grammar (wasm) stays where it was compiled. */
export interface EngineConstraint {
  readonly spec: GrammarSpec;
  /** In-process engines: the compiled form engine/generate.ts takes (a worker compiles the spec again, cached). */
  readonly compiled?: ConstraintRequest;
}

/** A generation as the server asks for it: plain data but `signal` (a worker engine maps it to a cancel message). */
export interface EngineRequest extends Omit<GenerateRequest, 'batch' | 'prefixCache' | 'constraint'> {
  /** From engine.compileConstraint. */
  constraint?: EngineConstraint;
  /** From engine.openPrefixCache: the prefix cache this generation reads and fills. */
  prefixCache?: number;
}

export interface Engine {
  /** The id /v1/models lists and requests may name. */
  readonly modelId: string;
  /** Unix seconds when the model was loaded. */
  readonly created: number;
  readonly contextLength: number;
  readonly vocabSize: number;
  /** Largest draft tree (nodes per step) the runner accepts. */
  readonly maxTreeTokens: number;
  /** Whether the `draft` drafter can run (the server was started with --draft). */
  readonly hasDraftModel: boolean;
  readonly tokenizer: Tokenizer;
  /** Where a worker thread can build the same tokenizer (the model's folder or file); none = encode on the event loop. */
  readonly tokenizerPath?: string;
  generate(req: EngineRequest, onTokens?: OnTokens): Promise<GenerateResult>;
  /** echo with logprobs: entry i is log p(tokens[i] | tokens[0..i)), null for the first (engine/logprobs.ts). */
  promptLogprobs(tokens: readonly number[], k: number): Promise<(TokenLogprob | null)[]>;
  /** Compiles a request's grammar for this model's vocabulary (cached); a bad grammar is a 400 here, before any output. */
  compileConstraint(spec: GrammarSpec): Promise<EngineConstraint>;
  /** A new prefix cache of K/V rows (--kv-cache-mb) held by the engine; requests name it by the returned id. */
  openPrefixCache(budgetBytes: number): number;
  /** Measures this machine's verify-cost curve now (the 'auto' tree budget needs it), not at the first request. */
  measureVerifyCost(): Promise<void>;
  /** Why the engine can no longer serve (its thread stopped), or null while it can. */
  failure(): Error | null;
  dispose(): Promise<void>;
}

export interface EngineParts {
  runner: ModelRunner;
  tokenizer: Tokenizer;
  /** Set only when `tokenizer` is exactly what openModelSource(tokenizerPath).loadTokenizer() builds. */
  tokenizerPath?: string;
  modelId: string;
  resources?: EngineResources;
  /** Defaults to engine/generate.ts. */
  generate?: GenerateFn;
  /** Defaults to disposing the runner. */
  dispose?: () => Promise<void>;
  batch?: BatchSettings;
  log?: Logger;
}

/** Continuous batching's settings, as the server's flags give them (defaults here, once). */
export interface BatchSettings {
  /** Most rows one batched forward carries (--max-batch-tokens; default DEFAULT_MAX_BATCH_TOKENS). */
  maxBatchTokens?: number;
  /** Shared steps draft too, sized across the batch (--batch-speculation; default on). */
  speculateShared?: boolean;
  /** The batched graph's slots (--max-concurrent). */
  slots?: number;
}

/** What openEngine (in-process or in the engine's worker thread) takes: how to load, and how to batch. */
export type EngineOptions = LoadOptions & { batch?: BatchSettings };

export function createEngine(parts: EngineParts): Engine {
  const { runner, tokenizer, modelId } = parts;
  const resources = parts.resources ?? {};
  const run = parts.generate ?? engineGenerate;
  const eosIds = tokenizer.eosIds.length ? tokenizer.eosIds : undefined;
  // Concurrent generations share each step's forward; a custom generate (a test's spy) runs each on its own.
  const batcher = parts.generate ? undefined : new Batcher(runner, { maxBatchTokens: DEFAULT_MAX_BATCH_TOKENS, speculateShared: true, ...parts.batch, log: parts.log });
  const dispose = parts.dispose ?? (() => runner.dispose());
  const prefixCaches = new Map<number, PrefixCache>();
  const compile = (spec: GrammarSpec) => constraintFor(tokenizer, runner.compileInfo.modelPath, runner.vocab, spec);
  return {
    modelId,
    created: Math.floor(Date.now() / 1000),
    contextLength: runner.contextLength,
    vocabSize: runner.vocab,
    maxTreeTokens: runner.maxTreeRows - 1,
    hasDraftModel: resources.draft !== undefined,
    tokenizer,
    tokenizerPath: parts.tokenizerPath,
    generate: async ({ constraint, prefixCache, ...rest }, onTokens) => {
      const req: GenerateRequest = {
        eosIds,
        ...rest,
        constraint: constraint && (constraint.compiled ?? await compile(constraint.spec)),
        prefixCache: prefixCache === undefined ? undefined : prefixCaches.get(prefixCache),
      };
      if (!batcher) return run(runner, req, onTokens, resources);
      const slot = batcher.join();
      try {
        return await run(runner, { ...req, batch: slot }, onTokens, resources);
      } finally {
        slot.leave(); // the next step runs without it
      }
    },
    promptLogprobs: (tokens, k) => scorePrompt(runner, tokens, k),
    compileConstraint: async (spec) => ({ spec, compiled: await compile(spec) }),
    openPrefixCache: (budgetBytes) => {
      const id = prefixCaches.size + 1;
      prefixCaches.set(id, PrefixCache.forModel(runner.spec, budgetBytes));
      return id;
    },
    measureVerifyCost: async () => {
      await verifyCostCurve(runner);
    },
    failure: () => null,
    dispose: async () => {
      await batcher?.dispose();
      await dispose();
    },
  };
}

/**
 * Loads the target (and --draft / --datastore) through engine/load.ts. `onLoaded` sees the runner before the engine
 * is built (the engine thread's probe counts its forwards).
 */
export async function openEngine(opts: EngineOptions, onLoaded?: (runner: ModelRunner) => void): Promise<Engine> {
  const loaded = await loadEngine(opts);
  onLoaded?.(loaded.runner);
  return createEngine({ ...loaded, tokenizerPath: loaded.runner.source.path, dispose: loaded.dispose, batch: opts.batch, log: opts.log });
}
