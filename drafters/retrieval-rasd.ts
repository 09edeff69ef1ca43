// RASD pruning (Quan et al., arXiv 2503.03434): drop retrieved branches whose first token the draft model finds
// implausible, before the retrieval tree is fused into the draft model's tree. Pure; fusion is trees/merge.ts's job.
import { TreeBuilder, copyDraws, nodeOptions, type DraftTree } from '../trees/draft-tree.ts';

/**
 * Keeps the root, every depth-1 node whose token passes `firstTokenPlausible`, and all their descendants.
 * The paper's exact rule is not public (speculation-methods.md §2); a typical test is "in the draft's top-k at
 * the root" or "q(token) ≥ threshold".
 *
 * Example: root 3 → {4 → 8, 5 → 9}, plausible = (t) => t === 4 → root 3 → 4 → 8.
 */
export function pruneRetrievalByDraft(tree: DraftTree, firstTokenPlausible: (token: number) => boolean): DraftTree {
  const n = tree.numNodes;
  const b = new TreeBuilder(tree.tokens[0], n);
  const mapped = new Int32Array(n).fill(-1); // [numNodes] old node → new node, -1 = dropped
  mapped[0] = 0;
  copyDraws(tree, 0, b, 0);
  for (let i = 1; i < n; i++) {
    const parent = mapped[tree.parents[i]];
    if (parent < 0 || (tree.parents[i] === 0 && !firstTokenPlausible(tree.tokens[i]))) continue;
    mapped[i] = b.add(parent, tree.tokens[i], nodeOptions(tree, i));
    copyDraws(tree, i, b, mapped[i]);
  }
  return b.build();
}
