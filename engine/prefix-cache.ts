// The prefix cache: K/V rows of token prefixes that earlier requests computed (system prompts, chat
// history, few-shot examples), kept per model and copied into a new request's KvCache so only the rest of
// its prompt is prefilled. A trie whose edges are blocks of `blockSize` tokens: a node holds its block's
// rows for every layer, and a prefix is cached only with all its ancestors. Past the byte budget the least
// recently used LEAF goes first, so every cached node's ancestors stay cached. Rows are never written
// after a node is made: a lookup's arrays stay valid after the node is evicted.
import { errors } from '../common/errors.ts';
import type { ModelSpec } from '../model/config.ts';

/** Where insert() reads rows from: a KvCache, or anything with committed rows per layer. */
export interface RowSource {
  /** Rows available, from position 0. */
  readonly length: number;
  /** Layer l's keys. [≥ length, rowSize] (rows past `length` are ignored) */
  pastKeys(l: number): Float32Array;
  pastValues(l: number): Float32Array;
}

/** One cached block: per layer, keys and values [blockSize, rowSize]. Never written after insert. */
export interface CachedBlock {
  readonly keys: readonly Float32Array[];
  readonly values: readonly Float32Array[];
}

export interface PrefixMatch {
  /** Tokens covered: a multiple of blockSize, and at most tokens.length − 1. */
  length: number;
  /** The blocks in order: block i holds the rows of positions [i·blockSize, (i+1)·blockSize). */
  blocks: CachedBlock[];
}

export interface PrefixCacheOptions {
  numLayers: number;
  /** numKvHeads · headDim */
  rowSize: number;
  /** Most bytes of K/V rows held (eviction keeps bytes ≤ budget). */
  budgetBytes: number;
  /** Tokens per trie edge (default 16). */
  blockSize?: number;
}

export const DEFAULT_BLOCK_SIZE = 16;

interface Node extends CachedBlock {
  parent: Node | null;
  key: string;
  children: Map<string, Node>;
  /** LRU clock at the last lookup or insert that passed through this node. */
  lastUsed: number;
}

export class PrefixCache {
  readonly numLayers: number;
  readonly rowSize: number;
  readonly blockSize: number;
  readonly budgetBytes: number;
  /** Bytes one block's rows take: 2 (K, V) · layers · blockSize · rowSize · 4. */
  readonly blockBytes: number;
  private readonly root: Node = { parent: null, key: '', children: new Map(), lastUsed: 0, keys: [], values: [] };
  /** Nodes without children (the root excluded): the only ones eviction may take. */
  private readonly leaves = new Set<Node>();
  private numBlocks = 0;
  private clock = 0;

  constructor(opts: PrefixCacheOptions) {
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!(Number.isInteger(blockSize) && blockSize >= 1)) throw errors.invalidParam(`prefix cache block size must be a positive integer, got ${blockSize}`);
    if (!(opts.budgetBytes >= 0)) throw errors.invalidParam(`prefix cache budget must be ≥ 0 bytes, got ${opts.budgetBytes}`);
    this.numLayers = opts.numLayers;
    this.rowSize = opts.rowSize;
    this.blockSize = blockSize;
    this.budgetBytes = opts.budgetBytes;
    this.blockBytes = 2 * opts.numLayers * blockSize * opts.rowSize * 4;
  }

  /** A cache shaped for a model's KvCache rows. */
  static forModel(spec: Pick<ModelSpec, 'numLayers' | 'numKvHeads' | 'headDim'>, budgetBytes: number, blockSize?: number): PrefixCache {
    return new PrefixCache({ numLayers: spec.numLayers, rowSize: spec.numKvHeads * spec.headDim, budgetBytes, blockSize });
  }

  /** Bytes of rows held now (≤ budgetBytes). */
  get bytes(): number {
    return this.numBlocks * this.blockBytes;
  }

  /** Blocks held now. */
  get size(): number {
    return this.numBlocks;
  }

  /**
   * The longest cached block-aligned prefix of `tokens` that leaves at least one token out (the last
   * prompt token must still run through the model for its logits). Marks the matched blocks used.
   */
  lookup(tokens: ArrayLike<number>): PrefixMatch {
    const blocks: CachedBlock[] = [];
    const tick = ++this.clock;
    let node = this.root;
    for (let s = 0; s + this.blockSize <= tokens.length - 1; s += this.blockSize) {
      const child = node.children.get(blockKey(tokens, s, this.blockSize));
      if (!child) break;
      child.lastUsed = tick;
      blocks.push(child);
      node = child;
    }
    return { length: blocks.length * this.blockSize, blocks };
  }

  /**
   * Caches the full blocks of `tokens` whose rows `rows` holds (positions [0, min(tokens, rows.length))),
   * evicting least recently used leaves to stay within the budget. Blocks already cached are kept as
   * they are (and marked used). Returns the number of blocks added.
   */
  insert(tokens: ArrayLike<number>, rows: RowSource): number {
    const n = Math.min(tokens.length, rows.length);
    const bs = this.blockSize;
    const rs = this.rowSize;
    const tick = ++this.clock;
    // Nodes on the path being extended: never evicted to make room for their own descendants.
    const path = new Set<Node>();
    let node = this.root;
    let added = 0;
    for (let s = 0; s + bs <= n; s += bs) {
      const key = blockKey(tokens, s, bs);
      let child = node.children.get(key);
      if (!child) {
        if (!this.evictUntil(this.budgetBytes - this.blockBytes, path)) break;
        const keys: Float32Array[] = [];
        const values: Float32Array[] = [];
        for (let l = 0; l < this.numLayers; l++) {
          keys.push(rows.pastKeys(l).slice(s * rs, (s + bs) * rs)); // [blockSize, rowSize], a copy
          values.push(rows.pastValues(l).slice(s * rs, (s + bs) * rs));
        }
        child = { parent: node, key, children: new Map(), lastUsed: tick, keys, values };
        node.children.set(key, child);
        this.leaves.delete(node);
        this.leaves.add(child);
        this.numBlocks++;
        added++;
      }
      child.lastUsed = tick;
      path.add(child);
      node = child;
    }
    return added;
  }

  /** Evicts least recently used leaves until at most `bytes` are held. */
  evict(bytes: number): void {
    this.evictUntil(bytes, new Set());
  }

  /** Drops every block. */
  clear(): void {
    this.root.children.clear();
    this.leaves.clear();
    this.numBlocks = 0;
  }

  /**
   * Evicts LRU leaves, never one in `keep`, until at most `limit` bytes are held. False when that cannot
   * be done (a negative limit, or only kept nodes left).
   */
  private evictUntil(limit: number, keep: Set<Node>): boolean {
    if (limit < 0) return false;
    while (this.bytes > limit) {
      let victim: Node | null = null;
      for (const leaf of this.leaves) {
        if (!keep.has(leaf) && (victim === null || leaf.lastUsed < victim.lastUsed)) victim = leaf;
      }
      if (victim === null) return false;
      this.remove(victim);
    }
    return true;
  }

  private remove(leaf: Node): void {
    const parent = leaf.parent!;
    parent.children.delete(leaf.key);
    this.leaves.delete(leaf);
    if (parent !== this.root && parent.children.size === 0) this.leaves.add(parent);
    this.numBlocks--;
  }
}

/** A block's edge label: its token ids, comma-joined. */
function blockKey(tokens: ArrayLike<number>, start: number, size: number): string {
  let k = String(tokens[start]);
  for (let i = start + 1; i < start + size; i++) k += ',' + tokens[i];
  return k;
}
