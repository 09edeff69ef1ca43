// Seeded (reproducible) tree verification: every output position k gets ONE target sample y_k, drawn from
// the target distribution with a random stream keyed by (seed, k); a child is accepted iff it carries y_k.
// The emitted tokens are then exactly those of seeded autoregressive sampling, whatever the drafts were:
// lossless by construction, and the same seed gives the same text with any drafter, tree or budget.
import { Rng } from '../common/rng.ts';
import { sampleFrom, targetProbs, type SamplingParams } from '../common/sampling.ts';
import type { DraftTree } from '../trees/draft-tree.ts';
import { followTree } from './greedy.ts';
import type { RowHook, VerifyResult } from './verify-result.ts';

let scratch = new Float32Array(0); // [vocab]

/**
 * logits: [numNodes, vocab]; rootPosition: absolute position of the root token (its child is output
 * position rootPosition + 1). A deterministic child x is accepted with probability p(x), as under rule D;
 * a sampled child with probability p(x) too (rule S would accept more, but its outcome depends on the tree).
 *
 * Example: seed 7, root at position 9: y_10 ~ p(· | node 0) from Rng(key(7, 10)); if node 0 has a child
 * carrying y_10, continue from it with y_11 from Rng(key(7, 11)), else emit y_10 and stop.
 */
export function verifyCoupled(tree: DraftTree, logits: Float32Array, vocab: number, params: SamplingParams, seed: number, rootPosition: number, hook?: RowHook): VerifyResult {
  if (scratch.length < vocab) scratch = new Float32Array(vocab);
  return followTree(tree, (u) => {
    targetProbs(logits, u * vocab, vocab, params, scratch);
    return sampleFrom(scratch, vocab, new Rng(positionKey(seed, rootPosition + tree.depths[u] + 1)));
  }, hook && ((u) => hook(u, logits)));
}

/** A 32-bit key for (seed, position) (the murmur3 finaliser over both). */
export function positionKey(seed: number, position: number): number {
  let h = (seed ^ Math.imul(position + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
