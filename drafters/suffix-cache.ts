// SuffixDecoding's global tree (arXiv 2411.04975 §3.1): one counted suffix trie over the outputs of earlier
// requests, bounded to `maxRequests` outputs. The least recently USED output is forgotten first (used = it was
// inserted, or a draft taken from it was accepted), and removal is exact. Saved to and loaded from a file
// (--suffix-cache FILE), so what the server learned survives a restart.
import fs from 'node:fs';
import { errors } from '../common/errors.ts';
import { writeFileAtomic } from '../common/files.ts';
import { SuffixTree } from './suffix-tree.ts';

/**
 * Outputs kept by default (--suffix-cache-requests). Memory ≈ trie nodes × 28 bytes (drafters/suffix-tree.ts),
 * up to twice that right after the pool doubles; ~16 nodes per output token at depth 32: on the warm Spec-Bench
 * cache (128-token outputs) ~60 KB per output, 1024 outputs ≈ 60 MB (256 cost 130 MB as objects before).
 */
export const DEFAULT_SUFFIX_CACHE_REQUESTS = 1024;
/** Depth of every suffix trie: the longest matched context plus the deepest draft below it. */
export const SUFFIX_TREE_DEPTH = 32;

const FORMAT = 'sprig-suffix-cache';

export class SuffixCache {
  readonly tree: SuffixTree;
  /** id → output tokens, least recently used first (a Map iterates in insertion order). */
  private readonly entries = new Map<number, Int32Array>();
  private nextId = 0;

  private maxRequests = 0;
  /** Bumped by every change to what save() would write (an output learned, used, forgotten or loaded). */
  private changeCount = 0;

  constructor(readonly vocab: number, maxRequests = DEFAULT_SUFFIX_CACHE_REQUESTS, treeDepth = SUFFIX_TREE_DEPTH) {
    this.tree = new SuffixTree(treeDepth);
    this.setCapacity(maxRequests);
  }

  get numRequests(): number {
    return this.entries.size;
  }

  get capacity(): number {
    return this.maxRequests;
  }

  /** A counter that moves whenever what save() writes changes: a periodic saver compares it with the last save's. */
  get changes(): number {
    return this.changeCount;
  }

  /** Changes the bound; forgets least recently used outputs beyond it. */
  setCapacity(maxRequests: number): void {
    if (!(Number.isInteger(maxRequests) && maxRequests >= 0)) throw errors.invalidParam(`suffix cache size ${maxRequests} must be an integer ≥ 0`, 'suffix-cache-requests');
    this.maxRequests = maxRequests;
    this.evict();
  }

  /** Learns one finished output as the most recently used; returns its id (-1 when nothing is kept). */
  add(tokens: ArrayLike<number>): number {
    if (tokens.length === 0 || this.maxRequests === 0) return -1;
    const id = this.nextId++;
    const copy = Int32Array.from(tokens);
    this.entries.set(id, copy);
    this.tree.insert(copy, id);
    this.changeCount++;
    this.evict();
    return id;
  }

  /** Marks an output as just used (a draft from it was accepted). Unknown ids (already forgotten) are ignored. */
  touch(id: number): void {
    const tokens = this.entries.get(id);
    if (!tokens) return;
    this.entries.delete(id);
    this.entries.set(id, tokens);
    this.changeCount++;
  }

  /** The kept outputs, least recently used first. */
  outputs(): Int32Array[] {
    return [...this.entries.values()];
  }

  /** Writes the kept outputs (least recently used first) through a temp file, so a crash never leaves half a file. */
  save(file: string): void {
    const outputs = this.outputs();
    writeFileAtomic(file, this.fileHead() + outputs.map(outputJson).join(',') + FILE_TAIL);
  }

  /**
   * What save() writes, as UTF-8 chunks, built from the outputs kept NOW a slice at a time: it yields to the
   * event loop after each slice of about `sliceMs`, and each slice is encoded on its own, so no step holds the
   * thread for the whole file (engine/state-saver.ts: a full cache of long outputs takes tens to hundreds of ms
   * to serialize in one go, a stall every generation on the engine thread would feel). Kept outputs are never
   * mutated (add() copies), so what is learned meanwhile simply waits for the next save.
   */
  async serialize(sliceMs = 2): Promise<Uint8Array[]> {
    const outputs = this.outputs();
    const chunks: Uint8Array[] = [];
    let parts = [this.fileHead()];
    let sliceStart = performance.now();
    for (const [i, tokens] of outputs.entries()) {
      parts.push(i === 0 ? outputJson(tokens) : `,${outputJson(tokens)}`);
      if (performance.now() - sliceStart >= sliceMs) {
        chunks.push(Buffer.from(parts.join('')));
        parts = [];
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    parts.push(FILE_TAIL);
    chunks.push(Buffer.from(parts.join('')));
    return chunks;
  }

  /** The file's JSON up to the opening bracket of its requests: {"format":…,"version":1,"vocab":…,"requests":[ */
  private fileHead(): string {
    return JSON.stringify({ format: FORMAT, version: 1, vocab: this.vocab }).slice(0, -1) + ',"requests":[';
  }

  /** Replaces what is kept with the outputs saved in `file` (oldest first, so the file's most recent stay most recent). */
  load(file: string): void {
    let body: { format?: unknown; vocab?: unknown; requests?: unknown };
    try {
      body = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof body;
    } catch (e) {
      throw errors.badCheckpoint(`${file}: not a suffix cache (${(e as Error).message})`, null, { cause: e });
    }
    const requests = body.requests;
    if (body.format !== FORMAT || !Array.isArray(requests)) throw errors.badCheckpoint(`${file}: not a suffix cache (expected {"format": "${FORMAT}", "requests": [[token ids]]})`);
    if (body.vocab !== this.vocab) throw errors.vocabMismatch(`${file}: suffix cache was learned with vocabulary size ${String(body.vocab)}, but the model has ${this.vocab}`, 'suffix-cache');
    for (const r of requests) {
      if (!Array.isArray(r) || !r.every((t) => Number.isInteger(t) && t >= 0 && t < this.vocab)) {
        throw errors.badCheckpoint(`${file}: every request must be a list of token ids below ${this.vocab}`);
      }
    }
    for (const tokens of this.entries.values()) this.tree.remove(tokens);
    this.entries.clear();
    this.changeCount++;
    for (const r of requests as number[][]) this.add(r);
  }

  private evict(): void {
    for (const [id, tokens] of this.entries) {
      if (this.entries.size <= this.maxRequests) break;
      this.entries.delete(id);
      this.tree.remove(tokens);
      this.changeCount++;
    }
  }
}

const FILE_TAIL = ']}';

/** One output as its JSON array of token ids ("[1,5,6]"): what JSON.stringify(Array.from(tokens)) writes. */
function outputJson(tokens: Int32Array): string {
  return `[${tokens.join(',')}]`;
}

/** One global cache per model key, kept for the life of the process (like Token Recycling's matrix). */
const shared = new Map<string, SuffixCache>();

export function sharedSuffixCache(modelKey: string, vocab: number): SuffixCache {
  let c = shared.get(modelKey);
  if (!c || c.vocab !== vocab) {
    c = new SuffixCache(vocab);
    shared.set(modelKey, c);
  }
  return c;
}
