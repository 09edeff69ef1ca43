// Cuts a draft tree down to a verification budget, keeping the best-scored connected subtree.
// Never reorders siblings' draw sequences: pruned sampled children stay in drawOrders as phantom draws.
import { errors } from '../common/errors.ts';
import { TreeBuilder, copyDraws, nodeOptions, type DraftTree } from './draft-tree.ts';

/**
 * Keeps at most `maxNodes` draft nodes (root not counted), chosen best-first: repeatedly keep the highest-scored
 * node whose parent is already kept (ties: lower node index). When scores never increase down a path, as for
 * path-product scores, this is exactly the top-maxNodes nodes by score (EAGLE-2's rerank, which stays connected
 * for the same reason). The result is re-indexed in the original (topological) order.
 *
 * Example: root→{1: 0.9, 2: 0.5}, 1→{3: 0.6}, maxNodes 2 → keeps 1 and 3 (0.9, 0.6); node 2 is dropped.
 */
export function pruneToBudget(tree: DraftTree, maxNodes: number): DraftTree {
  if (!Number.isInteger(maxNodes) || maxNodes < 0) throw errors.invalidParam(`tree budget ${maxNodes} must be a non-negative integer`);
  const n = tree.numNodes;
  if (n - 1 <= maxNodes) return tree;

  const kept = new Uint8Array(n);
  kept[0] = 1;
  const frontier: number[] = [];
  const pushChildren = (u: number) => {
    for (let j = tree.childOffsets[u]; j < tree.childOffsets[u + 1]; j++) frontier.push(tree.childNodes[j]);
  };
  pushChildren(0);
  for (let numKept = 0; numKept < maxNodes && frontier.length > 0; numKept++) {
    let best = 0;
    for (let j = 1; j < frontier.length; j++) {
      const a = frontier[j];
      const bestNode = frontier[best];
      if (tree.scores[a] > tree.scores[bestNode] || (tree.scores[a] === tree.scores[bestNode] && a < bestNode)) best = j;
    }
    const node = frontier[best];
    frontier[best] = frontier[frontier.length - 1];
    frontier.pop();
    kept[node] = 1;
    pushChildren(node);
  }

  const b = new TreeBuilder(tree.tokens[0], maxNodes + 1);
  const mapped = new Int32Array(n).fill(-1); // old node → new node
  mapped[0] = 0;
  copyDraws(tree, 0, b, 0);
  for (let i = 1; i < n; i++) {
    if (!kept[i]) continue;
    mapped[i] = b.add(mapped[tree.parents[i]], tree.tokens[i], nodeOptions(tree, i));
    copyDraws(tree, i, b, mapped[i]);
  }
  return b.build();
}
