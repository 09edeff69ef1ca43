// Prompt lookup (PLD, Saxena 2023; REST-style tries, He et al. 2024): find the longest suffix of the context
// (maxNgram down to minNgram tokens) that occurred before, and draft what followed it. Continuations from
// several matches share one trie, most recent first; a node's score is the share of matches that agree on it.
import type { DraftTree } from '../trees/draft-tree.ts';
import { TreeBuilder } from '../trees/draft-tree.ts';
import { pruneToBudget } from '../trees/prune.ts';
import type { DraftRequest, Drafter } from './drafter.ts';

interface TrieNode {
  token: number;
  count: number;
  children: Map<number, TrieNode>;
}

export interface LookupOptions {
  /** Longest suffix tried. */
  maxNgram: number;
  /** Shortest suffix accepted as a match. */
  minNgram: number;
  /** Most matches (continuations) merged into the trie. */
  maxMatches: number;
  /** Continuation length for a 1-token match; grows by `lengthPerMatchedToken` per extra matched token. */
  baseLength: number;
  lengthPerMatchedToken: number;
  maxLength: number;
}

export const DEFAULT_LOOKUP: LookupOptions = { maxNgram: 4, minNgram: 1, maxMatches: 8, baseLength: 3, lengthPerMatchedToken: 3, maxLength: 12 };

/**
 * Worked example: context [5, 6, 7, 9, 5, 6, 7, 8, 5, 6] (root 6), maxNgram 3.
 * The 3-gram [8, 5, 6] never occurred before; the 2-gram [5, 6] did, at 0 and 4 (most recent first: 4, 0),
 * continuing [7, 8, 5, ...] and [7, 9, 5, ...]. Trie: 6 → 7 (score 1) → {8 (0.5), 9 (0.5)} → ...
 */
export function lookupTree(context: readonly number[], opts: LookupOptions, budget: number, maxDepth: number, source: number): DraftTree | null {
  const n = context.length;
  const root = context[n - 1];
  for (let g = Math.min(opts.maxNgram, n - 1); g >= opts.minNgram; g--) {
    // Match ends at i (exclusive) where context[i-g .. i) equals the last g tokens; continuation starts at i.
    const starts: number[] = [];
    for (let i = n - 1; i >= g && starts.length < opts.maxMatches; i--) {
      let ok = true;
      for (let j = 1; j <= g; j++) {
        if (context[i - j] !== context[n - j]) {
          ok = false;
          break;
        }
      }
      if (ok) starts.push(i);
    }
    if (starts.length === 0) continue;
    const len = Math.min(opts.maxLength, maxDepth, opts.baseLength + (g - 1) * opts.lengthPerMatchedToken);
    if (len <= 0) return null;
    // A trie with match counts (REST's trie), then nodes in BFS order, most recent match first among siblings.
    const trie: TrieNode = { token: root, count: starts.length, children: new Map() };
    for (const s of starts) {
      let node = trie;
      for (let d = 0; d < len && s + d < n; d++) {
        const tok = context[s + d];
        let child = node.children.get(tok);
        if (!child) {
          child = { token: tok, count: 0, children: new Map() };
          node.children.set(tok, child);
        }
        child.count++;
        node = child;
      }
    }
    const b = new TreeBuilder(root, starts.length * len + 1);
    const queue: [TrieNode, number, number][] = [[trie, 0, 0]];
    for (let q = 0; q < queue.length; q++) {
      const [node, index, depth] = queue[q];
      for (const child of node.children.values()) {
        // score = share of matches through the node, decayed per depth so deeper guesses rank lower.
        const score = (child.count / starts.length) * Math.pow(0.9, depth);
        queue.push([child, b.add(index, child.token, { score, source }), depth + 1]);
      }
    }
    if (b.numNodes <= 1) return null;
    const tree = b.build();
    return pruneToBudget(tree, budget);
  }
  return null;
}

export class LookupDrafter implements Drafter {
  readonly name = 'lookup';

  constructor(readonly id: number, private readonly opts: LookupOptions = DEFAULT_LOOKUP) {}

  begin(): void {}

  propose(req: DraftRequest): DraftTree | null {
    if (req.budget <= 0 || req.maxDepth <= 0) return null;
    return lookupTree(req.context, this.opts, req.budget, req.maxDepth, this.id);
  }

  observe(): void {}

  dispose(): void {}
}
