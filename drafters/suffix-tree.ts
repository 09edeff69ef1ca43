// A counted suffix trie of bounded depth (SuffixDecoding, Oliaro et al., arXiv 2411.04975 §3): every suffix of
// every inserted sequence, cut to `maxDepth` tokens, is a root path; a node's count is how many suffixes pass
// through it, so count(child) / count(parent) estimates how often that token followed that context.
// Owns insertion, exact removal and suffix matching; never decides what to draft (drafters/suffix-draft.ts).
//
// Storage: the nodes live in ONE Int32Array, 7 numbers (28 bytes) a node, with a free list, doubling when full;
// the children of a node with many of them are also found through one open-addressing table keyed by
// (parent, token). A warm global cache holds millions of nodes: as objects (~190-250 bytes each with their
// child arrays, ~3 KB per cached output token) they cost 6-9x the memory (scratch/suffix-mem: 1024 outputs of
// 128 tokens 388 MB → 60 MB) and full GCs of 0.5-4 s; here the GC sees two arrays.

/** A node: its index in the tree's pool. The root is 0; NO_NODE (-1) stands for none. */
export type SuffixNode = number;
export const NO_NODE = -1;

// A node's fields, at node · S + field. Children form a list in count order (most frequent first, ties older
// first) through FIRST / NEXT; PREV is circular (the first child's PREV is the last child), so a child is
// appended, unlinked and moved in O(1).
const TOKEN = 0;
const COUNT = 1;
const OWNER = 2;
const FIRST = 3;
const NEXT = 4; // also the free list's link
const PREV = 5;
/** depth (bits 0-7) | INDEXED (bit 8) | generation (bits 16-31, bumped each time the slot is freed). */
const META = 6;
const S = 7;
const DEPTH_MASK = 0xff;
const INDEXED = 0x100;

/** Above this many children a node's children are also in the (parent, token) table. */
const INDEX_AT = 8;
const INITIAL_NODES = 256;
const INITIAL_SLOTS = 64;
/** (parent, token, child) per table slot; parent -1 = empty. */
const H = 3;

function slotOf(parent: number, token: number, mask: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(token, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & mask;
}

/**
 * Example: insert [5, 6, 5, 7] with maxDepth 3 → root count 4; 5 (count 2) → {6 (1) → 5 (1), 7 (1)};
 * 6 (1) → 5 (1) → 7 (1); 7 (1). match([.., 9, 5], 3) → [node "5"] (the 2-gram [9, 5] never occurred).
 */
export class SuffixTree {
  readonly root: SuffixNode = 0;
  /** Nodes besides the root (a memory measure: 28 bytes each, plus the table for many-children nodes). */
  size = 0;
  /** The node pool, S numbers a node (replaced by a larger copy when full: never keep it across an insert). */
  private a: Int32Array;
  /** Slots handed out so far (live or on the free list), the root included. */
  private used = 1;
  private freeHead = -1;
  /** (parent, token) → child for the children of INDEXED nodes: linear probing, at most 2/3 full. */
  private table = new Int32Array(0);
  private tableMask = -1;
  private tableCount = 0;
  private readonly stack: number[] = [];

  constructor(readonly maxDepth: number, initialNodes = INITIAL_NODES) {
    if (!(Number.isInteger(maxDepth) && maxDepth >= 0 && maxDepth <= DEPTH_MASK)) throw new RangeError(`suffix tree depth ${maxDepth} must be an integer in 0..${DEPTH_MASK}`);
    this.a = new Int32Array(Math.max(2, initialNodes) * S);
    this.a.set([-1, 0, -1, -1, -1, -1, 0], 0); // the root: token -1, depth 0, owner -1
  }

  token(n: SuffixNode): number {
    return this.a[n * S + TOKEN];
  }

  /** Suffixes through this node (the root: tokens inserted); 0 once removed. */
  count(n: SuffixNode): number {
    return this.a[n * S + COUNT];
  }

  depth(n: SuffixNode): number {
    return this.a[n * S + META] & DEPTH_MASK;
  }

  /** The sequence (cache entry id) that last inserted through this node; -1 for per-request trees. */
  owner(n: SuffixNode): number {
    return this.a[n * S + OWNER];
  }

  /** The most frequent child (NO_NODE when none); the others follow by nextSibling in count order. */
  firstChild(n: SuffixNode): SuffixNode {
    return this.a[n * S + FIRST];
  }

  nextSibling(n: SuffixNode): SuffixNode {
    return this.a[n * S + NEXT];
  }

  /** Changes whenever the node is removed, so stamp + id names a node even after its slot is reused. */
  stamp(n: SuffixNode): number {
    return this.a[n * S + META] >>> 16;
  }

  /** owner(n) while n is still the node stamp() was read from; -1 once it was removed (its owner was too). */
  ownerIf(n: SuffixNode, stamp: number): number {
    return n >= 0 && n < this.used && this.stamp(n) === stamp && this.count(n) > 0 ? this.owner(n) : -1;
  }

  /** The children in order, most frequent first (allocates: for tests and tools). */
  children(n: SuffixNode): SuffixNode[] {
    const out: SuffixNode[] = [];
    for (let c = this.firstChild(n); c >= 0; c = this.nextSibling(c)) out.push(c);
    return out;
  }

  /** Whether n's children are also found through the (parent, token) table. */
  isIndexed(n: SuffixNode): boolean {
    return (this.a[n * S + META] & INDEXED) !== 0;
  }

  /** Pool slots handed out (live nodes + root + free slots): removal puts slots back for reuse. */
  get slots(): number {
    return this.used;
  }

  /** Bytes held by the pool and the table. */
  get bytes(): number {
    return this.a.byteLength + this.table.byteLength;
  }

  /** n's child for `token`, or NO_NODE. */
  child(n: SuffixNode, token: number): SuffixNode {
    const a = this.a;
    if (a[n * S + META] & INDEXED) return this.lookup(n, token);
    for (let c = a[n * S + FIRST]; c >= 0; c = a[c * S + NEXT]) if (a[c * S + TOKEN] === token) return c;
    return NO_NODE;
  }

  /** Adds every suffix of `tokens` (each cut to maxDepth). O(tokens · maxDepth). */
  insert(tokens: ArrayLike<number>, owner = -1): void {
    const w = new SuffixWriter(this, owner);
    for (let i = 0; i < tokens.length; i++) w.push(tokens[i]);
  }

  /** Exactly undoes insert(tokens): counts go back down and nodes left with count 0 are freed. */
  remove(tokens: ArrayLike<number>): void {
    const D = this.maxDepth;
    let active = new Int32Array(D + 1);
    let next = new Int32Array(D + 1);
    let na = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      let nn = 0;
      this.a[COUNT]--; // the root
      for (let j = -1; j < na; j++) {
        const parent = j < 0 ? 0 : active[j];
        const a = this.a;
        // A node at count 0 was freed with its whole subtree (whose counts read 0 too).
        if ((a[parent * S + META] & DEPTH_MASK) >= D || (parent !== 0 && a[parent * S + COUNT] <= 0)) continue;
        const c = this.child(parent, t);
        if (c < 0) continue; // already freed with an ancestor (its whole subtree reached 0)
        this.decrement(parent, c);
        next[nn++] = c;
      }
      const swap = active;
      active = next;
      next = swap;
      na = nn;
    }
  }

  /**
   * Nodes of the context's suffixes that occur in the trie, by length: out[m - 1] is the node of the last m
   * tokens, m = 1..k ≤ maxLen (a shorter suffix always occurs when a longer one does, so the first miss ends it).
   */
  match(context: readonly number[], maxLen: number): SuffixNode[] {
    const n = context.length;
    const out: SuffixNode[] = [];
    const last = Math.min(maxLen, n, this.maxDepth);
    for (let m = 1; m <= last; m++) {
      let node = 0;
      for (let j = n - m; j < n && node >= 0; j++) node = this.child(node, context[j]);
      if (node < 0 || this.a[node * S + COUNT] <= 0) break;
      out.push(node);
    }
    return out;
  }

  /**
   * One token appended to a sequence being inserted: the root counts it, and `token` is counted under the root
   * and under each of `active[0..n)` (the nodes of the sequence's suffixes so far) not at maxDepth, in that
   * order; their children go to `out` (room for maxDepth). Returns how many.
   */
  extend(active: Int32Array, n: number, out: Int32Array, token: number, owner: number): number {
    this.a[COUNT]++;
    let k = 0;
    out[k++] = this.increment(0, token, owner);
    for (let j = 0; j < n; j++) {
      const node = active[j];
      if ((this.a[node * S + META] & DEPTH_MASK) < this.maxDepth) out[k++] = this.increment(node, token, owner);
    }
    return k;
  }

  /** count + 1 on `parent`'s child for `token` (created when new), kept in count order. */
  increment(parent: SuffixNode, token: number, owner: number): SuffixNode {
    const po = parent * S;
    let c = this.child(parent, token);
    if (c < 0) {
      c = this.alloc(token, (this.a[po + META] & DEPTH_MASK) + 1, owner);
      this.append(parent, c);
      this.size++;
      if (this.a[po + META] & INDEXED) this.tableSet(parent, token, c);
      else if (this.numChildren(parent) > INDEX_AT) this.index(parent);
    }
    const a = this.a; // after alloc: the pool may have grown
    const k = ++a[c * S + COUNT];
    a[c * S + OWNER] = owner;
    // Move toward the front past siblings with a smaller count (a new or equal count stays behind older ones).
    const first = a[po + FIRST];
    let q = c;
    while (q !== first) {
      const p = a[q * S + PREV];
      if (a[p * S + COUNT] >= k) break;
      q = p;
    }
    if (q !== c) {
      this.unlink(parent, c);
      this.insertBefore(parent, c, q);
    }
    return c;
  }

  private decrement(parent: SuffixNode, c: SuffixNode): void {
    const a = this.a;
    const k = --a[c * S + COUNT];
    if (k <= 0) {
      this.unlink(parent, c);
      if (a[parent * S + META] & INDEXED) this.tableDelete(parent, a[c * S + TOKEN]);
      this.size -= this.freeSubtree(c);
      return;
    }
    // Move toward the back past siblings with a larger count.
    let q = c;
    for (let x = a[c * S + NEXT]; x >= 0 && a[x * S + COUNT] > k; x = a[x * S + NEXT]) q = x;
    if (q !== c) {
      this.unlink(parent, c);
      this.insertAfter(parent, q, c);
    }
  }

  private alloc(token: number, depth: number, owner: number): SuffixNode {
    let n = this.freeHead;
    if (n >= 0) this.freeHead = this.a[n * S + NEXT];
    else {
      if ((this.used + 1) * S > this.a.length) this.grow();
      n = this.used++;
    }
    const a = this.a;
    const o = n * S;
    a[o + TOKEN] = token;
    a[o + COUNT] = 0;
    a[o + OWNER] = owner;
    a[o + FIRST] = -1;
    a[o + NEXT] = -1;
    a[o + PREV] = -1;
    a[o + META] = (a[o + META] & ~0xffff) | depth; // keeps the slot's generation
    return n;
  }

  private grow(): void {
    const bigger = new Int32Array(this.a.length * 2);
    bigger.set(this.a);
    this.a = bigger;
  }

  /** Frees c and everything below it (already unlinked); returns how many nodes. */
  private freeSubtree(c: SuffixNode): number {
    const a = this.a;
    const stack = this.stack;
    let n = 0;
    stack.push(c);
    while (stack.length > 0) {
      const x = stack.pop()!;
      const xo = x * S;
      const indexed = a[xo + META] & INDEXED;
      for (let y = a[xo + FIRST]; y >= 0; y = a[y * S + NEXT]) {
        if (indexed) this.tableDelete(x, a[y * S + TOKEN]);
        stack.push(y);
      }
      const meta = a[xo + META];
      a[xo + META] = (((meta >>> 16) + 1) << 16) | (meta & DEPTH_MASK); // generation + 1 (wraps), not indexed
      a[xo + COUNT] = 0;
      a[xo + FIRST] = -1;
      a[xo + PREV] = -1;
      a[xo + NEXT] = this.freeHead;
      this.freeHead = x;
      n++;
    }
    return n;
  }

  private numChildren(n: SuffixNode): number {
    const a = this.a;
    let k = 0;
    for (let c = a[n * S + FIRST]; c >= 0; c = a[c * S + NEXT]) k++;
    return k;
  }

  // The sibling list: FIRST / NEXT forward, PREV backward and circular (first's PREV = last).

  private append(parent: SuffixNode, c: SuffixNode): void {
    const a = this.a;
    const first = a[parent * S + FIRST];
    a[c * S + NEXT] = -1;
    if (first < 0) {
      a[parent * S + FIRST] = c;
      a[c * S + PREV] = c;
      return;
    }
    const last = a[first * S + PREV];
    a[last * S + NEXT] = c;
    a[c * S + PREV] = last;
    a[first * S + PREV] = c;
  }

  private unlink(parent: SuffixNode, c: SuffixNode): void {
    const a = this.a;
    const next = a[c * S + NEXT];
    const prev = a[c * S + PREV];
    const first = a[parent * S + FIRST];
    if (c === first) {
      a[parent * S + FIRST] = next;
      if (next >= 0) a[next * S + PREV] = prev; // the last child (prev of the first)
    } else {
      a[prev * S + NEXT] = next;
      if (next >= 0) a[next * S + PREV] = prev;
      else a[first * S + PREV] = prev; // c was the last
    }
    a[c * S + NEXT] = -1;
    a[c * S + PREV] = -1;
  }

  /** Links c (unlinked) just before q, a child of parent. */
  private insertBefore(parent: SuffixNode, c: SuffixNode, q: SuffixNode): void {
    const a = this.a;
    const prev = a[q * S + PREV];
    a[c * S + NEXT] = q;
    a[c * S + PREV] = prev;
    if (q === a[parent * S + FIRST]) a[parent * S + FIRST] = c;
    else a[prev * S + NEXT] = c;
    a[q * S + PREV] = c;
  }

  /** Links c (unlinked) just after q, a child of parent. */
  private insertAfter(parent: SuffixNode, q: SuffixNode, c: SuffixNode): void {
    const a = this.a;
    const next = a[q * S + NEXT];
    a[q * S + NEXT] = c;
    a[c * S + PREV] = q;
    a[c * S + NEXT] = next;
    if (next >= 0) a[next * S + PREV] = c;
    else a[a[parent * S + FIRST] * S + PREV] = c; // c is the new last
  }

  // The (parent, token) → child table.

  private lookup(parent: SuffixNode, token: number): SuffixNode {
    const h = this.table;
    const mask = this.tableMask;
    for (let i = slotOf(parent, token, mask); ; i = (i + 1) & mask) {
      const p = h[i * H];
      if (p === -1) return NO_NODE;
      if (p === parent && h[i * H + 1] === token) return h[i * H + 2];
    }
  }

  private tableSet(parent: SuffixNode, token: number, child: SuffixNode): void {
    if ((this.tableCount + 1) * 3 > (this.tableMask + 1) * 2) this.rehash();
    const h = this.table;
    const mask = this.tableMask;
    let i = slotOf(parent, token, mask);
    while (h[i * H] !== -1) i = (i + 1) & mask;
    h[i * H] = parent;
    h[i * H + 1] = token;
    h[i * H + 2] = child;
    this.tableCount++;
  }

  private rehash(): void {
    const old = this.table;
    const slots = old.length === 0 ? INITIAL_SLOTS : (this.tableMask + 1) * 2;
    const h = new Int32Array(slots * H).fill(-1);
    const mask = slots - 1;
    for (let j = 0; j < old.length; j += H) {
      if (old[j] === -1) continue;
      let i = slotOf(old[j], old[j + 1], mask);
      while (h[i * H] !== -1) i = (i + 1) & mask;
      h[i * H] = old[j];
      h[i * H + 1] = old[j + 1];
      h[i * H + 2] = old[j + 2];
    }
    this.table = h;
    this.tableMask = mask;
  }

  /** Removes an entry that is there; later entries of its probe run shift back (no tombstones). */
  private tableDelete(parent: SuffixNode, token: number): void {
    const h = this.table;
    const mask = this.tableMask;
    let i = slotOf(parent, token, mask);
    while (!(h[i * H] === parent && h[i * H + 1] === token)) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; h[j * H] !== -1; j = (j + 1) & mask) {
      const home = slotOf(h[j * H], h[j * H + 1], mask);
      // The entry at j stays when its home lies cyclically in (i, j]; otherwise it fills the hole at i.
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      h[i * H] = h[j * H];
      h[i * H + 1] = h[j * H + 1];
      h[i * H + 2] = h[j * H + 2];
      i = j;
    }
    h[i * H] = -1;
    this.tableCount--;
  }

  /** From now on n's children are also in the table. */
  private index(n: SuffixNode): void {
    for (let c = this.a[n * S + FIRST]; c >= 0; c = this.a[c * S + NEXT]) this.tableSet(n, this.a[c * S + TOKEN], c);
    this.a[n * S + META] |= INDEXED;
  }
}

/**
 * Appends a sequence to a trie token by token: after each push, nodes() are the nodes of the sequence's
 * suffixes of length 1..min(length, maxDepth), by length (the per-request tree's matches, for free).
 */
export class SuffixWriter {
  private active: Int32Array;
  private next: Int32Array;
  private n = 0;

  constructor(private readonly tree: SuffixTree, private readonly owner = -1) {
    this.active = new Int32Array(tree.maxDepth + 1);
    this.next = new Int32Array(tree.maxDepth + 1);
  }

  push(token: number): void {
    const k = this.tree.extend(this.active, this.n, this.next, token, this.owner);
    const swap = this.active;
    this.active = this.next;
    this.next = swap;
    this.n = k;
  }

  /** out[m - 1] = the node of the last m tokens pushed. */
  nodes(): SuffixNode[] {
    return Array.from(this.active.subarray(0, this.n));
  }
}
