// TreeBuilder invariants: parents before children, sibling dedup with merged score/sources, sampled nodes and draws.
import t from 'tap';
import { NodeKind, TreeBuilder, childrenOf, findChild } from '../../trees/draft-tree.ts';

t.test('builds flat arrays in insertion order with depths and a children index', (t) => {
  const b = new TreeBuilder(10, 1); // capacity 1 forces growth
  const a = b.add(0, 7, { score: 0.8, source: 2 });
  const c = b.add(a, 9, { score: 0.5, source: 2 });
  const d = b.add(0, 4, { score: 0.3, source: 1 });
  const tree = b.build();
  t.same([a, c, d], [1, 2, 3]);
  t.same(Array.from(tree.tokens), [10, 7, 9, 4]);
  t.same(Array.from(tree.parents), [-1, 0, 1, 0]);
  t.same(Array.from(tree.depths), [0, 1, 2, 1]);
  t.same(Array.from(tree.scores), [1, Math.fround(0.8), 0.5, Math.fround(0.3)]);
  t.same(Array.from(tree.sources), [0, 4, 4, 2]);
  t.same(Array.from(tree.kinds), [0, 0, 0, 0]);
  t.same(Array.from(tree.childOffsets), [0, 2, 3, 3, 3]);
  t.same(Array.from(childrenOf(tree, 0)), [1, 3]);
  t.same(Array.from(childrenOf(tree, 1)), [2]);
  t.equal(findChild(tree, 0, 4), 3);
  t.equal(findChild(tree, 0, 9), -1);
  t.ok(Object.isFrozen(tree));
  t.end();
});

t.test('a child before its parent throws', (t) => {
  const b = new TreeBuilder(1);
  t.throws(() => b.add(1, 5), /parents must come before children/);
  t.throws(() => b.add(-1, 5));
  b.add(0, 5);
  t.throws(() => b.add(2, 6), /parents must come before children/);
  t.throws(() => b.add(0, -3), /non-negative/);
  t.throws(() => b.add(0, 3, { source: 32 }), /drafter id/);
  t.end();
});

t.test('adding an existing sibling token merges: max score, OR sources', (t) => {
  const b = new TreeBuilder(1);
  const x = b.add(0, 5, { score: 0.2, source: 0 });
  t.equal(b.add(0, 5, { score: 0.7, source: 3 }), x);
  t.equal(b.add(0, 5, { score: 0.1, sources: 0b100000 }), x);
  const y = b.add(x, 5, { score: 0.1 }); // same token at another parent is a different node
  const tree = b.build();
  t.equal(tree.numNodes, 3);
  t.equal(y, 2);
  t.equal(tree.scores[x], Math.fround(0.7));
  t.equal(tree.sources[x], 0b101001);
  t.end();
});

t.test('sampled children record the draw order and q(token); deterministic+sampled is one SAMPLED node', (t) => {
  const q = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
  const b = new TreeBuilder(0);
  t.throws(() => b.add(0, 2, { kind: NodeKind.sampled }), /no child distribution/);
  const det = b.add(0, 2, { score: 0.5, source: 1 });
  b.setChildDist(0, q);
  t.throws(() => b.setChildDist(0, new Float32Array(4)), /different child distribution/);
  const s = b.add(0, 3, { score: 0.4, kind: NodeKind.sampled, source: 4 });
  t.equal(b.add(0, 2, { score: 0.3, kind: NodeKind.sampled, source: 4 }), det);
  b.recordDraw(0, 1); // a phantom draw: drawn, no node
  const late = b.add(0, 1, { score: 0.1 }); // a deterministic add of a drawn token is sampled
  const tree = b.build();
  t.same(Array.from(tree.drawOrders[0]!), [3, 2, 1]);
  t.equal(tree.childDists[0], q);
  t.equal(tree.drawOrders[1], undefined);
  t.equal(tree.kinds[det], NodeKind.sampled);
  t.equal(tree.kinds[s], NodeKind.sampled);
  t.equal(tree.kinds[late], NodeKind.sampled);
  t.equal(tree.draftProbs[det], Math.fround(0.3));
  t.equal(tree.draftProbs[s], Math.fround(0.4));
  t.equal(tree.scores[det], 0.5);
  t.equal(tree.sources[det], 0b10010);
  t.end();
});

t.test('recordDraw promotes an existing deterministic child; build() leaves the builder usable', (t) => {
  const b = new TreeBuilder(0);
  const c = b.add(0, 1);
  const before = b.build();
  b.setChildDist(0, Float32Array.from([0.5, 0.5]));
  b.recordDraw(0, 1);
  b.recordDraw(0, 1);
  const after = b.build();
  t.equal(before.kinds[c], NodeKind.deterministic);
  t.equal(after.kinds[c], NodeKind.sampled);
  t.equal(after.draftProbs[c], 0.5);
  t.same(Array.from(after.drawOrders[0]!), [1]);
  t.throws(() => b.recordDraw(0, 2), /outside the vocabulary/);
  t.end();
});
