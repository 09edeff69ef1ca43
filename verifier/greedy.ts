// Greedy tree verification (temperature 0): follow the target's argmax down the tree.
// Deterministic and draw-free; it ignores node kinds and draft distributions.
import { argmax } from '../common/sampling.ts';
import { findChild, type DraftTree } from '../trees/draft-tree.ts';
import type { RowHook, VerifyResult } from './verify-result.ts';

/**
 * At node u take y = argmax(logits row u); if u has a child carrying y, accept it and continue from it,
 * else emit y as the bonus token and stop (speculation-methods.md §0; Token Recycling and REST compute the same
 * longest-matching path). logits: [numNodes, vocab].
 *
 * Example: tree 5→{7→{9}, 3}, argmax rows [7, 2, …] → acceptedNodes [0, 1], tokens [7, 2].
 */
export function verifyGreedy(tree: DraftTree, logits: Float32Array, vocab: number, hook?: RowHook): VerifyResult {
  let known = -1; // the reached row's argmax when the hook already found it (a grammar's lazy check, a forced token)
  const reach = hook && ((u: number) => {
    known = hook(u, logits) ?? -1;
  });
  return followTree(tree, (u) => (known >= 0 ? known : argmax(logits, u * vocab, vocab)), reach);
}

/**
 * The walk shared by every verifier that settles each position on ONE token before looking at the children:
 * from the root, take `choose(u)`; descend into the child carrying it, or emit it as the last token and stop.
 * `reach(u)` runs first at every node reached.
 */
export function followTree(tree: DraftTree, choose: (node: number) => number, reach?: (node: number) => void): VerifyResult {
  const acceptedNodes = [0];
  const tokens: number[] = [];
  for (let u = 0; ; ) {
    reach?.(u);
    const y = choose(u);
    tokens.push(y);
    const child = findChild(tree, u, y);
    if (child < 0) break;
    acceptedNodes.push(child);
    u = child;
  }
  return { acceptedNodes, tokens, numDrafted: tree.numNodes - 1, numAcceptedDraft: acceptedNodes.length - 1 };
}
