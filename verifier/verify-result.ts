// The record one verification step hands back to the engine: accepted path, emitted tokens, counts.
// Plain data in vLLM's vocabulary (accepted, recovered, bonus); it never holds logits.

/**
 * Called by a verifier as it reaches node u (the root first, then each accepted child, in path order), before
 * it reads row u of the logits; it may rewrite that row (a grammar mask: engine/constraint.ts). It may return the
 * row's argmax when it already found it, which greedy verification then takes instead of scanning the row again.
 * logits: [numNodes, vocab]
 */
export type RowHook = (u: number, logits: Float32Array) => number | void;

export interface VerifyResult {
  /** Accepted root-to-node path, starting with the root 0; the KV cache keeps exactly these nodes. */
  acceptedNodes: number[];
  /** Tokens emitted this step: the accepted draft tokens, then exactly one bonus/recovered token. */
  tokens: number[];
  /** Draft nodes in the tree (root excluded). */
  numDrafted: number;
  /** Accepted draft nodes = acceptedNodes.length - 1. */
  numAcceptedDraft: number;
}
