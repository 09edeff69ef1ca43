// Pruning to a budget: best scores first, always connected, topological re-indexing, draws kept as phantoms.
import t from 'tap';
import { NodeKind, TreeBuilder, type DraftTree } from '../../trees/draft-tree.ts';
import { rootPath } from '../../trees/mask.ts';
import { pruneToBudget } from '../../trees/prune.ts';

/** root → {1: .9 → {3: .6 → {6: .1}, 4: .3}, 2: .5 → {5: .45}} */
function scored(): DraftTree {
  const b = new TreeBuilder(0);
  b.add(0, 10, { score: 0.9 });
  b.add(0, 20, { score: 0.5 });
  b.add(1, 30, { score: 0.6 });
  b.add(1, 40, { score: 0.3 });
  b.add(2, 50, { score: 0.45 });
  b.add(3, 60, { score: 0.1 });
  return b.build();
}

function connected(tree: DraftTree): boolean {
  for (let i = 1; i < tree.numNodes; i++) if (!(tree.parents[i] >= 0 && tree.parents[i] < i)) return false;
  return true;
}

const tokenSet = (tree: DraftTree) => Array.from(tree.tokens.subarray(1)).sort((a, b) => a - b);

t.test('keeps the best-scored nodes, connected, in topological order', (t) => {
  const expected: Record<number, number[]> = {
    0: [],
    1: [10],
    2: [10, 30],
    3: [10, 20, 30],
    4: [10, 20, 30, 50],
    5: [10, 20, 30, 40, 50],
  };
  for (const [budget, tokens] of Object.entries(expected)) {
    const p = pruneToBudget(scored(), Number(budget));
    t.same(tokenSet(p), tokens, `budget ${budget}`);
    t.ok(connected(p), `budget ${budget} connected`);
  }
  const p = pruneToBudget(scored(), 3);
  t.same(Array.from(p.tokens), [0, 10, 20, 30]);
  t.same(Array.from(p.parents), [-1, 0, 0, 1]);
  t.same(Array.from(p.depths), [0, 1, 1, 2]);
  t.end();
});

t.test('a child scored above its parent waits for the parent', (t) => {
  const b = new TreeBuilder(0);
  b.add(0, 1, { score: 0.2 });
  b.add(0, 2, { score: 0.3 });
  b.add(1, 3, { score: 0.9 });
  const p = pruneToBudget(b.build(), 1);
  t.same(Array.from(p.tokens), [0, 2]);
  t.same(tokenSet(pruneToBudget(b.build(), 2)), [1, 2]);
  t.end();
});

t.test('ties go to the lower node index', (t) => {
  const b = new TreeBuilder(0);
  for (const tok of [5, 6, 7]) b.add(0, tok, { score: 0.5 });
  t.same(Array.from(pruneToBudget(b.build(), 2).tokens), [0, 5, 6]);
  t.end();
});

t.test('under budget returns the tree; bad budgets are refused', (t) => {
  const tree = scored();
  t.equal(pruneToBudget(tree, 6), tree);
  t.throws(() => pruneToBudget(tree, -1), /budget/);
  t.throws(() => pruneToBudget(tree, 1.5), /budget/);
  t.end();
});

t.test('sampled nodes keep their attributes and pruned draws stay in the draw order', (t) => {
  const q = Float32Array.from([0.6, 0.3, 0.1]);
  const b = new TreeBuilder(9);
  b.setChildDist(0, q);
  b.add(0, 0, { kind: NodeKind.sampled, score: 0.6, source: 1 });
  b.add(0, 2, { kind: NodeKind.sampled, score: 0.1, source: 1 });
  b.add(0, 1, { kind: NodeKind.sampled, score: 0.3, source: 1 });
  const p = pruneToBudget(b.build(), 2);
  t.same(Array.from(p.tokens), [9, 0, 1]);
  t.same(Array.from(p.drawOrders[0]!), [0, 2, 1]);
  t.equal(p.childDists[0], q);
  t.same(Array.from(p.kinds), [0, 1, 1]);
  t.same(Array.from(p.draftProbs), [0, 0.6, 0.3].map(Math.fround));
  t.same(Array.from(p.sources), [0, 2, 2]);
  t.same(rootPath(p, 2), [0, 2]);
  t.end();
});
