// Token Recycling (Luo et al. 2024, arXiv 2408.08696): a vocab × k adjacency matrix of candidate next tokens,
// filled from the target's top-k at EVERY verified tree node (accepted or not), drafted through a static
// 80-node template by BFS. The matrix is shared by all requests on one model ("hot start").
import fs from 'node:fs';
import { errors } from '../common/errors.ts';
import type { DraftTree } from '../trees/draft-tree.ts';
import { TOKEN_RECYCLING_TEMPLATE, fillTemplate, type TreeTemplate } from '../trees/templates.ts';
import type { DraftRequest, Drafter, StepOutcome } from './drafter.ts';

export const RECYCLING_K = 8;

/** The adjacency matrix: row t = the k most likely successors of token t last time the target saw t. */
export class AdjacencyMatrix {
  /** [vocab, k] token ids; -1 = no candidate yet (a cold row drafts nothing rather than token 0). */
  readonly rows: Int32Array;
  private readonly vals: Float32Array; // [k] scratch for updateFromLogits

  constructor(readonly vocab: number, readonly k = RECYCLING_K) {
    this.rows = new Int32Array(vocab * k).fill(-1);
    this.vals = new Float32Array(k);
  }

  candidate(token: number, rank: number): number {
    return rank < this.k ? this.rows[token * this.k + rank] : -1;
  }

  /** Overwrites row `token` with the top-k of one logits row (largest first, ties by lower id). */
  updateFromLogits(token: number, logits: Float32Array, offset: number): void {
    const k = this.k;
    const base = token * k;
    const vals = this.vals.fill(-Infinity);
    const ids = this.rows;
    for (let j = 0; j < k; j++) ids[base + j] = -1;
    for (let v = 0; v < this.vocab; v++) {
      const x = logits[offset + v];
      if (x <= vals[k - 1]) continue;
      let j = k - 1;
      while (j > 0 && vals[j - 1] < x) {
        vals[j] = vals[j - 1];
        ids[base + j] = ids[base + j - 1];
        j--;
      }
      vals[j] = x;
      ids[base + j] = v;
    }
  }

  /** Writes the matrix (raw little-endian int32 rows) through a temp file, so a crash never leaves half a file. */
  save(file: string): void {
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, Buffer.from(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength));
    fs.renameSync(tmp, file);
  }

  load(file: string): void {
    const buf = fs.readFileSync(file);
    if (buf.byteLength !== this.rows.byteLength) {
      throw errors.badCheckpoint(`${file}: recycling matrix has ${buf.byteLength} bytes, expected ${this.vocab}×${this.k}×4 = ${this.rows.byteLength}`);
    }
    this.rows.set(new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
  }
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

export class RecyclingDrafter implements Drafter {
  readonly name = 'recycling';
  /** The template cut to a maximum depth and node count, keyed "depth:count", so each cut is compiled once. */
  private readonly cuts = new Map<string, TreeTemplate>();

  constructor(
    readonly id: number,
    private readonly matrix: AdjacencyMatrix,
    private readonly template: TreeTemplate = TOKEN_RECYCLING_TEMPLATE,
  ) {}

  begin(): void {}

  propose(req: DraftRequest): DraftTree | null {
    const root = req.context[req.context.length - 1];
    if (this.matrix.candidate(root, 0) < 0 || req.budget <= 0 || req.maxDepth <= 0) return null;
    const template = this.templateCut(req.maxDepth, 2 * req.budget);
    const tree = fillTemplate(template, root, (t, r) => this.matrix.candidate(t, r), { source: this.id });
    if (tree.numNodes <= 1) return null;
    // Up to twice the budget: the engine cuts the merged tree to the budget by calibrated value once.
    return tree;
  }

  /**
   * The template's paths up to maxDepth, at most `count` of them: the best by their prior score
   * Π 0.5/(rank+1) (the score fillTemplate gives), so the cut is ancestor-closed and filling it costs what the
   * step can use, not all 80 nodes.
   */
  private templateCut(maxDepth: number, count: number): TreeTemplate {
    const d = Math.min(maxDepth, 64);
    const key = `${d}:${count}`;
    let cut = this.cuts.get(key);
    if (!cut) {
      const prior = (p: readonly number[]) => p.reduce((acc, r) => acc * (0.5 / (r + 1)), 1);
      const deep = this.template.map((p, i) => ({ p, i })).filter(({ p }) => p.length <= d);
      const keep = new Set(deep.sort((a, b) => prior(b.p) - prior(a.p) || a.i - b.i).slice(0, count).map(({ i }) => i));
      cut = this.template.filter((_, i) => keep.has(i));
      this.cuts.set(key, cut);
    }
    return cut;
  }

  /**
   * The update rule: row tokens[node] ← top-k(logits[node]) for every node of the verified tree, root included,
   * in node order, so when a token appears twice in one tree the later (deeper / later-sibling) node wins.
   */
  observe(o: StepOutcome): void {
    for (let i = 0; i < o.tree.numNodes; i++) this.matrix.updateFromLogits(o.tree.tokens[i], o.logits, i * o.vocab);
  }

  dispose(): void {}
}
