// KV cache for one sequence: per layer, keys and values sequence-major [capacity, numKvHeads·headDim],
// so the committed prefix is a zero-copy view. A forward writes its n new rows as PENDING rows after the
// committed ones; commit() keeps a chosen subset (an accepted tree path) in contiguous slots.
import { errors } from '../common/errors.ts';

export class KvCache {
  /** Committed tokens. */
  length = 0;
  /** Rows written by the last forward, at slots [length, length + pending). */
  pending = 0;
  private capacity: number;
  private keys: Float32Array[];
  private values: Float32Array[];

  constructor(
    readonly numLayers: number,
    /** numKvHeads · headDim */
    readonly rowSize: number,
    /** Hard limit on committed + pending rows. */
    readonly maxRows: number,
    initialRows = 256,
  ) {
    this.capacity = Math.min(initialRows, maxRows);
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(this.capacity * rowSize));
    this.values = Array.from({ length: numLayers }, () => new Float32Array(this.capacity * rowSize));
  }

  /** Committed keys of layer l. [length, rowSize] (a view, valid until the next write) */
  pastKeys(l: number): Float32Array {
    return this.keys[l].subarray(0, this.length * this.rowSize);
  }

  pastValues(l: number): Float32Array {
    return this.values[l].subarray(0, this.length * this.rowSize);
  }

  /** Makes room for n pending rows after the committed ones (grows by doubling). */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.maxRows) {
      throw errors.contextOverflow(`KV cache: ${this.length} committed + ${n} new tokens exceeds the limit of ${this.maxRows}`);
    }
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    cap = Math.min(cap, this.maxRows);
    const grow = (a: Float32Array) => {
      const b = new Float32Array(cap * this.rowSize);
      b.set(a.subarray(0, this.length * this.rowSize));
      return b;
    };
    this.keys = this.keys.map(grow);
    this.values = this.values.map(grow);
    this.capacity = cap;
  }

  /** Stores layer l's new rows ([n, rowSize] each) as pending. Call reserve(n) first. */
  writePending(l: number, k: Float32Array, v: Float32Array, n: number): void {
    const off = this.length * this.rowSize;
    this.keys[l].set(k.subarray(0, n * this.rowSize), off);
    this.values[l].set(v.subarray(0, n * this.rowSize), off);
    this.pending = n;
  }

  /**
   * Keeps pending rows `indices` (strictly increasing, e.g. an accepted root-to-node path) as the next
   * committed tokens, in that order; drops the other pending rows.
   */
  commit(indices: ArrayLike<number>): void {
    const m = indices.length;
    for (let j = 0; j < m; j++) {
      const i = indices[j];
      if (i < 0 || i >= this.pending || (j > 0 && i <= indices[j - 1])) {
        throw errors.internal(`KvCache.commit: index ${i} at ${j} is not strictly increasing within the ${this.pending} pending rows`);
      }
    }
    const rs = this.rowSize;
    for (let j = 0; j < m; j++) {
      const src = (this.length + indices[j]) * rs;
      const dst = (this.length + j) * rs;
      if (src === dst) continue;
      // src > dst always (indices increasing and >= j), so rows still to be read are never overwritten.
      for (let l = 0; l < this.numLayers; l++) {
        this.keys[l].copyWithin(dst, src, src + rs);
        this.values[l].copyWithin(dst, src, src + rs);
      }
    }
    this.length += m;
    this.pending = 0;
  }

  /**
   * Appends n rows computed elsewhere (a prefix cache's block) as committed tokens: written as pending rows and
   * committed. keys[l], values[l]: [≥ n, rowSize] per layer. No pending rows may be open.
   */
  appendRows(keys: readonly Float32Array[], values: readonly Float32Array[], n: number): void {
    if (this.pending !== 0) throw errors.internal(`KvCache.appendRows with ${this.pending} pending rows`);
    if (keys.length !== this.numLayers || values.length !== this.numLayers) {
      throw errors.internal(`KvCache.appendRows: ${keys.length} key and ${values.length} value layers for a ${this.numLayers}-layer cache`);
    }
    this.reserve(n);
    const len = n * this.rowSize;
    // Every layer is checked before any is written, so a refusal leaves no pending rows behind.
    for (let l = 0; l < this.numLayers; l++) {
      if (keys[l].length < len || values[l].length < len) throw errors.internal(`KvCache.appendRows: layer ${l} has fewer than ${n} rows of ${this.rowSize}`);
    }
    for (let l = 0; l < this.numLayers; l++) this.writePending(l, keys[l], values[l], n);
    this.commitAll();
  }

  /** Commits every pending row. */
  commitAll(): void {
    this.length += this.pending;
    this.pending = 0;
  }

  /**
   * Turns committed rows past `length` back into pending rows, so commit() can keep a subset of them
   * (a draft model that committed its whole draft tree keeps only the accepted path this way).
   */
  uncommit(length: number): void {
    if (length < 0 || length > this.length) throw errors.internal(`KvCache.uncommit(${length}) with ${this.length} committed`);
    this.pending = this.length - length;
    this.length = length;
  }

  /** Forgets committed tokens past `length`. */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw errors.internal(`KvCache.truncate(${length}) with ${this.length} committed`);
    this.length = length;
    this.pending = 0;
  }

  /** Bytes held. */
  get bytes(): number {
    return 2 * this.numLayers * this.capacity * this.rowSize * 4;
  }
}
