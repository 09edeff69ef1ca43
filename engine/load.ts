// Loads what a generation needs: the target runner and tokenizer, and the optional draft model (its
// vocabulary checked against the target's) and retrieval datastore. Every mismatch fails here, at startup.
import path from 'node:path';
import type { Logger } from '../common/log.ts';
import type { Datastore } from '../drafters/datastore.ts';
import { loadDatastore } from '../drafters/datastore-file.ts';
import { tokenizerFingerprint } from '../drafters/datastore-corpus.ts';
import { checkSameVocabulary } from '../drafters/vocab-check.ts';
import { resolveModelPath } from '../model/default-model.ts';
import { ModelRunner } from '../model/runner.ts';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer.ts';
import type { EngineResources } from './generate.ts';

export interface LoadOptions {
  /** Checkpoint folder; undefined = the embedded default model. */
  model?: string;
  /** Draft checkpoint folder for the `draft` drafter. */
  draft?: string;
  /** Datastore file for the `retrieval` drafter. */
  datastore?: string;
  threads?: number;
  log?: Logger;
}

export interface LoadedEngine {
  modelDir: string;
  /** The model's name as the API reports it. */
  modelId: string;
  runner: ModelRunner;
  tokenizer: Tokenizer;
  resources: EngineResources;
  dispose(): Promise<void>;
}

export async function loadEngine(opts: LoadOptions): Promise<LoadedEngine> {
  const modelDir = resolveModelPath(opts.model);
  const runner = await ModelRunner.load(modelDir, { threads: opts.threads, log: opts.log });
  const tokenizer = await loadTokenizer(modelDir, runner.checkpoint.generationConfig);
  const resources: EngineResources = {};
  if (opts.draft) {
    const draftDir = path.resolve(opts.draft);
    const draft = await ModelRunner.load(draftDir, { threads: opts.threads, log: opts.log });
    const draftTok = await loadTokenizer(draftDir, draft.checkpoint.generationConfig);
    checkSameVocabulary({ name: modelDir, vocabSize: runner.vocab, tokenizer }, { name: draftDir, vocabSize: draft.vocab, tokenizer: draftTok });
    resources.draft = draft;
  }
  if (opts.datastore) {
    const ds: Datastore = loadDatastore(path.resolve(opts.datastore), runner.vocab, tokenizerFingerprint(tokenizer));
    opts.log?.info({ datastore: opts.datastore, tokens: ds.tokens.length }, 'datastore loaded');
    resources.datastore = ds;
  }
  return {
    modelDir,
    modelId: path.basename(modelDir),
    runner,
    tokenizer,
    resources,
    dispose: async () => {
      await runner.dispose();
      await resources.draft?.dispose();
    },
  };
}
