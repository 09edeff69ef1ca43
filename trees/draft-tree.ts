// The draft tree: flat typed arrays in topological order; node 0 is the ROOT (the last emitted token, KV not yet computed).
// Owns the tree invariants and the only way to build a tree (TreeBuilder); it never looks at logits.
import assert from 'node:assert/strict';

/**
 * How a node was proposed. DETERMINISTIC: a fixed guess (top-k rank, n-gram, retrieval, template); verified by rule D.
 * SAMPLED: one draw of a without-replacement sequence from its parent's draft distribution; verified by rule S.
 */
export const NodeKind = { deterministic: 0, sampled: 1 } as const;
export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];

/** Drafter ids are 0..MAX_DRAFTERS-1; a node's `sources` is a bitmask over them. */
export const MAX_DRAFTERS = 32;

/**
 * A frozen draft tree. Treat every array as read-only.
 *
 * INVARIANTS (checked by TreeBuilder):
 * - node 0 is the root: parents[0] = -1, depths[0] = 0, scores[0] = 1; it is never verified;
 * - parents[i] < i for i ≥ 1 (parents before children) and depths[i] = depths[parents[i]] + 1;
 * - SIBLING TOKENS ARE DISTINCT (adding an existing child merges into it);
 * - kinds[i] = SAMPLED exactly when tokens[i] appears in drawOrders[parents[i]]; a token proposed both
 *   deterministically and by sampling is ONE node of kind SAMPLED (see verifier/verify-tree.ts for why that is lossless);
 * - drawOrders[u] lists every draw made at u in draw order, INCLUDING draws that have no node
 *   ("phantom" draws, e.g. removed by pruning); rule S needs the whole sequence to stay unbiased.
 */
export interface DraftTree {
  readonly numNodes: number;
  readonly tokens: Int32Array; // [numNodes]
  readonly parents: Int32Array; // [numNodes], -1 at the root
  readonly depths: Int32Array; // [numNodes], 0 at the root
  /** Estimated probability that the node is accepted (product along its path); 1 at the root. */
  readonly scores: Float32Array; // [numNodes]
  /** q(token) under the parent's draft distribution for SAMPLED nodes, else 0. */
  readonly draftProbs: Float32Array; // [numNodes]
  readonly kinds: Uint8Array; // [numNodes], NodeKind
  readonly sources: Uint32Array; // [numNodes], bitmask of drafter ids; 0 at the root
  /** childDists[u] = the draft distribution q the sampled children of u were drawn from. */
  readonly childDists: readonly (Float32Array | undefined)[]; // [numNodes] of [vocab]
  /** drawOrders[u] = tokens drawn at u, in draw order (without replacement). */
  readonly drawOrders: readonly (Int32Array | undefined)[]; // [numNodes] of [numDraws]
  /** Children of u are childNodes[childOffsets[u] .. childOffsets[u + 1]), in increasing index order. */
  readonly childOffsets: Int32Array; // [numNodes + 1]
  readonly childNodes: Int32Array; // [numNodes - 1]
}

export interface AddOptions {
  /** Estimated acceptance probability of the node; default 0. On a merge the larger score is kept. */
  score?: number;
  /** Default DETERMINISTIC. SAMPLED requires setChildDist(parent, q) first. */
  kind?: NodeKind;
  /** For SAMPLED nodes; defaults to q[token] of the parent's distribution. Ignored for deterministic ones. */
  draftProb?: number;
  /** Drafter id 0..31; OR-ed into the node's sources. */
  source?: number;
  /** Bitmask of drafter ids; OR-ed into the node's sources. */
  sources?: number;
}

const TOKEN_SPAN = 2 ** 31; // sibling key = parent * TOKEN_SPAN + token, exact below 2^53

/**
 * Builds a DraftTree node by node. Capacity grows by doubling; build() returns trimmed copies, so the
 * builder may keep growing afterwards.
 *
 * Worked example (root "The"=10, chain "cat"=7 → "sat"=9, plus a sampled sibling of "cat"):
 *   const b = new TreeBuilder(10);
 *   const cat = b.add(0, 7, { score: 0.8, source: 2 });        // 1
 *   b.add(cat, 9, { score: 0.5, source: 2 });                  // 2
 *   b.setChildDist(0, q);                                      // q: [vocab] the draft model's distribution at the root
 *   b.add(0, 7, { score: 0.6, kind: NodeKind.sampled, source: 3 }); // 1 again: merged, now SAMPLED, sources 0b1100
 *   b.add(0, 4, { score: 0.2, kind: NodeKind.sampled, source: 3 }); // 3
 *   b.build() → tokens [10, 7, 9, 4], parents [-1, 0, 1, 0], drawOrders[0] = [7, 4]
 */
export class TreeBuilder {
  private tokens: Int32Array;
  private parents: Int32Array;
  private depths: Int32Array;
  private scores: Float32Array;
  private draftProbs: Float32Array;
  private kinds: Uint8Array;
  private sources: Uint32Array;
  private readonly childDists = new Map<number, Float32Array>();
  private readonly draws = new Map<number, number[]>();
  private readonly childIndex = new Map<number, number>(); // parent * TOKEN_SPAN + token → node
  private count = 1;

  constructor(rootToken: number, capacity = 16) {
    if (!(Number.isInteger(rootToken) && rootToken >= 0 && rootToken < TOKEN_SPAN)) assert.fail(`root token ${rootToken} must be a non-negative int32`);
    const cap = Math.max(1, capacity);
    this.tokens = new Int32Array(cap);
    this.parents = new Int32Array(cap);
    this.depths = new Int32Array(cap);
    this.scores = new Float32Array(cap);
    this.draftProbs = new Float32Array(cap);
    this.kinds = new Uint8Array(cap);
    this.sources = new Uint32Array(cap);
    this.tokens[0] = rootToken;
    this.parents[0] = -1;
    this.scores[0] = 1;
  }

  get numNodes(): number {
    return this.count;
  }

  tokenAt(node: number): number {
    this.checkNode(node);
    return this.tokens[node];
  }

  depthAt(node: number): number {
    this.checkNode(node);
    return this.depths[node];
  }

  /** The child of `parent` carrying `token`, or -1. */
  findChild(parent: number, token: number): number {
    return this.childIndex.get(parent * TOKEN_SPAN + token) ?? -1;
  }

  hasChildDist(parent: number): boolean {
    return this.childDists.has(parent);
  }

  /** Declares the draft distribution q ([vocab]) that parent's sampled children are drawn from. TAKES OWNERSHIP: do not mutate q afterwards. */
  setChildDist(parent: number, q: Float32Array): void {
    this.checkNode(parent);
    const old = this.childDists.get(parent);
    if (!(old === undefined || old === q)) assert.fail(`node ${parent} already has a different child distribution`);
    this.childDists.set(parent, q);
  }

  /**
   * Records that `token` was drawn at `parent` (next in the without-replacement sequence). Recording a draw
   * twice is a no-op. An existing deterministic child with that token becomes SAMPLED.
   */
  recordDraw(parent: number, token: number): void {
    const q = this.childDists.get(parent);
    if (!(q !== undefined)) assert.fail(`node ${parent} has no child distribution: call setChildDist before drawing`);
    if (!(Number.isInteger(token) && token >= 0 && token < q.length)) assert.fail(`drawn token ${token} outside the vocabulary of ${q.length}`);
    let list = this.draws.get(parent);
    if (list === undefined) this.draws.set(parent, (list = []));
    if (list.includes(token)) return;
    list.push(token);
    const child = this.findChild(parent, token);
    if (child >= 0 && this.kinds[child] !== NodeKind.sampled) {
      this.kinds[child] = NodeKind.sampled;
      this.draftProbs[child] = q[token];
    }
  }

  /** Adds `token` under `parent` and returns its node index; an existing sibling with that token is merged (max score, OR sources). */
  add(parent: number, token: number, opts: AddOptions = {}): number {
    if (!(Number.isInteger(parent) && parent >= 0 && parent < this.count)) assert.fail(`parent ${parent} is not an existing node (0..${this.count - 1}): parents must come before children`);
    if (!(Number.isInteger(token) && token >= 0 && token < TOKEN_SPAN)) assert.fail(`token ${token} must be a non-negative int32`);
    const score = opts.score ?? 0;
    if (!(Number.isFinite(score))) assert.fail(`score ${score} must be finite`);
    let mask = (opts.sources ?? 0) >>> 0;
    if (opts.source !== undefined) {
      if (!(Number.isInteger(opts.source) && opts.source >= 0 && opts.source < MAX_DRAFTERS)) assert.fail(`drafter id ${opts.source} outside 0..${MAX_DRAFTERS - 1}`);
      mask = (mask | (1 << opts.source)) >>> 0;
    }
    if (opts.kind === NodeKind.sampled) this.recordDraw(parent, token);
    const drawn = this.draws.get(parent)?.includes(token) ?? false;
    const draftProb = drawn ? (opts.kind === NodeKind.sampled ? opts.draftProb : undefined) ?? this.childDists.get(parent)![token] : 0;

    const existing = this.findChild(parent, token);
    if (existing >= 0) {
      this.scores[existing] = Math.max(this.scores[existing], score);
      this.sources[existing] = (this.sources[existing] | mask) >>> 0;
      if (drawn && this.kinds[existing] !== NodeKind.sampled) {
        this.kinds[existing] = NodeKind.sampled;
        this.draftProbs[existing] = draftProb;
      }
      return existing;
    }
    if (this.count === this.tokens.length) this.grow();
    const i = this.count++;
    this.tokens[i] = token;
    this.parents[i] = parent;
    this.depths[i] = this.depths[parent] + 1;
    this.scores[i] = score;
    this.draftProbs[i] = draftProb;
    this.kinds[i] = drawn ? NodeKind.sampled : NodeKind.deterministic;
    this.sources[i] = mask;
    this.childIndex.set(parent * TOKEN_SPAN + token, i);
    return i;
  }

  build(): DraftTree {
    const n = this.count;
    const parents = this.parents.slice(0, n);
    const childOffsets = new Int32Array(n + 1);
    for (let i = 1; i < n; i++) childOffsets[parents[i] + 1]++;
    for (let u = 0; u < n; u++) childOffsets[u + 1] += childOffsets[u];
    const childNodes = new Int32Array(Math.max(0, n - 1));
    const fill = childOffsets.slice(0, n);
    for (let i = 1; i < n; i++) childNodes[fill[parents[i]]++] = i;
    const childDists: (Float32Array | undefined)[] = new Array(n).fill(undefined);
    const drawOrders: (Int32Array | undefined)[] = new Array(n).fill(undefined);
    for (const [u, q] of this.childDists) childDists[u] = q;
    for (const [u, list] of this.draws) drawOrders[u] = Int32Array.from(list);
    return Object.freeze({
      numNodes: n,
      tokens: this.tokens.slice(0, n),
      parents,
      depths: this.depths.slice(0, n),
      scores: this.scores.slice(0, n),
      draftProbs: this.draftProbs.slice(0, n),
      kinds: this.kinds.slice(0, n),
      sources: this.sources.slice(0, n),
      childDists: Object.freeze(childDists),
      drawOrders: Object.freeze(drawOrders),
      childOffsets,
      childNodes,
    });
  }

  private checkNode(node: number): void {
    if (!(Number.isInteger(node) && node >= 0 && node < this.count)) assert.fail(`node ${node} outside 0..${this.count - 1}`);
  }

  private grow(): void {
    const cap = this.tokens.length * 2;
    const grown = <T extends Int32Array | Float32Array | Uint8Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.tokens = grown(this.tokens, (n) => new Int32Array(n));
    this.parents = grown(this.parents, (n) => new Int32Array(n));
    this.depths = grown(this.depths, (n) => new Int32Array(n));
    this.scores = grown(this.scores, (n) => new Float32Array(n));
    this.draftProbs = grown(this.draftProbs, (n) => new Float32Array(n));
    this.kinds = grown(this.kinds, (n) => new Uint8Array(n));
    this.sources = grown(this.sources, (n) => new Uint32Array(n));
  }
}

/** The children of `node`, in increasing index order (a view, do not write). */
export function childrenOf(tree: DraftTree, node: number): Int32Array {
  return tree.childNodes.subarray(tree.childOffsets[node], tree.childOffsets[node + 1]);
}

/** The child of `node` carrying `token`, or -1. */
export function findChild(tree: DraftTree, node: number, token: number): number {
  for (let j = tree.childOffsets[node]; j < tree.childOffsets[node + 1]; j++) {
    const c = tree.childNodes[j];
    if (tree.tokens[c] === token) return c;
  }
  return -1;
}

/** The options that re-create node i in another builder (used by merge and prune). */
export function nodeOptions(tree: DraftTree, i: number): AddOptions {
  return { score: tree.scores[i], kind: tree.kinds[i] as NodeKind, draftProb: tree.draftProbs[i], sources: tree.sources[i] };
}

/** Copies node u's child distribution and its whole draw sequence (phantom draws included) onto `target` in builder `b`. */
export function copyDraws(tree: DraftTree, u: number, b: TreeBuilder, target: number): void {
  const q = tree.childDists[u];
  if (q === undefined) return;
  b.setChildDist(target, q);
  const draws = tree.drawOrders[u];
  if (draws !== undefined) for (const token of draws) b.recordDraw(target, token);
}
