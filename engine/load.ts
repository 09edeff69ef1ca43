// Loads what a generation needs: the target runner and tokenizer, and the optional draft model (its
// vocabulary checked against the target's) and retrieval datastore. Every mismatch fails here, at startup.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/log.ts';
import type { Datastore } from '../drafters/datastore.ts';
import { loadDatastore } from '../drafters/datastore-file.ts';
import { tokenizerFingerprint } from '../drafters/datastore-corpus.ts';
import { sharedMatrix } from '../drafters/recycling.ts';
import { DEFAULT_SUFFIX_CACHE_REQUESTS, sharedSuffixCache } from '../drafters/suffix-cache.ts';
import { checkSameVocabulary } from '../drafters/vocab-check.ts';
import { resolveModelSource } from '../model/hub.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';
import { ModelRunner } from '../model/runner.ts';
import { errors } from '../common/errors.ts';
import { chooseLayerskipLayers } from './layerskip-layers.ts';
import { startStateSaver } from './state-saver.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { EngineResources } from './generate.ts';

export interface LoadOptions {
  /** Checkpoint folder or .gguf file; undefined = the embedded default model. */
  model?: string;
  /** Draft checkpoint folder or .gguf file for the `draft` drafter. */
  draft?: string;
  /** How the target's float matrices are stored (--quantize). */
  quantize?: QuantizeMode;
  /** How the draft's float matrices are stored (--draft-quantize). */
  draftQuantize?: QuantizeMode;
  /** Context window (--ctx-size); 0 or unset = the model's own, capped (model/runner.ts). */
  ctxSize?: number;
  /** Datastore file for the `retrieval` drafter. */
  datastore?: string;
  threads?: number;
  /** Token Recycling's adjacency matrix: loaded from this file when it exists, saved to it on dispose. */
  recyclingState?: string;
  /** The `suffix` drafter's global cache of earlier outputs: loaded from this file when it exists, saved to it on dispose. */
  suffixCache?: string;
  /** Most earlier outputs the suffix cache keeps (least recently used forgotten first). */
  suffixCacheRequests?: number;
  /**
   * Also save recyclingState / suffixCache every this many ms while loaded, when changed (engine/state-saver.ts;
   * `sprig serve --state-save-interval`). 0 or unset = only on dispose.
   */
  stateSaveIntervalMs?: number;
  /**
   * The `layerskip` drafter: the target's graph gets early exits, and it drafts with this many layers, or 'auto'
   * (measured at startup: engine/layerskip-layers.ts). Unset = no early exits (the drafter is unavailable).
   */
  layerskip?: number | 'auto';
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
  const modelDir = await resolveModelSource(opts.model, { log: opts.log });
  if (!opts.model || opts.model === 'default') {
    opts.log?.warn({ model: modelDir }, 'serving the embedded default model: random weights, it writes noise; pass --model PATH (an HF folder or a .gguf file) or --model hf:OWNER/REPO:Q4_K_M for a real model');
  }
  const runner = await ModelRunner.load(modelDir, { threads: opts.threads, quantize: opts.quantize, contextLength: opts.ctxSize, earlyExits: opts.layerskip === undefined ? [] : 'all', log: opts.log });
  const resources: EngineResources = {};
  try {
    if (opts.layerskip !== undefined) {
      const L = runner.spec.numLayers;
      if (L < 2) throw errors.invalidParam(`the layerskip drafter needs a model with at least 2 layers; ${runner.source.name} has ${L}`, 'layerskip-layers');
      if (opts.layerskip !== 'auto' && !(Number.isInteger(opts.layerskip) && opts.layerskip >= 1 && opts.layerskip < L)) {
        throw errors.invalidParam(`--layerskip-layers ${opts.layerskip} must be an integer in [1, ${L - 1}] for this ${L}-layer model`, 'layerskip-layers');
      }
      resources.layerskipLayers = opts.layerskip === 'auto' ? (await chooseLayerskipLayers(runner, opts.log)).k : opts.layerskip;
    }
    const tokenizer = await runner.source.loadTokenizer();
    if (opts.draft) {
      const draftDir = await resolveModelSource(opts.draft, { log: opts.log });
      resources.draft = await ModelRunner.load(draftDir, { threads: opts.threads, quantize: opts.draftQuantize, contextLength: opts.ctxSize, log: opts.log });
      const draftTok = await resources.draft.source.loadTokenizer();
      checkSameVocabulary({ name: modelDir, vocabSize: runner.vocab, tokenizer }, { name: draftDir, vocabSize: resources.draft.vocab, tokenizer: draftTok });
    }
    if (opts.datastore) {
      const ds: Datastore = loadDatastore(path.resolve(opts.datastore), runner.vocab, tokenizerFingerprint(tokenizer));
      opts.log?.info({ datastore: opts.datastore, tokens: ds.tokens.length }, 'datastore loaded');
      resources.datastore = ds;
    }
    const recyclingFile = opts.recyclingState ? path.resolve(opts.recyclingState) : null;
    const matrix = sharedMatrix(runner.compileInfo.modelPath, runner.vocab);
    if (recyclingFile && fs.existsSync(recyclingFile)) {
      matrix.load(recyclingFile);
      opts.log?.info({ file: recyclingFile }, 'recycling matrix loaded (hot start)');
    }
    const suffixFile = opts.suffixCache ? path.resolve(opts.suffixCache) : null;
    const suffix = sharedSuffixCache(runner.compileInfo.modelPath, runner.vocab);
    suffix.setCapacity(opts.suffixCacheRequests ?? DEFAULT_SUFFIX_CACHE_REQUESTS);
    if (suffixFile && fs.existsSync(suffixFile)) {
      suffix.load(suffixFile);
      opts.log?.info({ file: suffixFile, requests: suffix.numRequests }, 'suffix cache loaded');
    }
    resources.suffixCache = suffix;
    const saver = startStateSaver({
      recycling: recyclingFile ? { matrix, file: recyclingFile } : undefined,
      suffix: suffixFile ? { cache: suffix, file: suffixFile } : undefined,
      intervalMs: opts.stateSaveIntervalMs ?? 0,
      log: opts.log,
    });
    return {
      modelDir,
      modelId: runner.source.name,
      runner,
      tokenizer,
      resources,
      dispose: async () => {
        await saver?.stop();
        if (recyclingFile) matrix.save(recyclingFile);
        if (suffixFile) suffix.save(suffixFile);
        await runner.dispose();
        await resources.draft?.dispose();
      },
    };
  } catch (e) {
    // A bad draft, datastore or state file fails the start: free what was loaded before saying so.
    await runner.dispose();
    await resources.draft?.dispose();
    throw e;
  }
}
