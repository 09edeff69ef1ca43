// Retrieval drafting (REST, He et al. NAACL 2024, with PLD's live-context lookup, Saxena 2023): the longest
// context suffix found in the datastore and in the context itself; what followed it becomes a counted trie.
// Nodes are DETERMINISTIC (rule D); it never needs the target's logits.
import { pruneRetrievalByDraft } from './retrieval-rasd.ts';
import { errors } from '../common/errors.ts';
import type { DraftTree } from '../trees/draft-tree.ts';
import { TreeBuilder } from '../trees/draft-tree.ts';
import { pruneToBudget } from '../trees/prune.ts';
import { findInDatastore, SEPARATOR, type Datastore } from './datastore.ts';
import type { DraftRequest, Drafter } from './drafter.ts';

export interface RetrievalOptions {
  /** Longest context suffix tried (REST: 16). */
  maxNgram: number;
  /** Shortest suffix accepted as a match (REST: 2). */
  minNgram: number;
  /** Most continuations taken from the datastore, spread evenly over its block of matches. */
  maxDatastoreMatches: number;
  /** Most continuations taken from the live context, most recent first (0 = datastore only). */
  maxContextMatches: number;
  /** Longest continuation (REST's `long`: 10), also capped by the request's maxDepth. */
  maxLength: number;
  /** Score factor per level below depth 1, so deeper guesses rank lower at equal support. */
  depthDecay: number;
}

export const DEFAULT_RETRIEVAL: RetrievalOptions = { maxNgram: 16, minNgram: 2, maxDatastoreMatches: 16, maxContextMatches: 8, maxLength: 10, depthDecay: 0.9 };

/** A matched suffix of `length` tokens and the starts of the continuations after its occurrences. */
export interface SuffixMatch {
  length: number;
  starts: number[];
}

/**
 * Longest suffix of context (maxNgram down to minNgram tokens) that occurs in the datastore, with up to
 * maxMatches continuation starts (positions in ds.tokens). The block of matches in the suffix array is sorted
 * by continuation, so evenly spaced picks give each continuation a share close to its frequency (REST counts
 * all of them; this keeps the cost O(maxMatches) on very common n-grams).
 */
export function matchDatastore(ds: Datastore, context: readonly number[], opts: RetrievalOptions): SuffixMatch | null {
  const n = context.length;
  for (let g = Math.min(opts.maxNgram, n); g >= opts.minNgram; g--) {
    const { lo, hi } = findInDatastore(ds, context, n - g, n);
    const count = hi - lo;
    if (count === 0) continue;
    const k = Math.min(count, opts.maxDatastoreMatches);
    const starts: number[] = [];
    for (let i = 0; i < k; i++) starts.push(ds.suffixArray[lo + Math.floor(((i + 0.5) * count) / k)] + g);
    return { length: g, starts };
  }
  return null;
}

/**
 * Longest suffix of context (maxNgram down to minNgram tokens) that occurred earlier in the context, with up to
 * maxMatches continuation starts, most recent first. One backward pass: O(n · typical match length).
 */
export function matchContext(context: readonly number[], opts: RetrievalOptions): SuffixMatch | null {
  const n = context.length;
  let best = 0;
  let starts: number[] = [];
  if (opts.maxContextMatches <= 0) return null;
  // Occurrence ending at i (aligned with the root at n-1); its continuation starts at i + 1.
  for (let i = n - 2; i >= 0; i--) {
    let len = 0;
    while (len < opts.maxNgram && len <= i && context[i - len] === context[n - 1 - len]) len++;
    if (len < opts.minNgram || len < best) continue;
    if (len > best) {
      best = len;
      starts = [i + 1];
    } else if (starts.length < opts.maxContextMatches) starts.push(i + 1);
  }
  return best > 0 ? { length: best, starts } : null;
}

interface TrieNode {
  token: number;
  weight: number;
  children: Map<number, TrieNode>;
}

/**
 * The retrieval draft tree rooted at context[n-1], or null when nothing matches.
 *
 * Each matched source (datastore, live context) carries weight = its match length, split evenly over its
 * continuations; a node's score is the weight of the continuations through it over the total weight, times
 * depthDecay per level below 1. Scores never increase down a path, so pruneToBudget keeps the best nodes.
 *
 * Worked example: datastore docs [[1, 2, 3, 4], [9, 2, 3, 5], [2, 3, 4]], context [7, 2, 3] (root 3), no context
 * match. [7, 2, 3] is absent; [2, 3] occurs 3 times, continuing [4], [5], [4]. Trie: 3 → 4 (score 2/3), 5 (1/3).
 */
export function retrievalTree(context: readonly number[], ds: Datastore | null, opts: RetrievalOptions, budget: number, maxDepth: number, source: number): DraftTree | null {
  const n = context.length;
  const maxLen = Math.min(opts.maxLength, maxDepth);
  if (n === 0 || maxLen <= 0 || budget <= 0) return null;
  const root: TrieNode = { token: context[n - 1], weight: 0, children: new Map() };
  let totalWeight = 0;
  const insert = (tokens: ArrayLike<number>, start: number, end: number, weight: number) => {
    let node = root;
    for (let p = start; p < end && p < start + maxLen && tokens[p] !== SEPARATOR; p++) {
      let child = node.children.get(tokens[p]);
      if (!child) node.children.set(tokens[p], (child = { token: tokens[p], weight: 0, children: new Map() }));
      child.weight += weight;
      node = child;
    }
  };

  const dsMatch = ds ? matchDatastore(ds, context, opts) : null;
  if (dsMatch && ds) {
    totalWeight += dsMatch.length;
    for (const s of dsMatch.starts) insert(ds.tokens, s, ds.tokens.length, dsMatch.length / dsMatch.starts.length);
  }
  const ctxMatch = matchContext(context, opts);
  if (ctxMatch) {
    totalWeight += ctxMatch.length;
    for (const s of ctxMatch.starts) insert(context, s, n, ctxMatch.length / ctxMatch.starts.length);
  }
  if (root.children.size === 0) return null;

  // BFS so parents precede children; siblings by weight (heaviest first, ties in insertion order).
  const b = new TreeBuilder(root.token, 64);
  const queue: [TrieNode, number, number][] = [[root, 0, 0]];
  for (let q = 0; q < queue.length; q++) {
    const [node, index, depth] = queue[q];
    const children = [...node.children.values()].sort((x, y) => y.weight - x.weight);
    for (const child of children) {
      const score = (child.weight / totalWeight) * Math.pow(opts.depthDecay, depth);
      queue.push([child, b.add(index, child.token, { score, source }), depth + 1]);
    }
  }
  return pruneToBudget(b.build(), budget);
}

let defaultDatastore: Datastore | null = null;

/** Sets the process-wide datastore used when a drafter is created without one (the CLI's --datastore FILE). */
export function setRetrievalDatastore(ds: Datastore | null): void {
  defaultDatastore = ds;
}

export function retrievalDatastore(): Datastore | null {
  return defaultDatastore;
}

/**
 * The `retrieval` drafter. With no datastore it drafts from the live context alone.
 *
 * Example: new RetrievalDrafter(3, loadDatastore('code.ds', 32000), 32000).propose({ context, budget: 32, maxDepth: 10 })
 * → a tree of up to 32 retrieved nodes, every node's sources = 1 << 3.
 */
/** RASD pruning threshold: a retrieved branch survives if the draft model gives its first token at least this. */
export const RASD_MIN_DRAFT_PROB = 0.01;

export class RetrievalDrafter implements Drafter {
  readonly name = 'retrieval';

  constructor(readonly id: number, private readonly datastore: Datastore | null, vocab: number, private readonly opts: RetrievalOptions = DEFAULT_RETRIEVAL) {
    if (datastore && datastore.vocab !== vocab) {
      throw errors.vocabMismatch(`datastore ${datastore.name || '(unnamed)'} has vocabulary size ${datastore.vocab}, but the model has ${vocab}`, 'datastore');
    }
    if (!(opts.minNgram >= 1 && opts.maxNgram >= opts.minNgram && opts.maxLength >= 1 && opts.maxDatastoreMatches >= 1 && opts.maxContextMatches >= 0)) {
      throw errors.invalidParam(`retrieval options ${JSON.stringify(opts)} need 1 ≤ minNgram ≤ maxNgram, maxLength ≥ 1, maxDatastoreMatches ≥ 1, maxContextMatches ≥ 0`);
    }
  }

  begin(): void {}

  propose(req: DraftRequest): DraftTree | null {
    const tree = retrievalTree(req.context, this.datastore, this.opts, req.budget, req.maxDepth, this.id);
    const q = req.draftRootProbs;
    if (!tree || !q) return tree;
    // RASD: with a draft model active, keep only branches whose first token the draft finds plausible;
    // the engine then fuses what is left into the draft model's tree by longest common prefix.
    const pruned = pruneRetrievalByDraft(tree, (token) => q[token] >= RASD_MIN_DRAFT_PROB);
    return pruned.numNodes > 1 ? pruned : null;
  }

  observe(): void {}

  dispose(): void {}
}
