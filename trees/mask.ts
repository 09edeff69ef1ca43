// Tree attention: the additive ancestor bias, position ids and root paths for one forward over a DraftTree.
// Pure index arithmetic; never allocates per row. SpecInfer's "topology-aware causal mask" (arXiv 2305.09781 §4.2).
import assert from 'node:assert/strict';
import type { DraftTree } from './draft-tree.ts';

/** Bias value for a masked (query, key) pair. Every row attends at least itself, so -Infinity never yields NaN. */
export const MASKED = -Infinity;

/**
 * Additive attention bias for the tree: row i may attend every prefix position, itself and its ancestors.
 * Layout [numNodes, prefixLen + numNodes]; 0 = attend, `maskValue` = masked. Each row's tree part is a copy
 * of its parent's row plus its own diagonal (EAGLE-2 builds it the same way), so the cost is one pass over the output.
 *
 * Example: root 0 with children 1, 2 and 3 under 1, prefixLen 2 (x = masked):
 *   row 0: 0 0 | 0 x x x
 *   row 1: 0 0 | 0 0 x x
 *   row 2: 0 0 | 0 x 0 x
 *   row 3: 0 0 | 0 0 x 0
 */
export function treeAttentionBias(tree: DraftTree, prefixLen: number, out?: Float32Array, maskValue = MASKED): Float32Array {
  const n = tree.numNodes;
  const width = prefixLen + n;
  if (!(Number.isInteger(prefixLen) && prefixLen >= 0)) assert.fail(`prefixLen ${prefixLen} must be a non-negative integer`);
  const bias = out ?? new Float32Array(n * width); // [numNodes, prefixLen + numNodes]
  if (!(bias.length >= n * width)) assert.fail(`bias buffer holds ${bias.length}, needs ${n}×${width}`);
  for (let i = 0; i < n; i++) {
    const row = i * width;
    bias.fill(0, row, row + prefixLen);
    const p = tree.parents[i];
    if (p < 0) bias.fill(maskValue, row + prefixLen, row + width);
    else bias.copyWithin(row + prefixLen, p * width + prefixLen, p * width + width);
    bias[row + prefixLen + i] = 0;
  }
  return bias;
}

/** Position id of every node: prefixLen + depth (the root sits at prefixLen). int64, as ONNX position_ids expect. */
export function treePositions(tree: DraftTree, prefixLen: number, out?: BigInt64Array): BigInt64Array {
  const pos = out ?? new BigInt64Array(tree.numNodes); // [numNodes]
  if (!(pos.length >= tree.numNodes)) assert.fail(`positions buffer holds ${pos.length}, needs ${tree.numNodes}`);
  for (let i = 0; i < tree.numNodes; i++) pos[i] = BigInt(prefixLen + tree.depths[i]);
  return pos;
}

/** Node indices from the root (0) down to `node`, inclusive. */
export function rootPath(tree: DraftTree, node: number): number[] {
  if (!(Number.isInteger(node) && node >= 0 && node < tree.numNodes)) assert.fail(`node ${node} outside 0..${tree.numNodes - 1}`);
  const path: number[] = [];
  for (let u = node; u >= 0; u = tree.parents[u]) path.push(u);
  return path.reverse();
}
