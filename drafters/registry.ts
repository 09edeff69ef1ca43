// Drafters by name. Each name has a fixed id (its bit in DraftTree.sources); 'none' means plain decoding.
import { errors } from '../common/errors.ts';
import type { Drafter } from './drafter.ts';
import { LookupDrafter } from './lookup.ts';
import { RecyclingDrafter, sharedMatrix } from './recycling.ts';

export interface DrafterEnv {
  /** Identifies the target model (hot-start state is kept per model). */
  modelKey: string;
  vocab: number;
}

interface Entry {
  id: number;
  create: (env: DrafterEnv) => Drafter;
}

const REGISTRY: Record<string, Entry> = {
  lookup: { id: 0, create: () => new LookupDrafter(0) },
  recycling: { id: 1, create: (env) => new RecyclingDrafter(1, sharedMatrix(env.modelKey, env.vocab)) },
};

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

export function createDrafters(names: readonly string[], env: DrafterEnv): Drafter[] {
  return names.map((n) => {
    const e = REGISTRY[n];
    if (!e) throw errors.invalidParam(`unknown drafter ${JSON.stringify(n)} (known: ${DRAFTER_NAMES.join(', ')})`, 'drafters');
    return e.create(env);
  });
}

export function drafterName(id: number): string {
  return Object.entries(REGISTRY).find(([, e]) => e.id === id)?.[0] ?? `#${id}`;
}
