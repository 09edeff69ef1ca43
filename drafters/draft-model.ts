// The `draft` drafter: a small draft model with its own KV cache kept in step with the committed tokens.
// It grows its tree by DySpec's greedy rule (Xiong et al. 2024, arXiv 2410.11744, Algorithm 1): a max-heap of
// expansion slots; a child y of u gets value v(u)·q_u(y) and u's slot keeps v(u)·(mass of q_u not yet drawn).
// Under sampling, children are drawn WITHOUT replacement from q_u (Sequoia's rule S verifies them); under greedy
// decoding they are q_u's top tokens in order. Slots are expanded in rounds: one batched draft forward per round.
import type { KvCache } from '../model/kv-cache.ts';
import { MASKED, causalBias, type ModelRunner } from '../model/runner.ts';
import type { Rng } from '../common/rng.ts';
import { isGreedy, sortedIndices, targetProbs, type SamplingParams } from '../common/sampling.ts';
import { NodeKind, TreeBuilder, type DraftTree } from '../trees/draft-tree.ts';
import type { DraftRequest, Drafter, StepOutcome } from './drafter.ts';

export interface DraftModelOptions {
  /** Most draft forwards per step (besides the catch-up forward of the new root). */
  maxRounds: number;
  /** Most candidate children per node under greedy decoding. */
  maxChildren: number;
}

export const DEFAULT_DRAFT_MODEL: DraftModelOptions = { maxRounds: 6, maxChildren: 8 };

interface Node {
  /** Tree node index. */
  index: number;
  depth: number;
  /** Estimated probability that the target accepts this node: product of q along its path. */
  value: number;
  /** Draft cache slot (committed row) once forwarded, else -1. */
  slot: number;
  /** q_u over the vocabulary once forwarded. [vocab] */
  dist: Float32Array | null;
  /** Mass of dist not yet drawn as a child. */
  mass: number;
  /** Under sampling: dist with drawn tokens zeroed. [vocab] */
  residual: Float32Array | null;
  /** Under greedy: the next candidates, best first. */
  order: Int32Array | null;
  next: number;
}

export class DraftModelDrafter implements Drafter {
  readonly name: string = 'draft';
  protected cache: KvCache;
  /** Context tokens whose KV is committed in the draft cache. */
  protected fed = 0;
  /** Context length (root included) when the last tree was drafted, and its nodes by tree index. */
  private base = 0;
  private nodes: Node[] = [];
  private readonly pool: Float32Array[] = [];
  private used = 0;
  private biasScratch = new Float32Array(0);
  /** Parent and token of each tree node of the tree being drafted. */
  private parents: number[] = [];
  private tokens: number[] = [];
  protected tree: DraftTree | null = null;
  private readonly greedy: boolean;
  private readonly vocab: number;

  constructor(
    readonly id: number,
    protected readonly runner: ModelRunner,
    private readonly sampling: SamplingParams,
    private readonly rng: Rng,
    private readonly opts: DraftModelOptions = DEFAULT_DRAFT_MODEL,
    /** The draft KV cache (default: a new one of the runner's). */
    cache?: KvCache,
  ) {
    this.cache = cache ?? runner.newCache();
    this.greedy = isGreedy(sampling);
    this.vocab = runner.vocab;
  }

  begin(): void {
    this.cache.truncate(0);
    this.fed = 0;
    this.tree = null;
  }

  /**
   * Feeds the context tokens the draft has not seen, then grows the tree round by round.
   * Example (greedy, budget 3): q_root = {a: .6, b: .3}: add a (.6); a's slot (.6) beats the root's (.4) but a is
   * not run yet, so round 1 forwards a; q_a = {c: .9}: add c (.54), then b (.3). Tree: root → a → c, root → b.
   */
  async propose(req: DraftRequest): Promise<DraftTree | null> {
    this.tree = null;
    this.used = 0;
    const n = req.context.length;
    const maxDepth = Math.min(req.maxDepth, this.runner.contextLength - n);
    if (req.budget <= 0 || maxDepth <= 0) return null;

    // 1. Catch up: the root and any accepted tokens the draft has no KV for.
    const fresh = req.context.slice(this.fed, n);
    const positions = fresh.map((_, i) => this.fed + i);
    const rootLogits = await this.draftForward(fresh, positions, causalBias(fresh.length, this.fed), [fresh.length - 1]);
    this.cache.commitAll();
    this.fed = n;
    this.base = n;

    const root = this.newNode(0, 0, 1, n - 1, rootLogits, 0);
    this.nodes = [root];
    this.parents = [-1];
    this.tokens = [req.context[n - 1]];
    const b = new TreeBuilder(req.context[n - 1], req.budget + 1);
    const heap: Node[] = [root];
    let created = 0;

    // 2. DySpec's greedy order: always expand the best slot. A slot of a node the draft has not run yet needs
    //    that node's distribution, so all such pending nodes are forwarded together (one round) first.
    let pending: Node[] = [];
    let rounds = 0;
    while (created < req.budget && heap.length > 0) {
      if (heap[0].dist === null) {
        if (rounds >= this.opts.maxRounds) {
          // Out of forwards: pending nodes stay leaves; keep expanding nodes that have distributions.
          const ready = heap.filter((u) => u.dist !== null);
          heap.length = 0;
          for (const u of ready) pushMax(heap, u);
          pending = [];
          continue;
        }
        await this.forwardBatch(pending);
        pending = [];
        rounds++;
        continue;
      }
      const u = popMax(heap);
      const child = this.addChild(b, u);
      if (!child) continue;
      created++;
      this.nodes[child.index] = child;
      if (u.mass > 1e-6 && (this.greedy ? u.next < u.order!.length : true)) pushMax(heap, u);
      if (child.depth < maxDepth) {
        pending.push(child);
        pushMax(heap, child);
      }
    }
    if (created === 0) return null;
    this.tree = b.build();
    return this.tree;
  }

  /** The next child of u: its best remaining token (greedy) or a draw without replacement (sampling). */
  private addChild(b: TreeBuilder, u: Node): Node | null {
    const q = u.dist!;
    let y: number;
    if (this.greedy) {
      if (u.next >= u.order!.length) return null;
      y = u.order![u.next++];
    } else {
      y = sampleUnnormalised(u.residual!, u.mass, this.vocab, this.rng);
      if (y < 0) return null;
      if (!b.hasChildDist(u.index)) b.setChildDist(u.index, q); // rule S needs the q the draws came from
      u.residual![y] = 0;
    }
    const value = u.value * q[y];
    u.mass -= q[y];
    const index = this.greedy
      ? b.add(u.index, y, { score: value, source: this.id })
      : b.add(u.index, y, { score: value, source: this.id, kind: NodeKind.sampled, draftProb: q[y] });
    this.parents[index] = u.index;
    this.tokens[index] = y;
    return { index, depth: u.depth + 1, value, slot: -1, dist: null, mass: 1, residual: null, order: null, next: 0 };
  }

  private async forwardBatch(batch: Node[]): Promise<void> {
    const past = this.cache.length;
    const m = batch.length;
    const width = past + m;
    if (this.biasScratch.length < m * width) this.biasScratch = new Float32Array(Math.max(m * width, 2 * this.biasScratch.length));
    const bias = this.biasScratch.subarray(0, m * width).fill(MASKED); // [m, past + m]
    const tokens: number[] = [];
    const positions: number[] = [];
    for (let i = 0; i < m; i++) {
      const c = batch[i];
      const row = i * width;
      bias.fill(0, row, row + this.base); // committed context, root included
      for (let a = this.parentOf(c.index); a > 0; a = this.parentOf(a)) bias[row + this.nodes[a].slot] = 0;
      bias[row + past + i] = 0;
      tokens.push(this.tokens[c.index]);
      positions.push(this.base - 1 + c.depth);
    }
    const logits = await this.draftForward(tokens, positions, bias); // [m, vocab]
    this.cache.commitAll();
    for (let i = 0; i < m; i++) {
      const c = batch[i];
      c.slot = past + i;
      this.initDist(c, logits, i * this.vocab);
    }
  }

  /** One draft forward over this.cache: its rows become pending rows (ModelRunner.forward). [rows, vocab] */
  protected draftForward(tokens: number[], positions: number[], bias: Float32Array, logitRows?: number[]): Promise<Float32Array> {
    return this.runner.forward(this.cache, tokens, positions, bias, logitRows);
  }

  private newNode(index: number, depth: number, value: number, slot: number, logits: Float32Array, offset: number): Node {
    const node: Node = { index, depth, value, slot, dist: null, mass: 1, residual: null, order: null, next: 0 };
    this.initDist(node, logits, offset);
    return node;
  }

  private initDist(node: Node, logits: Float32Array, offset: number): void {
    // Values need probabilities even under greedy decoding: use the draft's plain softmax there.
    const params = this.greedy ? { temperature: 1, topK: 0, topP: 1 } : this.sampling;
    node.dist = targetProbs(logits, offset, this.vocab, params, this.buffer());
    node.mass = 1;
    if (this.greedy) node.order = sortedIndices(node.dist, this.vocab, this.opts.maxChildren);
    else {
      const residual = this.buffer();
      residual.set(node.dist);
      node.residual = residual;
    }
  }

  /**
   * A [vocab] buffer from a pool reused step after step (a tree's distributions are needed only until that
   * step's verify and observe are done), so a big vocabulary does not cost fresh arrays every node.
   */
  private buffer(): Float32Array {
    if (this.used === this.pool.length) this.pool.push(new Float32Array(this.vocab));
    return this.pool[this.used++];
  }

  private parentOf(index: number): number {
    return this.parents[index];
  }

  rootDistribution(): Float32Array | null {
    return this.tree ? this.nodes[0].dist : null;
  }

  observe(o: StepOutcome): void {
    const tree = this.tree;
    if (!tree) return;
    // Keep the draft KV of the accepted path's longest prefix that the draft forwarded.
    const keep: number[] = [];
    let u = 0;
    for (let j = 1; j < o.acceptedNodes.length; j++) {
      const token = o.tree.tokens[o.acceptedNodes[j]];
      let next = -1;
      for (let k = tree.childOffsets[u]; k < tree.childOffsets[u + 1]; k++) {
        if (tree.tokens[tree.childNodes[k]] === token) next = tree.childNodes[k];
      }
      if (next < 0 || this.nodes[next]?.slot === undefined || this.nodes[next].slot < 0) break;
      keep.push(this.nodes[next].slot - this.base);
      u = next;
    }
    this.cache.uncommit(this.base);
    this.cache.commit(keep);
    this.fed = this.base + keep.length;
    this.tree = null;
  }

  dispose(): void {
    this.cache.truncate(0);
  }
}

/** A draw from an unnormalised distribution p with total `mass`; -1 when nothing is left. */
function sampleUnnormalised(p: Float32Array, mass: number, vocab: number, rng: Rng): number {
  const u = rng.next() * mass;
  let acc = 0;
  let last = -1;
  for (let i = 0; i < vocab; i++) {
    if (p[i] <= 0) continue;
    acc += p[i];
    last = i;
    if (u < acc) return i;
  }
  return last;
}


function pushMax(heap: Node[], x: Node): void {
  heap.push(x);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (key(heap[p]) >= key(heap[i])) break;
    [heap[p], heap[i]] = [heap[i], heap[p]];
    i = p;
  }
}

function popMax(heap: Node[]): Node {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && key(heap[l]) > key(heap[m])) m = l;
      if (r < heap.length && key(heap[r]) > key(heap[m])) m = r;
      if (m === i) break;
      [heap[m], heap[i]] = [heap[i], heap[m]];
      i = m;
    }
  }
  return top;
}

/** A slot's value: the node's value times the mass of q_u its next child can still take. */
function key(u: Node): number {
  return u.value * u.mass;
}
