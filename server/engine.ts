// The engine facade the server talks to: one loaded model (runner, tokenizer, drafter resources) and
// its generate(). The server NEVER touches runner internals; tests swap `generate` to spy on steps.
import type { Logger } from '../common/log.ts';
import { generate as engineGenerate, type EngineResources, type GenerateRequest, type GenerateResult, type OnTokens } from '../engine/generate.ts';
import { loadEngine, type LoadOptions } from '../engine/load.ts';
import { Batcher } from '../engine/batcher.ts';
import type { ModelRunner } from '../model/runner.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

export type GenerateFn = (runner: ModelRunner, req: GenerateRequest, onTokens?: OnTokens, resources?: EngineResources) => Promise<GenerateResult>;

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
  readonly runner: ModelRunner;
  /** Continuous batching of concurrent generations; absent when a custom generate is plugged in (tests). */
  readonly batcher?: Batcher;
  generate(req: GenerateRequest, onTokens?: OnTokens): Promise<GenerateResult>;
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
  /** Most rows one batched forward carries (--max-batch-tokens). */
  maxBatchTokens?: number;
  log?: Logger;
}

/** --max-batch-tokens when unset. */
export const DEFAULT_MAX_BATCH_TOKENS = 512;

export function createEngine(parts: EngineParts): Engine {
  const { runner, tokenizer, modelId } = parts;
  const resources = parts.resources ?? {};
  const run = parts.generate ?? engineGenerate;
  const eosIds = tokenizer.eosIds.length ? tokenizer.eosIds : undefined;
  // Concurrent generations share each step's forward; a custom generate (a test's spy) runs each on its own.
  const batcher = parts.generate ? undefined : new Batcher(runner, { maxBatchTokens: parts.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS, log: parts.log });
  const dispose = parts.dispose ?? (() => runner.dispose());
  return {
    modelId,
    created: Math.floor(Date.now() / 1000),
    contextLength: runner.contextLength,
    vocabSize: runner.vocab,
    maxTreeTokens: runner.maxTreeRows - 1,
    hasDraftModel: resources.draft !== undefined,
    tokenizer,
    tokenizerPath: parts.tokenizerPath,
    runner,
    batcher,
    generate: async (req, onTokens) => {
      if (!batcher) return run(runner, { eosIds, ...req }, onTokens, resources);
      const slot = batcher.join();
      try {
        return await run(runner, { eosIds, ...req, batch: slot }, onTokens, resources);
      } finally {
        slot.leave(); // the next step runs without it
      }
    },
    dispose: async () => {
      await batcher?.dispose();
      await dispose();
    },
  };
}

/** Loads the target (and --draft / --datastore) through engine/load.ts. */
export async function openEngine(opts: LoadOptions & { maxBatchTokens?: number }): Promise<Engine> {
  const loaded = await loadEngine(opts);
  return createEngine({ ...loaded, tokenizerPath: loaded.runner.source.path, dispose: loaded.dispose, maxBatchTokens: opts.maxBatchTokens, log: opts.log });
}
