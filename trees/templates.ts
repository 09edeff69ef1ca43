// Static draft-tree templates (lists of child-rank paths) and the BFS fill that turns one into a DraftTree.
// Owns Token Recycling's "2.2.2" template; never decides which candidates a token has (the caller's lookup does).
import assert from 'node:assert/strict';
import { errors } from '../common/errors.ts';
import { TreeBuilder, type DraftTree } from './draft-tree.ts';

/**
 * A template: one rank path per draft node, parents before children. [0, 1, 2] = the root's rank-0 candidate,
 * then that token's rank-1 candidate, then that token's rank-2 candidate (Token Recycling, arXiv 2408.08696 §3).
 */
export type TreeTemplate = readonly (readonly number[])[];

/** Number of children per rank path ('' = root, '0.1' = path [0, 1]); nodes not listed are leaves. */
export type Fanout = Readonly<Record<string, number>>;

/** Expands a fan-out table breadth-first: children of a node get ranks 0..n-1, level by level. */
export function templateFromFanout(fanout: Fanout): TreeTemplate {
  const template: number[][] = [];
  let level: number[][] = [[]];
  while (level.length > 0) {
    const next: number[][] = [];
    for (const path of level) {
      const n = fanout[path.join('.')] ?? 0;
      for (let r = 0; r < n; r++) next.push([...path, r]);
    }
    template.push(...next);
    level = next;
  }
  return Object.freeze(template.map((p) => Object.freeze(p)));
}

/**
 * Token Recycling's template "2.2.2": 80 draft nodes, depth 6, nodes per level 8, 21, 25, 15, 8, 3, branching
 * skewed toward rank 0 (root 8 children; [0] 8, [1] 4, [2] 3, [3] 2, [4..7] 1 each; [0,0] 8, [0,1] 3, [0,2] 2, …).
 * NOTE(trees): written here as our own fan-out table from the shape described in speculation-methods.md §1
 * (TokenRecycling `model/recycling/tree_template_.py`); it expands to the same 80 rank paths in the same order.
 */
export const TOKEN_RECYCLING_FANOUT: Fanout = Object.freeze({
  '': 8,
  '0': 8, '1': 4, '2': 3, '3': 2, '4': 1, '5': 1, '6': 1, '7': 1,
  '0.0': 8, '0.1': 3, '0.2': 2, '0.3': 1, '0.4': 1, '0.5': 1, '0.6': 1, '0.7': 1,
  '1.0': 2, '1.1': 1, '2.0': 1, '3.0': 1, '4.0': 1, '5.0': 1,
  '0.0.0': 5, '0.0.1': 2, '0.0.2': 1, '0.0.3': 1, '0.0.4': 1, '0.1.0': 1, '0.2.0': 1, '1.0.0': 1, '2.0.0': 1, '3.0.0': 1,
  '0.0.0.0': 3, '0.0.0.1': 1, '0.0.0.2': 1, '0.0.1.0': 1, '0.1.0.0': 1, '1.0.0.0': 1,
  '0.0.0.0.0': 2, '0.0.0.1.0': 1,
});

export const TOKEN_RECYCLING_TEMPLATE: TreeTemplate = templateFromFanout(TOKEN_RECYCLING_FANOUT);

/** Throws errors.invalidParam unless every path is non-empty, of non-negative integer ranks, new, and after its parent. */
export function validateTemplate(template: TreeTemplate): void {
  const seen = new Set<string>(['']);
  template.forEach((path, i) => {
    if (path.length === 0 || !path.every((r) => Number.isInteger(r) && r >= 0)) {
      throw errors.invalidParam(`tree template path ${i} [${path.join(',')}] must be a non-empty list of non-negative integer ranks`);
    }
    const key = path.join('.');
    if (seen.has(key)) throw errors.invalidParam(`tree template path ${i} [${path.join(',')}] appears twice`);
    if (!seen.has(path.slice(0, -1).join('.'))) throw errors.invalidParam(`tree template path ${i} [${path.join(',')}] comes before its parent`);
    seen.add(key);
  });
}

/** Number of template nodes at each depth; index 0 = depth 1. */
export function levelCounts(template: TreeTemplate): number[] {
  const counts: number[] = [];
  for (const path of template) counts[path.length - 1] = (counts[path.length - 1] ?? 0) + 1;
  return Array.from(counts, (c) => c ?? 0);
}

export interface FillOptions {
  /** Drafter id recorded in every node's sources. */
  source?: number;
  /**
   * Acceptance estimate for a rank-r child given its parent is accepted; a node's score is the product along its
   * path (Sequoia's positional acceptance vector, arXiv 2402.12374 §3.1). Default 0.5 / (r + 1), a power law
   * standing in for a measured vector.
   */
  rankAcceptance?: (rank: number) => number;
  /** Each template node's score, by template index, in place of the rankAcceptance product (e.g. a learned value). */
  scores?: ArrayLike<number>;
  /** The token before the root (-1 = unknown): childTokensOf's `prev` for the root's children. */
  rootPrev?: number;
}

/**
 * Fills a template breadth-first: node [..., r] gets childTokensOf(token of its parent, r, token before the parent);
 * all nodes are DETERMINISTIC. A negative candidate means "none" and drops the node. A token already present among
 * its siblings is a duplicate: the FIRST occurrence (in template order) wins and the duplicate's whole subtree is
 * dropped. Token Recycling drafts through this (with its learned scores and pair rows).
 *
 * Example: template [[0], [1], [0, 0]], childTokensOf = (t, r) => M[t][r] with M[5] = [7, 7], M[7] = [2]
 * → root 5 with child 7 (rank 0), [1] dropped as a duplicate of 7, and 7 → 2.
 */
export function fillTemplate(
  template: TreeTemplate,
  rootToken: number,
  childTokensOf: (token: number, rank: number, prev: number) => number,
  opts: FillOptions = {},
): DraftTree {
  const c = compileTemplate(template);
  const rankAcceptance = opts.rankAcceptance ?? ((r: number) => 0.5 / (r + 1));
  const scores = opts.scores;
  const b = new TreeBuilder(rootToken, c.size + 1);
  const nodeOf = new Int32Array(c.size); // template index → tree node, -1 = dropped
  const scoreOf = new Float64Array(c.size);
  const prevOf = [opts.rootPrev ?? -1]; // tree node → the token before it
  for (let i = 0; i < c.size; i++) {
    nodeOf[i] = -1;
    const pi = c.parent[i];
    const parent = pi < 0 ? 0 : nodeOf[pi];
    if (parent < 0) continue;
    const rank = c.rank[i];
    const parentToken = b.tokenAt(parent);
    const token = childTokensOf(parentToken, rank, prevOf[parent]);
    if (token < 0 || b.findChild(parent, token) >= 0) continue;
    if (!(Number.isInteger(token))) assert.fail(`candidate ${token} for rank ${rank} is not an integer`);
    const score = scores ? scores[i] : (pi < 0 ? 1 : scoreOf[pi]) * rankAcceptance(rank);
    nodeOf[i] = b.add(parent, token, { score, source: opts.source });
    scoreOf[i] = score;
    prevOf[nodeOf[i]] = parentToken;
  }
  return b.build();
}

interface CompiledTemplate {
  size: number;
  /** Template index of each path's parent; -1 for the root's children. [size] */
  parent: Int32Array;
  /** Last rank of each path. [size] */
  rank: Int32Array;
}

const compiled = new WeakMap<TreeTemplate, CompiledTemplate>();

/** Validates a template once and turns its rank paths into parent/rank index arrays (cached per template). */
function compileTemplate(template: TreeTemplate): CompiledTemplate {
  let c = compiled.get(template);
  if (c) return c;
  validateTemplate(template);
  const index = new Map<string, number>([['', -1]]);
  c = { size: template.length, parent: new Int32Array(template.length), rank: new Int32Array(template.length) };
  template.forEach((path, i) => {
    c!.parent[i] = index.get(path.slice(0, -1).join('.'))!;
    c!.rank[i] = path[path.length - 1];
    index.set(path.join('.'), i);
  });
  compiled.set(template, c);
  return c;
}
