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
export function pruneToBudget(tree: DraftTree, maxNodes: number, values: ArrayLike<number> = tree.scores): DraftTree {
  if (!Number.isInteger(maxNodes) || maxNodes < 0) throw errors.invalidParam(`tree budget ${maxNodes} must be a non-negative integer`);
  if (tree.numNodes - 1 <= maxNodes) return tree;
  return keepFirst(tree, bestFirstOrder(tree, maxNodes, values), maxNodes);
}

/**
 * Draft nodes in the order pruning would keep them: repeatedly the highest-valued node whose parent is
 * already taken (ties: lower node index), at most maxNodes of them. [≤ maxNodes]
 */
export function bestFirstOrder(tree: DraftTree, maxNodes: number, values: ArrayLike<number> = tree.scores): Int32Array {
  const order = new Int32Array(Math.min(maxNodes, tree.numNodes - 1));
  const frontier: number[] = [];
  const pushChildren = (u: number) => {
    for (let j = tree.childOffsets[u]; j < tree.childOffsets[u + 1]; j++) frontier.push(tree.childNodes[j]);
  };
  pushChildren(0);
  let count = 0;
  while (count < order.length && frontier.length > 0) {
    let best = 0;
    for (let j = 1; j < frontier.length; j++) {
      const a = frontier[j];
      const bestNode = frontier[best];
      if (values[a] > values[bestNode] || (values[a] === values[bestNode] && a < bestNode)) best = j;
    }
    const node = frontier[best];
    frontier[best] = frontier[frontier.length - 1];
    frontier.pop();
    order[count++] = node;
    pushChildren(node);
  }
  return order.subarray(0, count);
}

/** The subtree made of the root and the first `count` nodes of a best-first order, re-indexed topologically. */
export function keepFirst(tree: DraftTree, order: Int32Array, count: number): DraftTree {
  if (count >= tree.numNodes - 1) return tree;
  const n = tree.numNodes;
  const kept = new Uint8Array(n);
  kept[0] = 1;
  for (let j = 0; j < count && j < order.length; j++) kept[order[j]] = 1;
  const b = new TreeBuilder(tree.tokens[0], count + 1);
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
