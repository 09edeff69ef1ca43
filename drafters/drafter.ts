// The Drafter interface: the plain-data seam between drafters and the engine (llama.cpp's begin → draft →
// accept lifecycle, vLLM's proposer records). A drafter proposes a DraftTree rooted at the last emitted token
// and learns from what the target decided.
import type { DraftTree } from '../trees/draft-tree.ts';
import type { KvCache } from '../model/kv-cache.ts';

export interface DraftRequest {
  /** Prompt + every emitted token; the last one is the root (its KV is not computed yet). */
  context: readonly number[];
  /**
   * Most draft nodes the engine will verify this step (root excluded). A drafter may return somewhat more:
   * the engine cuts the merged tree to the budget by calibrated value anyway.
   */
  budget: number;
  /** Deepest node depth worth drafting (tokens left before max_tokens / the context limit). */
  maxDepth: number;
  /**
   * The draft model's distribution at the root this step, when a draft model drafted first (RASD pruning:
   * retrieval drops branches whose first token the draft model finds implausible). [vocab]
   */
  draftRootProbs?: Float32Array;
  /**
   * The target's KV cache: context[0 .. length) committed, no pending rows. A drafter may read it (layerskip
   * reads its first layers) and use the rows past the committed ones as scratch, but must leave it as it found it.
   */
  targetCache?: KvCache;
}

export interface StepOutcome {
  /** The tree that was verified (possibly merged and pruned: the node indices refer to it). */
  tree: DraftTree;
  /** Target logits at every node. [tree.numNodes, vocab] */
  logits: Float32Array;
  vocab: number;
  /** Accepted root-to-node path, root 0 first. */
  acceptedNodes: readonly number[];
  /** Tokens emitted this step (accepted drafts + bonus). */
  emitted: readonly number[];
}

export interface Drafter {
  /** Registry name, e.g. 'recycling'. */
  readonly name: string;
  /** Bit index in DraftTree.sources. */
  readonly id: number;
  /** Called once per request, before the first propose. */
  begin(promptTokens: readonly number[]): void;
  /**
   * A tree rooted at context[context.length - 1], or null when there is nothing worth drafting.
   * Model-free drafters answer synchronously; a draft model runs forwards and returns a promise.
   */
  propose(req: DraftRequest): DraftTree | null | Promise<DraftTree | null>;
  /** A draft model's q at the root of its latest proposal, for RASD pruning of other drafters. [vocab] */
  rootDistribution?(): Float32Array | null;
  /** Called after every verification step with the target's verdict. */
  observe(outcome: StepOutcome): void;
  /** Called once when the request ends (also when cut short), with prompt + every emitted token. */
  finish?(context: readonly number[]): void;
  /** Releases per-request state. */
  dispose(): void;
}
