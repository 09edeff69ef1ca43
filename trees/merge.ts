// Fuses several drafters' trees into one by longest common prefix (RASD's tree fusion, arXiv 2503.03434).
// Identical root paths become one node; it never drops a node or a draw, so each input tree is a subtree of the result.
import assert from 'node:assert/strict';
import { NodeKind, TreeBuilder, copyDraws, nodeOptions, type DraftTree } from './draft-tree.ts';

/**
 * Merges trees sharing the same root token. A node reached by the same token path in several trees becomes
 * one node with the best score and the OR of all sources.
 *
 * Sampled children: a merged node keeps ONE draft distribution and draw sequence, the first tree's that has one
 * there. Sampled children that another tree drew at that node from its own distribution are kept as
 * DETERMINISTIC nodes (draftProb 0): rule D is valid for any fixed candidate set, so the result stays lossless;
 * a token that is also in the kept draw sequence stays SAMPLED (see TreeBuilder.add).
 *
 * Example: A = 5→[7→[9]], B = 5→[7→[8], 3] gives 5→[7→[9, 8], 3], node "7" with sources A|B.
 */
export function mergeTrees(trees: readonly DraftTree[]): DraftTree {
  assert(trees.length > 0, 'mergeTrees needs at least one tree');
  const rootToken = trees[0].tokens[0];
  for (const t of trees) assert.equal(t.tokens[0], rootToken, `cannot merge trees with roots ${rootToken} and ${t.tokens[0]}`);
  if (trees.length === 1) return trees[0];

  const capacity = trees.reduce((n, t) => n + t.numNodes, 0);
  const b = new TreeBuilder(rootToken, capacity);
  const distOwner = new Map<number, number>(); // merged node → index of the tree whose draws it keeps

  trees.forEach((tree, ti) => {
    const mapped = new Int32Array(tree.numNodes); // tree node → merged node
    const adopt = (u: number) => {
      const m = mapped[u];
      if (tree.childDists[u] === undefined || b.hasChildDist(m)) return;
      copyDraws(tree, u, b, m);
      distOwner.set(m, ti);
    };
    adopt(0);
    for (let i = 1; i < tree.numNodes; i++) {
      const m = mapped[tree.parents[i]];
      const opts = nodeOptions(tree, i);
      if (opts.kind === NodeKind.sampled && distOwner.get(m) !== ti) {
        opts.kind = NodeKind.deterministic;
        opts.draftProb = 0;
      }
      mapped[i] = b.add(m, tree.tokens[i], opts);
      adopt(i);
    }
  });
  return b.build();
}
