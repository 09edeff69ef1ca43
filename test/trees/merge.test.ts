// Merging drafters' trees by longest common prefix: shared paths fuse, sources OR, best score kept.
import t from 'tap';
import { NodeKind, TreeBuilder, findChild } from '../../trees/draft-tree.ts';
import { mergeTrees } from '../../trees/merge.ts';
import { rootPath } from '../../trees/mask.ts';

function chain(root: number, tokens: number[], scores: number[], source: number) {
  const b = new TreeBuilder(root);
  let u = 0;
  tokens.forEach((tok, i) => (u = b.add(u, tok, { score: scores[i], source })));
  return b.build();
}

const pathTokens = (tree: ReturnType<typeof chain>, node: number) => rootPath(tree, node).map((i) => tree.tokens[i]);

t.test('common prefixes fuse into one node; diverging suffixes hang off the deepest shared node', (t) => {
  const a = chain(5, [7, 9, 2], [0.9, 0.5, 0.2], 0);
  const b = chain(5, [7, 9, 3], [0.6, 0.7, 0.4], 1);
  const c = chain(5, [8], [0.3], 2);
  const m = mergeTrees([a, b, c]);
  t.equal(m.numNodes, 6);
  t.same(Array.from(m.tokens), [5, 7, 9, 2, 3, 8]);
  t.same(Array.from(m.parents), [-1, 0, 1, 2, 2, 0]);
  t.same(Array.from(m.sources), [0, 0b011, 0b011, 0b001, 0b010, 0b100]);
  t.same(Array.from(m.scores), [1, 0.9, 0.7, 0.2, 0.4, 0.3].map(Math.fround));
  t.same(pathTokens(m, 4), [5, 7, 9, 3]);
  t.end();
});

t.test('merging a tree with itself changes nothing but is still a valid tree', (t) => {
  const a = chain(5, [7, 9], [0.9, 0.5], 3);
  const m = mergeTrees([a, a]);
  t.same(Array.from(m.tokens), Array.from(a.tokens));
  t.same(Array.from(m.parents), Array.from(a.parents));
  t.same(Array.from(m.sources), Array.from(a.sources));
  t.equal(mergeTrees([a]), a);
  t.end();
});

t.test('different roots are refused', (t) => {
  t.throws(() => mergeTrees([chain(5, [1], [1], 0), chain(6, [1], [1], 0)]), /roots 5 and 6/);
  t.throws(() => mergeTrees([]));
  t.end();
});

t.test('sampled children: the first tree keeps its draws, a second distribution becomes deterministic', (t) => {
  const qa = Float32Array.from([0.5, 0.3, 0.2, 0]);
  const qb = Float32Array.from([0, 0.1, 0.2, 0.7]);
  const ta = new TreeBuilder(0);
  ta.setChildDist(0, qa);
  ta.recordDraw(0, 0); // phantom
  ta.add(0, 1, { kind: NodeKind.sampled, score: 0.3, source: 0 });
  const tb = new TreeBuilder(0);
  tb.setChildDist(0, qb);
  tb.add(0, 3, { kind: NodeKind.sampled, score: 0.7, source: 1 });
  tb.add(0, 1, { kind: NodeKind.sampled, score: 0.1, source: 1 });
  tb.add(0, 2, { score: 0.2, source: 1 });
  const m = mergeTrees([ta.build(), tb.build()]);
  t.equal(m.childDists[0], qa);
  t.same(Array.from(m.drawOrders[0]!), [0, 1]);
  const n1 = findChild(m, 0, 1);
  const n3 = findChild(m, 0, 3);
  t.equal(m.kinds[n1], NodeKind.sampled);
  t.equal(m.sources[n1], 0b11);
  t.equal(m.kinds[n3], NodeKind.deterministic);
  t.equal(m.draftProbs[n3], 0);
  t.equal(m.kinds[findChild(m, 0, 2)], NodeKind.deterministic);
  t.end();
});

t.test('a distribution is adopted where the first tree had none', (t) => {
  const q = Float32Array.from([0.5, 0.5]);
  const tb = new TreeBuilder(0);
  tb.setChildDist(0, q);
  tb.add(0, 1, { kind: NodeKind.sampled, source: 1 });
  const m = mergeTrees([chain(0, [1], [0.4], 0), tb.build()]);
  t.equal(m.numNodes, 2);
  t.equal(m.kinds[1], NodeKind.sampled);
  t.equal(m.draftProbs[1], 0.5);
  t.equal(m.sources[1], 0b11);
  t.end();
});
