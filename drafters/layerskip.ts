// The `layerskip` drafter: self-speculation with the target's own first k layers, then its final norm and head
// (an early exit built into the target's graph: model/graph/build-decoder.ts), so no second model and no second
// copy of the weights. It grows its tree like the draft model (drafters/draft-model.ts: DySpec's greedy heap;
// under sampling, children drawn without replacement from its q and verified by rule S).
//
// It keeps no KV cache of its own: the first k layers' K/V of every committed token are the target's own rows
// (layer l < k sees the same inputs in both), so it reads the target's cache. The K/V of the root and of the draft
// nodes (layers < k) go into the rows past the committed ones, the rows the target's next forward overwrites
// with its pending rows anyway, and the cache is cut back to its committed length before propose() returns.
import { errors } from '../common/errors.ts';
import type { Rng } from '../common/rng.ts';
import type { SamplingParams } from '../common/sampling.ts';
import { KvCache } from '../model/kv-cache.ts';
import type { ModelRunner } from '../model/runner.ts';
import type { DraftTree } from '../trees/draft-tree.ts';
import { DraftModelDrafter } from './draft-model.ts';
import type { DraftRequest } from './drafter.ts';

export class LayerSkipDrafter extends DraftModelDrafter {
  override readonly name: string = 'layerskip';
  /** Stands in for a cache between steps, so nothing here ever holds on to the target's. */
  private readonly idle: KvCache;

  constructor(id: number, target: ModelRunner, readonly layers: number, sampling: SamplingParams, rng: Rng) {
    if (!target.earlyExits.includes(layers)) {
      throw errors.invalidParam(`drafter "layerskip" needs an early exit after ${layers} layers; the target's graph has ${target.earlyExits.length ? target.earlyExits.join(', ') : 'none'} (start with --drafters including layerskip, or --layerskip-layers K)`, 'drafters');
    }
    const idle = new KvCache(0, 0, 0, 0);
    super(id, target, sampling, rng, undefined, idle);
    this.idle = idle;
  }

  override begin(): void {
    this.tree = null;
  }

  override async propose(req: DraftRequest): Promise<DraftTree | null> {
    const cache = req.targetCache;
    if (!cache) throw errors.internal('layerskip: the step passed no target cache');
    if (cache.pending !== 0) throw errors.internal(`layerskip: the target cache has ${cache.pending} pending rows at propose`);
    const committed = cache.length;
    this.cache = cache;
    this.fed = committed; // the root (and only it) is not in the target's cache yet
    try {
      return await super.propose(req);
    } finally {
      cache.truncate(committed); // drop the root's and the drafts' rows (layers < k only): the target's again
      this.cache = this.idle;
    }
  }

  protected override draftForward(tokens: number[], positions: number[], bias: Float32Array, logitRows?: number[]): Promise<Float32Array> {
    return this.runner.forwardExit(this.cache, this.layers, tokens, positions, bias, logitRows);
  }

  override observe(): void {
    this.tree = null; // nothing to keep: next step's context K/V are the target's committed rows
  }

  override dispose(): void {
    this.cache = this.idle;
  }
}
