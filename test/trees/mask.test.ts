// Tree attention bias, positions and root paths against hand-computed arrays.
import t from 'tap';
import { TreeBuilder } from '../../trees/draft-tree.ts';
import { rootPath, treeAttentionBias, treePositions } from '../../trees/mask.ts';

const X = -Infinity;

/** root 0 → {1 → {3, 4 → {5}}, 2} */
function handTree() {
  const b = new TreeBuilder(100);
  b.add(0, 11); // 1
  b.add(0, 12); // 2
  b.add(1, 13); // 3
  b.add(1, 14); // 4
  b.add(4, 15); // 5
  return b.build();
}

t.test('ancestor bias with a prefix', (t) => {
  const bias = treeAttentionBias(handTree(), 2);
  // prettier-ignore
  const expected = [
    0, 0,  0, X, X, X, X, X,
    0, 0,  0, 0, X, X, X, X,
    0, 0,  0, X, 0, X, X, X,
    0, 0,  0, 0, X, 0, X, X,
    0, 0,  0, 0, X, X, 0, X,
    0, 0,  0, 0, X, X, 0, 0,
  ];
  t.same(Array.from(bias), expected);
  t.end();
});

t.test('ancestor bias without a prefix, into a reused buffer, with a finite mask value', (t) => {
  const out = new Float32Array(36).fill(7);
  const bias = treeAttentionBias(handTree(), 0, out, -1e9);
  t.equal(bias, out);
  const M = Math.fround(-1e9);
  // prettier-ignore
  t.same(Array.from(bias), [
    0, M, M, M, M, M,
    0, 0, M, M, M, M,
    0, M, 0, M, M, M,
    0, 0, M, 0, M, M,
    0, 0, M, M, 0, M,
    0, 0, M, M, 0, 0,
  ]);
  t.throws(() => treeAttentionBias(handTree(), 1, new Float32Array(10)), /bias buffer/);
  t.end();
});

t.test('a root-only tree attends the prefix and itself', (t) => {
  t.same(Array.from(treeAttentionBias(new TreeBuilder(3).build(), 3)), [0, 0, 0, 0]);
  t.end();
});

t.test('positions are prefixLen + depth', (t) => {
  t.same(Array.from(treePositions(handTree(), 5)), [5n, 6n, 6n, 7n, 7n, 8n]);
  t.same(Array.from(treePositions(handTree(), 0)), [0n, 1n, 1n, 2n, 2n, 3n]);
  t.end();
});

t.test('root paths', (t) => {
  const tree = handTree();
  t.same(rootPath(tree, 0), [0]);
  t.same(rootPath(tree, 2), [0, 2]);
  t.same(rootPath(tree, 5), [0, 1, 4, 5]);
  t.throws(() => rootPath(tree, 6));
  t.end();
});
