// Drafters by name. Each name has a fixed id (its bit in DraftTree.sources); 'none' means plain decoding.
import { errors } from '../common/errors.ts';
import type { Datastore } from './datastore.ts';
import type { Drafter } from './drafter.ts';
import { LookupDrafter } from './lookup.ts';
import { DraftModelDrafter } from './draft-model.ts';
import { LayerSkipDrafter } from './layerskip.ts';
import type { ModelRunner } from '../model/runner.ts';
import { Rng } from '../common/rng.ts';
import { GREEDY, type SamplingParams } from '../common/sampling.ts';
import { RecyclingDrafter, sharedMatrix } from './recycling.ts';
import { RetrievalDrafter, retrievalDatastore } from './retrieval.ts';
import { sharedSuffixCache, type SuffixCache } from './suffix-cache.ts';
import { SuffixDrafter } from './suffix.ts';
import type { AdjacencyMatrix } from './recycling.ts';

export interface DrafterEnv {
  /** Identifies the target model (hot-start state is kept per model). */
  modelKey: string;
  vocab: number;
  /** Retrieval datastore (--datastore FILE); defaults to the process-wide one from setRetrievalDatastore(). */
  datastore?: Datastore;
  /**
   * State kept across requests; default: the process-wide one for modelKey. The bench gives each configuration
   * its own, so one configuration's outputs never feed another's drafts.
   */
  recyclingMatrix?: AdjacencyMatrix;
  suffixCache?: SuffixCache;
  /** The draft model (--draft PATH), required by the `draft` drafter. */
  draftRunner?: ModelRunner;
  /** The target, and how many of its layers the `layerskip` drafter drafts with (its graph has early exits). */
  targetRunner?: ModelRunner;
  layerskipLayers?: number;
  /** The request's sampling parameters and a seed for drafters that sample. */
  sampling?: SamplingParams;
  seed?: number;
}

interface Entry {
  id: number;
  create: (env: DrafterEnv) => Drafter;
}

const REGISTRY: Record<string, Entry> = {
  lookup: { id: 0, create: () => new LookupDrafter(0) },
  recycling: { id: 1, create: (env) => new RecyclingDrafter(1, env.recyclingMatrix ?? sharedMatrix(env.modelKey, env.vocab)) },
  draft: { id: 2, create: (env) => createDraftModelDrafter(2, env) },
  retrieval: { id: 3, create: (env) => new RetrievalDrafter(3, env.datastore ?? retrievalDatastore(), env.vocab) },
  suffix: { id: 4, create: (env) => new SuffixDrafter(4, env.suffixCache ?? sharedSuffixCache(env.modelKey, env.vocab)) },
  layerskip: { id: 5, create: (env) => createLayerSkipDrafter(5, env) },
};

/**
 * What `sprig generate` and `sprig serve` speculate with unless told otherwise. `suffix` alone: on the 82M stories
 * model it ran level with or ahead of `suffix,recycling,lookup` on all four suites, cold and warm, f32 and q4
 * (README, "Drafters"); recycling's extra accepted tokens cost about what they save (its scan of every verified row).
 */
export const DEFAULT_DRAFTERS: readonly string[] = Object.freeze(['suffix']);

/** Every accepted --drafters name; registerDrafter() adds to it. */
export const DRAFTER_NAMES = ['none', ...Object.keys(REGISTRY)];

/** Adds a drafter under a new name and id (embedders and tests use this to plug in their own). */
export function registerDrafter(name: string, id: number, create: (env: DrafterEnv) => Drafter): void {
  if (DRAFTER_NAMES.includes(name)) throw errors.invalidParam(`drafter ${JSON.stringify(name)} is already registered`);
  if (Object.values(REGISTRY).some((e) => e.id === id)) throw errors.invalidParam(`drafter id ${id} is already taken`);
  REGISTRY[name] = { id, create };
  DRAFTER_NAMES.push(name);
}

/** Parses 'recycling,lookup' | 'none' (or an array) into validated names; 'none' alone → []. */
export function parseDrafters(spec: string | readonly string[] | undefined, param = 'drafters'): string[] {
  if (spec === undefined) return [];
  const list = (typeof spec === 'string' ? spec.split(',') : [...spec]).map((s) => s.trim()).filter(Boolean);
  const names = [...new Set(list)];
  for (const n of names) {
    if (!DRAFTER_NAMES.includes(n)) throw errors.invalidParam(`unknown drafter ${JSON.stringify(n)} (known: ${DRAFTER_NAMES.join(', ')})`, param);
  }
  if (names.includes('none')) {
    if (names.length > 1) throw errors.invalidParam(`drafter "none" cannot be combined with others (${names.join(',')})`, param);
    return [];
  }
  return names;
}

/** Creates drafters in the order given, except that a draft model always comes first (RASD needs its q). */
export function createDrafters(names: readonly string[], env: DrafterEnv): Drafter[] {
  const ordered = [...names].sort((a, b) => Number(b === 'draft') - Number(a === 'draft'));
  return ordered.map((n) => {
    const e = REGISTRY[n];
    if (!e) throw errors.invalidParam(`unknown drafter ${JSON.stringify(n)} (known: ${DRAFTER_NAMES.join(', ')})`, 'drafters');
    return e.create(env);
  });
}

function createDraftModelDrafter(id: number, env: DrafterEnv): Drafter {
  if (!env.draftRunner) throw errors.invalidParam('drafter "draft" needs a draft model: start with --draft PATH', 'drafters');
  // The draft's own random stream, decorrelated from the verifier's (which uses the request seed).
  return new DraftModelDrafter(id, env.draftRunner, env.sampling ?? GREEDY, new Rng(((env.seed ?? 0) ^ 0x5bd1e995) >>> 0));
}

function createLayerSkipDrafter(id: number, env: DrafterEnv): Drafter {
  if (!env.targetRunner || env.layerskipLayers === undefined) {
    throw errors.invalidParam('drafter "layerskip" needs the target loaded with early exits: start with --drafters including layerskip, or --layerskip-layers K', 'drafters');
  }
  // Its own random stream, decorrelated from the verifier's and the draft model's.
  return new LayerSkipDrafter(id, env.targetRunner, env.layerskipLayers, env.sampling ?? GREEDY, new Rng(((env.seed ?? 0) ^ 0x2c1b3c6d) >>> 0));
}
