// The engine facade the server talks to: one loaded model (runner, tokenizer, drafter resources) and
// its generate(). The server NEVER touches runner internals; tests swap `generate` to spy on steps.
import { generate as engineGenerate, type EngineResources, type GenerateRequest, type GenerateResult, type OnTokens } from '../engine/generate.ts';
import { loadEngine, type LoadOptions } from '../engine/load.ts';
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
}

export function createEngine(parts: EngineParts): Engine {
  const { runner, tokenizer, modelId } = parts;
  const resources = parts.resources ?? {};
  const run = parts.generate ?? engineGenerate;
  const eosIds = tokenizer.eosIds.length ? tokenizer.eosIds : undefined;
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
    generate: (req, onTokens) => run(runner, { eosIds, ...req }, onTokens, resources),
    dispose: parts.dispose ?? (() => runner.dispose()),
  };
}

/** Loads the target (and --draft / --datastore) through engine/load.ts. */
export async function openEngine(opts: LoadOptions): Promise<Engine> {
  const loaded = await loadEngine(opts);
  return createEngine({ ...loaded, tokenizerPath: loaded.runner.source.path, dispose: loaded.dispose });
}
