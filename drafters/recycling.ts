// Token Recycling (Luo et al. 2024, arXiv 2408.08696): a vocab × k adjacency matrix of candidate next tokens,
// filled from the target's top-k at EVERY verified tree node (accepted or not), drafted through the paper's
// static 80-node template. The matrix is shared by all requests on one model ("hot start").
// Sprig verifies far fewer than 80 nodes on a CPU, so the template is CUT to the paths with the highest learned
// acceptance (per depth and rank, Sequoia's positional acceptance vector), and nodes are scored by it.
// Beside the token rows the matrix keeps rows per token PAIR (previous token, token), in a bounded table: a
// node's children come from its pair's row when the pair was seen, else from its token's row.
import fs from 'node:fs';
import { errors } from '../common/errors.ts';
import { writeFileAtomic } from '../common/files.ts';
import type { DraftTree } from '../trees/draft-tree.ts';
import { TOKEN_RECYCLING_TEMPLATE, fillTemplate, type TreeTemplate } from '../trees/templates.ts';
import type { DraftRequest, Drafter, StepOutcome } from './drafter.ts';

export const RECYCLING_K = 8;

/** Depths with their own acceptance estimates; deeper nodes share the last. */
const ACCEPTANCE_DEPTHS = 8;
/** Weight of the prior 0.5 / (rank + 1) in pseudo-observations. */
const ACCEPTANCE_PRIOR = 4;

/**
 * P(a rank-r candidate is accepted | its parent was), per draft depth, learned from every verified step
 * (Sequoia, arXiv 2402.12374 §3.1: a positional acceptance vector; here one per depth, because deeper rows were
 * written in other contexts more often). Under greedy verification this does not depend on which siblings
 * were verified, so counts from cut trees are unbiased.
 */
export class RankAcceptance {
  private readonly accepted: Float64Array; // [ACCEPTANCE_DEPTHS, k]
  private readonly seen: Float64Array; // [ACCEPTANCE_DEPTHS, k]
  /** Observations so far (drafters re-cut their template now and then as this grows). */
  updates = 0;

  constructor(readonly k = RECYCLING_K) {
    this.accepted = new Float64Array(ACCEPTANCE_DEPTHS * k);
    this.seen = new Float64Array(ACCEPTANCE_DEPTHS * k);
  }

  /** depth ≥ 1, rank < k. */
  p(depth: number, rank: number): number {
    const i = (Math.min(depth, ACCEPTANCE_DEPTHS) - 1) * this.k + rank;
    return (this.accepted[i] + ACCEPTANCE_PRIOR * (0.5 / (rank + 1))) / (this.seen[i] + ACCEPTANCE_PRIOR);
  }

  record(depth: number, rank: number, accepted: boolean): void {
    const i = (Math.min(depth, ACCEPTANCE_DEPTHS) - 1) * this.k + rank;
    this.seen[i]++;
    if (accepted) this.accepted[i]++;
    this.updates++;
  }
}

/** Pair rows kept (a direct-mapped table: a new pair overwrites the one in its slot). */
export const PAIR_SLOTS = 1 << 16;

/**
 * The adjacency matrix: row t = the k most likely successors of token t last time the target saw t; pair row
 * (p, t) = the same for t seen right after p. On stories260K's agentic / code-edit / stories suites the truth
 * stays inside the pair rows' top 2 for 1.94 / 2.17 / 2.53 tokens per step against the token rows' 1.54 / 1.87 /
 * 2.08 (scratch/mal/oracle.ts, rows learned from the committed text): one token of context tells the small
 * model's next tokens apart where the token alone cannot.
 */
export class AdjacencyMatrix {
  /** [vocab, k] token ids; -1 = no candidate yet (a cold row drafts nothing rather than token 0). */
  readonly rows: Int32Array;
  /** [PAIR_SLOTS, 2]: the (previous, token) pair whose row a slot holds; -1 = empty. */
  private readonly pairKeys: Int32Array;
  /** [PAIR_SLOTS, k] token ids of the pair rows. */
  private readonly pairRows: Int32Array;
  private readonly vals: Float32Array; // [k] scratch for updateFromLogits
  /** Bumped by every change to the rows (a periodic saver compares it with the last save's). */
  private changeCount = 0;

  /** How often each rank's candidate is accepted, learned with the matrix (not saved: it relearns in a few steps). */
  readonly acceptance: RankAcceptance;

  constructor(readonly vocab: number, readonly k = RECYCLING_K) {
    this.rows = new Int32Array(vocab * k).fill(-1);
    this.pairKeys = new Int32Array(2 * PAIR_SLOTS).fill(-1);
    this.pairRows = new Int32Array(PAIR_SLOTS * k).fill(-1);
    this.vals = new Float32Array(k);
    this.acceptance = new RankAcceptance(k);
  }

  /** A counter that moves whenever the rows save() writes change. */
  get changes(): number {
    return this.changeCount;
  }

  candidate(token: number, rank: number): number {
    return rank < this.k ? this.rows[token * this.k + rank] : -1;
  }

  /** Rank of `next` among token's candidates, or -1. */
  rankOf(token: number, next: number): number {
    const base = token * this.k;
    for (let r = 0; r < this.k; r++) if (this.rows[base + r] === next) return r;
    return -1;
  }

  /** Candidate `rank` after `token` preceded by `prev` (-1 = unknown): the pair's row when kept, else the token's. */
  candidateAfter(prev: number, token: number, rank: number): number {
    const slot = this.pairSlot(prev, token);
    return slot < 0 ? this.candidate(token, rank) : rank < this.k ? this.pairRows[slot * this.k + rank] : -1;
  }

  /** Rank of `next` in the row candidateAfter(prev, token, ·) reads, or -1. */
  rankAfter(prev: number, token: number, next: number): number {
    const slot = this.pairSlot(prev, token);
    if (slot < 0) return this.rankOf(token, next);
    for (let r = 0; r < this.k; r++) if (this.pairRows[slot * this.k + r] === next) return r;
    return -1;
  }

  /** The slot holding pair (prev, token), or -1. */
  private pairSlot(prev: number, token: number): number {
    if (prev < 0) return -1;
    const slot = slotOf(prev, token);
    return this.pairKeys[2 * slot] === prev && this.pairKeys[2 * slot + 1] === token ? slot : -1;
  }

  /**
   * Overwrites row `token` with the top-k of one logits row (largest first, ties by lower id), and the row of
   * pair (prev, token) when prev ≥ 0 (taking over its slot).
   */
  updateFromLogits(token: number, logits: Float32Array, offset: number, prev = -1): void {
    const k = this.k;
    const base = token * k;
    const vals = this.vals.fill(-Infinity);
    const ids = this.rows;
    this.changeCount++;
    for (let j = 0; j < k; j++) ids[base + j] = -1;
    // The k-th best so far in a local: the scan over the vocabulary is the hot loop, and reading it back from
    // the typed array each time cost 1.7× (10 rows of 32,000: 0.75 → 0.45 ms, scratch/topk.ts).
    let kth = -Infinity;
    const end = offset + this.vocab;
    for (let at = offset; at < end; at++) {
      const x = logits[at];
      if (x <= kth) continue;
      let j = k - 1;
      while (j > 0 && vals[j - 1] < x) {
        vals[j] = vals[j - 1];
        ids[base + j] = ids[base + j - 1];
        j--;
      }
      vals[j] = x;
      ids[base + j] = at - offset;
      kth = vals[k - 1];
    }
    if (prev < 0) return;
    const slot = slotOf(prev, token);
    this.pairKeys[2 * slot] = prev;
    this.pairKeys[2 * slot + 1] = token;
    this.pairRows.set(ids.subarray(base, base + k), slot * k);
  }

  /**
   * Writes the token rows, then the pair keys and pair rows (raw little-endian int32), through a temp file, so a
   * crash never leaves half a file.
   */
  save(file: string): void {
    writeFileAtomic(file, this.snapshot());
  }

  /** What save() writes, copied now into one buffer (a memcpy: ~1 ms for 4 MB), for a write that runs later. */
  snapshot(): Uint8Array {
    const parts = [this.rows, this.pairKeys, this.pairRows];
    const out = new Uint8Array(parts.reduce((n, a) => n + a.byteLength, 0));
    let at = 0;
    for (const a of parts) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
    return out;
  }

  /** Reads what save() wrote; a file of token rows alone (written before pair rows existed) leaves the pairs to relearn. */
  load(file: string): void {
    const buf = fs.readFileSync(file);
    const rowsOnly = this.rows.byteLength;
    const full = rowsOnly + this.pairKeys.byteLength + this.pairRows.byteLength;
    if (buf.byteLength !== rowsOnly && buf.byteLength !== full) {
      throw errors.badCheckpoint(`${file}: recycling matrix has ${buf.byteLength} bytes, expected ${full} (${this.vocab}×${this.k} token rows and ${PAIR_SLOTS} pair rows, int32) or ${rowsOnly} (token rows only)`);
    }
    const ints = new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    this.changeCount++;
    this.rows.set(ints.subarray(0, this.rows.length));
    if (buf.byteLength === rowsOnly) return;
    this.pairKeys.set(ints.subarray(this.rows.length, this.rows.length + this.pairKeys.length));
    this.pairRows.set(ints.subarray(this.rows.length + this.pairKeys.length));
  }
}

function slotOf(prev: number, token: number): number {
  let h = Math.imul(prev, 0x9e3779b1) ^ token;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  return (h ^ (h >>> 13)) & (PAIR_SLOTS - 1);
}

/** Hot start: one matrix per model key, kept for the life of the process. */
const shared = new Map<string, AdjacencyMatrix>();

export function sharedMatrix(modelKey: string, vocab: number): AdjacencyMatrix {
  let m = shared.get(modelKey);
  if (!m || m.vocab !== vocab) {
    m = new AdjacencyMatrix(vocab);
    shared.set(modelKey, m);
  }
  return m;
}

/** Most template nodes drafted per step (the template's own size). */
const MAX_NODES = TOKEN_RECYCLING_TEMPLATE.length;
/** Observations between re-cuts of the template by learned acceptance. */
const RECUT_EVERY = 256;

export class RecyclingDrafter implements Drafter {
  readonly name = 'recycling';
  /** The template cut to a maximum depth and node count, keyed "depth:count", re-cut as acceptance is learned. */
  private readonly cuts = new Map<string, Cut>();
  private cutAt = -1;
  /** The token before the root at the last proposal: the root's pair (its row is written in observe). */
  private rootPrev = -1;

  constructor(
    readonly id: number,
    private readonly matrix: AdjacencyMatrix,
    private readonly template: TreeTemplate = TOKEN_RECYCLING_TEMPLATE,
  ) {}

  begin(): void {}

  propose(req: DraftRequest): DraftTree | null {
    const root = req.context[req.context.length - 1];
    this.rootPrev = req.context.length >= 2 ? req.context[req.context.length - 2] : -1;
    if (this.matrix.candidate(root, 0) < 0 || req.budget <= 0 || req.maxDepth <= 0) return null;
    // Up to twice the budget: the engine cuts the merged tree to the budget by calibrated value once.
    const cut = this.templateCut(req.maxDepth, Math.min(MAX_NODES, 2 * req.budget));
    // A cold rank (-1) or a token already among its siblings drops the node and its subtree.
    const matrix = this.matrix;
    const tree = fillTemplate(cut.paths, root, (token, rank, prev) => matrix.candidateAfter(prev, token, rank), {
      scores: cut.value,
      source: this.id,
      rootPrev: this.rootPrev,
    });
    return tree.numNodes > 1 ? tree : null;
  }

  /**
   * The template's paths up to maxDepth, at most `count` of them: the best by learned acceptance
   * Π p(depth, rank) along the path. p < 1, so a path never outranks its parent and the cut stays
   * ancestor-closed; kept in template order (parents first).
   */
  private templateCut(maxDepth: number, count: number): Cut {
    const acc = this.matrix.acceptance;
    const epoch = Math.floor(acc.updates / RECUT_EVERY);
    if (epoch !== this.cutAt) {
      this.cuts.clear();
      this.cutAt = epoch;
    }
    const d = Math.min(maxDepth, 64);
    const key = `${d}:${count}`;
    let cut = this.cuts.get(key);
    if (!cut) {
      const value = this.template.map((p) => p.reduce((v, r, j) => v * acc.p(j + 1, r), 1));
      const deep = this.template.map((p, i) => i).filter((i) => this.template[i].length <= d);
      const keep = new Set(deep.sort((a, b) => value[b] - value[a] || a - b).slice(0, count));
      cut = { paths: [], value: [] };
      for (let i = 0; i < this.template.length; i++) {
        if (!keep.has(i)) continue;
        cut.paths.push(this.template[i]);
        cut.value.push(value[i]);
      }
      this.cuts.set(key, cut);
    }
    return cut;
  }

  /**
   * Learns, then applies the update rule. Learning: each of its nodes whose parent was accepted tells how often
   * that depth and rank is accepted (ranks read from the rows as they were drafted, before the update).
   * Update: row tokens[node] ← top-k(logits[node]) for every node of the verified tree, root included, and
   * the row of the pair (token before it, tokens[node]); the rejected nodes first and the accepted path last,
   * so when a token (pair) appears twice the row written in the real context wins (otherwise the later node in
   * tree order wins).
   */
  observe(o: StepOutcome): void {
    const t = o.tree;
    const onPath = new Uint8Array(t.numNodes);
    for (const i of o.acceptedNodes) onPath[i] = 1;
    const prev = (i: number) => (i === 0 ? this.rootPrev : t.tokens[t.parents[i]]);
    const bit = 1 << this.id;
    for (let i = 1; i < t.numNodes; i++) {
      if (!(t.sources[i] & bit) || !onPath[t.parents[i]]) continue;
      const rank = this.matrix.rankAfter(prev(t.parents[i]), t.tokens[t.parents[i]], t.tokens[i]);
      if (rank >= 0) this.matrix.acceptance.record(t.depths[i], rank, onPath[i] === 1);
    }
    for (let i = 0; i < t.numNodes; i++) if (!onPath[i]) this.matrix.updateFromLogits(t.tokens[i], o.logits, i * o.vocab, prev(i));
    for (const i of o.acceptedNodes) this.matrix.updateFromLogits(t.tokens[i], o.logits, i * o.vocab, prev(i));
  }

  dispose(): void {}
}

/** A template cut: paths in template order (itself a template, ancestor-closed) with each one's value. */
interface Cut {
  paths: (readonly number[])[];
  value: number[];
}
