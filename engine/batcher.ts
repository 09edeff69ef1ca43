// Continuous batching: every running generation joins the Batcher and gets a BatchSlot. A generation's forwards
// (its speculative steps and its prefill chunks) go through the slot; the Batcher waits until every member is
// at the barrier, then runs ONE forward over all their rows (model/batch-runner.ts), so weights are read once
// per step. Generations join and leave between steps; one alone runs the single-sequence graph as before.
//
// Batch-aware speculation: members sizing their tree ('auto') hand their candidate node values to allocate();
// once everyone has arrived, the step's token budget goes to the nodes with the highest calibrated value across
// the whole batch, at the total size that maximises Σ expected tokens ÷ t_step(total rows).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../common/log.ts';
import { errors } from '../common/errors.ts';
import { BatchRunner, DEFAULT_BATCH_SLOTS, type BatchItem } from '../model/batch-runner.ts';
import type { KvCache } from '../model/kv-cache.ts';
import { prefillInChunks, type ModelRunner } from '../model/runner.ts';
import type { SizeChoice } from '../trees/expander.ts';
import { OnlineCost, verifyCostCurve } from './verify-cost.ts';

export interface BatcherOptions {
  /** Most rows (tokens) one forward may carry; a step with more runs as several forwards. */
  maxBatchTokens: number;
  /** Prefill chunk of a generation that runs alone (the runner's own default when unset). */
  soloPrefillChunk?: number;
  /**
   * Draft trees in steps shared by several generations, sized across the batch by allocateBatch (the server's
   * --batch-speculation, on by default). With the padded batched graph of before (a copy of every past per step)
   * shared trees made steps slower than they paid; with per-slot attention, measured idle on the 82M stories
   * model over HTTP, they pay: 1.46× / 1.21× over plain batched decoding at 4 / 16 clients, trees shrinking
   * 7.4 → 3.0 → 0.3 nodes from 1 to 16 clients. Off: a shared step drafts nothing (unset here = off).
   */
  speculateShared?: boolean;
  /**
   * Sequences one batched forward carries: the batched graph's slots (the server passes --max-concurrent; default
   * DEFAULT_BATCH_SLOTS, at most MAX_BATCH_SLOTS). More members than that run as several forwards.
   */
  slots?: number;
  /** Free memory now, in bytes (default os.freemem); the batched graph is not opened when it would not fit. */
  freeMemoryBytes?: () => number;
  /** A fixed step cost by rows (ms) instead of the measured one (tests). */
  stepCost?: { at(rows: number): number };
  log?: Logger;
}

/**
 * Most slots the batched graph gets: an unused slot still costs its If in every layer (~7 µs each on CPU), so a
 * batch of 2 in a 64-slot graph of a 32-layer model would pay ~14 ms a step for nothing.
 */
export const MAX_BATCH_SLOTS = 16;

/** The batched graph holds a second copy of the weights: open it only with this much headroom over their size. */
const BATCHED_MEMORY_HEADROOM = 1.25;

/** A generation's way into the batch (engine/generate.ts passes it as GenerateRequest.batch). */
export interface BatchSlot {
  /** As ModelRunner.forward, run together with every other member's rows. */
  forward(cache: KvCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array, logitRows?: ArrayLike<number>): Promise<Float32Array>;
  /** As ModelRunner.prefill, in chunks sized so the other members' steps stay short. */
  prefill(cache: KvCache, tokens: ArrayLike<number>): Promise<Float32Array>;
  /**
   * This member's tree size this step. values: its candidates' acceptance values, best first; cap: the most it
   * may take; single: the choice it would make alone (used when it is alone).
   */
  allocate(values: readonly number[], cap: number, single: () => SizeChoice): Promise<SizeChoice>;
  /** Whether the last forward ran together with other members' rows (its time is then the batch's). */
  readonly shared: boolean;
  /** Whether an 'auto' tree may carry drafts now: the member is alone, or shared steps speculate (speculateShared). */
  readonly drafts: boolean;
  /** Leaves the batch (idempotent). */
  leave(): void;
}

interface Arrival {
  item: BatchItem;
  slot: Slot;
  resolve: (logits: Float32Array) => void;
  reject: (e: unknown) => void;
}

interface AllocRequest {
  values: readonly number[];
  cap: number;
  single: () => SizeChoice;
  resolve: (c: SizeChoice) => void;
}

/** Tree sizes chosen per step, by batch size (for bench reports). */
export interface AllocationRecord {
  members: number;
  sizes: number[];
}

class Slot implements BatchSlot {
  shared = false;
  left = false;
  constructor(private readonly batcher: Batcher) {}

  get drafts(): boolean {
    return this.batcher.opts.speculateShared === true || this.batcher.size <= 1;
  }

  forward(cache: KvCache, tokens: ArrayLike<number>, positions: ArrayLike<number>, bias: Float32Array, logitRows?: ArrayLike<number>): Promise<Float32Array> {
    return this.batcher.arrive(this, { cache, tokens, positions, bias, logitRows });
  }

  prefill(cache: KvCache, tokens: ArrayLike<number>): Promise<Float32Array> {
    return prefillInChunks(this.batcher.runner, cache, tokens, () => this.batcher.prefillChunk(), (c, t, p, b, r) => this.forward(c, t, p, b, r));
  }

  allocate(values: readonly number[], cap: number, single: () => SizeChoice): Promise<SizeChoice> {
    return this.batcher.requestAllocation(this, { values, cap, single });
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.batcher.remove(this);
  }
}

export class Batcher {
  private readonly members = new Set<Slot>();
  private readonly arrived = new Map<Slot, Arrival>();
  private readonly allocating = new Map<Slot, AllocRequest>();
  private running = false;
  private batchRunner: BatchRunner | null = null;
  private opening: Promise<BatchRunner> | null = null;
  /**
   * What a shared step costs by total rows R: the batched forward (the single-sequence verify curve refitted to
   * observed batched forwards) plus the host's work per row between forwards (verification, drafters' observe
   * and propose: per row, not shared, so it grows with the tree sizes the allocation picks).
   */
  private forwardCost: OnlineCost | null = null;
  private cost: { at(rows: number): number } | null = null;
  private costLoading = false;
  /** EMA of host milliseconds per row between shared forwards. */
  private hostMsPerRow = 0;
  /** Rows of the last shared step, and when it ended (for the host-time estimate). */
  private lastRows = 0;
  private lastEnd = 0;
  /** Total draft nodes chosen last allocation (hysteresis). */
  private lastDraftRows = 0;
  /** Recent allocations (bench reports read them). */
  readonly allocations: AllocationRecord[] = [];
  /** Forwards run, those that carried several sequences, and the most rows one carried. */
  readonly counts = { forwards: 0, sharedForwards: 0, maxRows: 0 };

  constructor(readonly runner: ModelRunner, readonly opts: BatcherOptions) {
    if (!(Number.isInteger(opts.maxBatchTokens) && opts.maxBatchTokens >= 1)) throw errors.invalidParam(`max batch tokens ${opts.maxBatchTokens} must be a positive integer`, 'max_batch_tokens');
  }

  /** Members now. */
  get size(): number {
    return this.members.size;
  }

  join(): BatchSlot {
    const slot = new Slot(this);
    this.members.add(slot);
    return slot;
  }

  /**
   * Opens the batched graph now rather than at the first shared step. It is a second session holding a second
   * copy of the weights: when free memory is short of that (with headroom), it stays closed, the server says so
   * once with the numbers, and shared steps run each generation in turn on the single-sequence graph.
   */
  warm(): Promise<BatchRunner> {
    this.opening ??= this.checkMemory().then(() => BatchRunner.open(this.runner, Math.min(this.opts.slots ?? DEFAULT_BATCH_SLOTS, MAX_BATCH_SLOTS))).then((b) => (this.batchRunner = b));
    return this.opening;
  }

  /** Whether concurrent generations run as one batched forward (the batched graph is open). */
  get batched(): boolean {
    return this.batchRunner !== null;
  }

  private async checkMemory(): Promise<void> {
    const weights = path.join(path.dirname(this.runner.compileInfo.modelPath), 'weights.bin');
    const need = fs.existsSync(weights) ? fs.statSync(weights).size * BATCHED_MEMORY_HEADROOM : 0;
    const free = (this.opts.freeMemoryBytes ?? os.freemem)();
    if (need > free) {
      const mb = (b: number) => Math.round(b / 2 ** 20);
      this.opts.log?.warn({ needMb: mb(need), freeMb: mb(free) }, `continuous batching off: its graph would need another ${mb(need)} MB for a second copy of the weights and ${mb(free)} MB are free; concurrent requests take turns (--max-concurrent 1 says so up front)`);
      throw errors.internal(`batched graph not opened: ${mb(need)} MB needed, ${mb(free)} MB free`);
    }
  }

  async dispose(): Promise<void> {
    const b = await this.opening?.catch(() => null);
    await b?.dispose();
  }

  /** @internal */
  remove(slot: Slot): void {
    this.members.delete(slot);
    const a = this.arrived.get(slot);
    this.arrived.delete(slot);
    a?.reject(errors.internal('a batch member left while its forward was waiting'));
    this.allocating.delete(slot);
    this.poke();
  }

  /** @internal */
  arrive(slot: Slot, item: BatchItem): Promise<Float32Array> {
    if (slot.left) return Promise.reject(errors.internal('forward through a batch slot that has left'));
    if (this.members.size === 1 && !this.running && this.arrived.size === 0) return this.runSolo(slot, item);
    return new Promise((resolve, reject) => {
      this.arrived.set(slot, { item, slot, resolve, reject });
      this.poke();
    });
  }

  /**
   * The only member: straight to the single-sequence graph, no barrier (the hand-offs cost a tiny model ~20%).
   * `running` holds a member that joins meanwhile at the barrier until this forward is done.
   */
  private async runSolo(slot: Slot, item: BatchItem): Promise<Float32Array> {
    this.running = true;
    slot.shared = false;
    this.counts.forwards++;
    try {
      return await this.runner.forward(item.cache, item.tokens, item.positions, item.bias, item.logitRows);
    } finally {
      this.running = false;
      this.poke();
    }
  }

  /** @internal */
  requestAllocation(slot: Slot, req: Omit<AllocRequest, 'resolve'>): Promise<SizeChoice> {
    if (this.members.size === 1 && this.arrived.size === 0 && this.allocating.size === 0) return Promise.resolve(req.single());
    return new Promise((resolve) => {
      this.allocating.set(slot, { ...req, resolve });
      this.poke();
    });
  }

  /**
   * Prefill chunk for a member now: the runner's own chunk when it is alone; with others decoding, the largest
   * power of two (4…256) whose rows keep a step within 1.5× of the last one's cost, so a long prompt does not
   * stall the others' streams (issue 10: a 2,000-token prompt must not double their p99 inter-token latency).
   */
  prefillChunk(): number {
    if (this.members.size <= 1) return this.opts.soloPrefillChunk ?? 256;
    const room = Math.max(4, this.opts.maxBatchTokens - this.members.size);
    this.loadCost(); // also when shared steps do not speculate: chunks are sized by the same step cost
    if (!this.cost) return Math.min(room, 16);
    // Against a decode step of the others (one row each), not the last step: that one may have carried a chunk
    // already, and chunks would ratchet up step after step.
    const base = Math.max(1, this.members.size - 1);
    const limit = 1.5 * this.cost.at(base);
    let chunk = 4;
    for (let c = 8; c <= 256 && c <= room; c *= 2) if (this.cost.at(base + c) <= limit) chunk = c;
    return Math.min(chunk, room);
  }

  /** Runs whatever is due: an allocation once everyone is at a barrier, a forward once everyone has arrived. */
  private poke(): void {
    if (this.running) return;
    const waiting = this.arrived.size + this.allocating.size;
    if (waiting === 0 || waiting < this.members.size) return;
    if (this.allocating.size > 0) this.allocate();
    else void this.step();
  }

  private allocate(): void {
    const waiters = [...this.allocating.values()];
    this.allocating.clear();
    if (waiters.length === 1 && this.arrived.size === 0) {
      waiters[0].resolve(waiters[0].single());
      return;
    }
    if (!this.opts.speculateShared) {
      for (const w of waiters) w.resolve({ size: 0, expectedTokens: 1, rate: 0 });
      return;
    }
    this.loadCost();
    if (!this.cost) {
      for (const w of waiters) w.resolve(w.single());
      return;
    }
    let baseRows = waiters.length; // every allocating member's root
    for (const a of this.arrived.values()) baseRows += a.item.tokens.length;
    const baseExpected = waiters.length + this.arrived.size;
    const sizes = allocateBatch(waiters.map((w) => w.values.slice(0, w.cap)), this.cost, baseRows, baseExpected, this.opts.maxBatchTokens - baseRows, this.lastDraftRows);
    this.lastDraftRows = sizes.reduce((a, b) => a + b, 0);
    this.allocations.push({ members: this.members.size, sizes });
    if (this.allocations.length > 4096) this.allocations.splice(0, 2048);
    waiters.forEach((w, i) => {
      let expected = 1;
      for (let j = 0; j < sizes[i]; j++) expected += w.values[j];
      w.resolve({ size: sizes[i], expectedTokens: expected, rate: 0 });
    });
  }

  private loadCost(): void {
    if (this.cost || this.costLoading) return;
    if (this.opts.stepCost) {
      this.cost = this.opts.stepCost;
      return;
    }
    this.costLoading = true;
    void verifyCostCurve(this.runner).then((c) => {
      const f = (this.forwardCost = new OnlineCost(c));
      this.cost = { at: (rows) => f.at(rows) + this.hostMsPerRow * rows };
    }, () => {});
  }

  private async step(): Promise<void> {
    this.running = true;
    const arrivals = [...this.arrived.values()];
    this.arrived.clear();
    try {
      const start = performance.now();
      const rows = arrivals.reduce((a, x) => a + x.item.tokens.length, 0);
      const shared = arrivals.length > 1;
      // Host time since the last shared forward ended, per row of that step.
      if (shared && this.lastRows > 0 && start - this.lastEnd < 10_000) this.hostMsPerRow += 0.1 * ((start - this.lastEnd) / this.lastRows - this.hostMsPerRow);
      for (const group of splitRows(arrivals, this.opts.maxBatchTokens)) await this.run(group);
      const end = performance.now();
      if (shared) this.forwardCost?.observe(rows, end - start);
      this.lastRows = shared ? rows : 0;
      this.lastEnd = end;
    } finally {
      this.running = false;
      this.poke();
    }
  }

  private async run(group: Arrival[]): Promise<void> {
    const shared = group.length > 1;
    for (const a of group) a.slot.shared = shared;
    this.counts.forwards++;
    if (shared) this.counts.sharedForwards++;
    this.counts.maxRows = Math.max(this.counts.maxRows, group.reduce((a, x) => a + x.item.tokens.length, 0));
    if (shared && !this.batchRunner) void this.warm().catch(() => {});
    if (!shared || !this.batchRunner) {
      // Alone, or the batched graph is still opening: each item on the single-sequence graph.
      for (const a of group) await this.runAlone(a);
      return;
    }
    let out: Float32Array[];
    try {
      out = await this.batchRunner.forward(group.map((a) => a.item));
    } catch {
      // A bad item (say a position past the window) fails alone; the others run again without it.
      for (const a of group) await this.runAlone(a);
      return;
    }
    group.forEach((a, i) => a.resolve(out[i]));
  }

  private async runAlone(a: Arrival): Promise<void> {
    const { cache, tokens, positions, bias, logitRows } = a.item;
    try {
      a.resolve(await this.runner.forward(cache, tokens, positions, bias, logitRows));
    } catch (e) {
      a.reject(e);
    }
  }
}

/** Arrivals in groups of at most maxRows rows (an item bigger than that runs alone). */
function splitRows(arrivals: Arrival[], maxRows: number): Arrival[][] {
  const groups: Arrival[][] = [];
  let cur: Arrival[] = [];
  let rows = 0;
  for (const a of arrivals) {
    const n = a.item.tokens.length;
    if (cur.length > 0 && rows + n > maxRows) {
      groups.push(cur);
      cur = [];
      rows = 0;
    }
    cur.push(a);
    rows += n;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/**
 * One token budget across the batch: members' candidate lists (values best first, each prefix a valid tree)
 * are merged greedily by value, and the total k is the one maximising (baseExpected + Σ top-k values) ÷
 * cost(baseRows + k), within `room` rows; the previous total is kept unless another is 5% better.
 * Returns each member's number of draft nodes (0 is allowed: no drafts this step).
 *
 * Example: lists [0.9, 0.2] and [0.8], base 2 rows / 2 tokens, cost 1 up to 3 rows then +1 per row:
 * k=0 → 2/1, k=1 (0.9) → 2.9/1, k=2 (+0.8) → 3.7/2 → sizes [1, 0].
 */
export function allocateBatch(lists: readonly (readonly number[])[], cost: { at(n: number): number }, baseRows: number, baseExpected: number, room: number, previous = -1): number[] {
  const heads = lists.map(() => 0);
  const picks: number[] = [];
  let expected = baseExpected;
  let best = { k: 0, rate: baseExpected / cost.at(baseRows) };
  let kept = previous === 0 ? best : null;
  for (let k = 1; k <= room; k++) {
    let pick = -1;
    for (let i = 0; i < lists.length; i++) {
      if (heads[i] < lists[i].length && (pick < 0 || lists[i][heads[i]] > lists[pick][heads[pick]])) pick = i;
    }
    if (pick < 0) break;
    expected += Math.max(0, Math.min(1, lists[pick][heads[pick]]));
    heads[pick]++;
    picks.push(pick);
    const rate = expected / cost.at(baseRows + k);
    if (k === previous) kept = { k, rate };
    if (rate > best.rate) best = { k, rate };
  }
  const k = kept && best.rate < kept.rate * 1.05 ? kept.k : best.k;
  const sizes = lists.map(() => 0);
  for (let j = 0; j < k; j++) sizes[picks[j]]++;
  return sizes;
}
