// A counted suffix trie of bounded depth (SuffixDecoding, Oliaro et al., arXiv 2411.04975 §3): every suffix of
// every inserted sequence, cut to `maxDepth` tokens, is a root path; a node's count is how many suffixes pass
// through it, so count(child) / count(parent) estimates how often that token followed that context.
// Owns insertion, exact removal and suffix matching; never decides what to draft (drafters/suffix-draft.ts).

export interface SuffixNode {
  token: number;
  /** Suffixes through this node (the root: tokens inserted). */
  count: number;
  depth: number;
  /** The sequence (cache entry id) that last inserted through this node; -1 for per-request trees. */
  owner: number;
  /** Sorted by count, most frequent first (ties: older first). */
  children: SuffixNode[];
  /** token → child, built once a node has many children (the sorted array stays the source of order). */
  index: Map<number, SuffixNode> | null;
}

/** Above this many children a node also keeps a Map from token to child. */
const INDEX_AT = 8;

function newNode(token: number, depth: number, owner: number): SuffixNode {
  return { token, count: 0, depth, owner, children: [], index: null };
}

export function childOf(node: SuffixNode, token: number): SuffixNode | undefined {
  if (node.index) return node.index.get(token);
  const c = node.children;
  for (let i = 0; i < c.length; i++) if (c[i].token === token) return c[i];
  return undefined;
}

/**
 * Example: insert [5, 6, 5, 7] with maxDepth 3 → root count 4; 5 (count 2) → {6 (1) → 5 (1), 7 (1)};
 * 6 (1) → 5 (1) → 7 (1); 7 (1). match([.., 9, 5], 3) → [node "5"] (the 2-gram [9, 5] never occurred).
 */
export class SuffixTree {
  readonly root: SuffixNode = newNode(-1, 0, -1);
  /** Nodes besides the root (a memory measure: ~100–150 bytes each). */
  size = 0;

  constructor(readonly maxDepth: number) {}

  /** Adds every suffix of `tokens` (each cut to maxDepth). O(tokens · maxDepth). */
  insert(tokens: ArrayLike<number>, owner = -1): void {
    const w = new SuffixWriter(this, owner);
    for (let i = 0; i < tokens.length; i++) w.push(tokens[i]);
  }

  /** Exactly undoes insert(tokens): counts go back down and nodes left with count 0 are unlinked. */
  remove(tokens: ArrayLike<number>): void {
    let active: SuffixNode[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      const next: SuffixNode[] = [];
      this.root.count--;
      for (const parent of [this.root, ...active]) {
        // A node at count 0 was unlinked with its whole subtree (its size already taken off).
        if (parent.depth >= this.maxDepth || (parent !== this.root && parent.count <= 0)) continue;
        const c = childOf(parent, t);
        if (!c) continue; // already unlinked with an ancestor (its whole subtree reached 0)
        this.decrement(parent, c);
        next.push(c);
      }
      active = next;
    }
  }

  /**
   * Nodes of the context's suffixes that occur in the trie, by length: out[m - 1] is the node of the last m
   * tokens, m = 1..k ≤ maxLen (a shorter suffix always occurs when a longer one does, so the first miss ends it).
   */
  match(context: readonly number[], maxLen: number): SuffixNode[] {
    const n = context.length;
    const out: SuffixNode[] = [];
    for (let m = 1; m <= Math.min(maxLen, n, this.maxDepth); m++) {
      let node: SuffixNode | undefined = this.root;
      for (let j = n - m; j < n && node; j++) node = childOf(node, context[j]);
      if (!node || node.count <= 0) break;
      out.push(node);
    }
    return out;
  }

  /** count + 1 on `parent`'s child for `token` (created when new), kept in count order. */
  increment(parent: SuffixNode, token: number, owner: number): SuffixNode {
    let c = childOf(parent, token);
    const kids = parent.children;
    let fresh = false;
    if (!c) {
      c = newNode(token, parent.depth + 1, owner);
      fresh = true;
      kids.push(c);
      this.size++;
      if (parent.index) parent.index.set(token, c);
      else if (kids.length > INDEX_AT) parent.index = new Map(kids.map((k) => [k.token, k]));
    }
    c.count++;
    c.owner = owner;
    // Bubble toward the front past siblings with a smaller count (a new or equal count stays behind older ones).
    // Children sit most frequent first: a known child is found from the front, a new one is the last.
    let i = fresh ? kids.length - 1 : kids.indexOf(c);
    while (i > 0 && kids[i - 1].count < c.count) {
      kids[i] = kids[i - 1];
      i--;
    }
    kids[i] = c;
    return c;
  }

  private decrement(parent: SuffixNode, c: SuffixNode): void {
    c.count--;
    const kids = parent.children;
    let i = kids.indexOf(c);
    if (c.count <= 0) {
      kids.splice(i, 1);
      parent.index?.delete(c.token);
      if (parent.index && kids.length <= INDEX_AT) parent.index = null;
      this.size -= subtreeSize(c);
      return;
    }
    while (i + 1 < kids.length && kids[i + 1].count > c.count) {
      kids[i] = kids[i + 1];
      i++;
    }
    kids[i] = c;
  }
}

function subtreeSize(node: SuffixNode): number {
  let n = 1;
  for (const c of node.children) n += subtreeSize(c);
  return n;
}

/**
 * Appends a sequence to a trie token by token: after each push, nodes() are the nodes of the sequence's
 * suffixes of length 1..min(length, maxDepth), by length (the per-request tree's matches, for free).
 */
export class SuffixWriter {
  private active: SuffixNode[] = [];

  constructor(private readonly tree: SuffixTree, private readonly owner = -1) {}

  push(token: number): void {
    const tree = this.tree;
    tree.root.count++;
    const next: SuffixNode[] = [tree.increment(tree.root, token, this.owner)];
    for (const node of this.active) if (node.depth < tree.maxDepth) next.push(tree.increment(node, token, this.owner));
    this.active = next;
  }

  /** out[m - 1] = the node of the last m tokens pushed. */
  nodes(): readonly SuffixNode[] {
    return this.active;
  }
}
