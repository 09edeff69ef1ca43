// RASD: retrieval branches the draft model finds implausible are pruned, and what is left is fused into the
// draft model's tree by longest common prefix: a shared prefix becomes one path, never two.
import t from 'tap';
import { createDatastore } from '../../drafters/datastore.ts';
import { RetrievalDrafter } from '../../drafters/retrieval.ts';
import { NodeKind, TreeBuilder } from '../../trees/draft-tree.ts';
import { mergeTrees } from '../../trees/merge.ts';

const V = 50;

t.test('a retrieval path sharing a prefix with a model path is merged, not duplicated', async (t) => {
  const q = new Float32Array(V).fill(0.01);
  q[7] = 0.51;
  // Draft model tree: root 5 → 7 (sampled) → 8.
  const model = new TreeBuilder(5);
  model.setChildDist(0, q);
  const a = model.add(0, 7, { kind: NodeKind.sampled, score: 0.5, source: 2 });
  model.add(a, 8, { score: 0.3, source: 2 });
  // Retrieval tree: root 5 → 7 → 9 → 10 (deterministic).
  const retrieved = new TreeBuilder(5);
  const r1 = retrieved.add(0, 7, { score: 0.9, source: 3 });
  const r2 = retrieved.add(r1, 9, { score: 0.8, source: 3 });
  retrieved.add(r2, 10, { score: 0.7, source: 3 });
  const fused = mergeTrees([model.build(), retrieved.build()]);
  t.equal(fused.numNodes, 5, 'root, 7 (shared), 8, 9, 10');
  const seven = [...fused.tokens].indexOf(7);
  t.equal([...fused.tokens].filter((x) => x === 7).length, 1, 'token 7 appears once');
  t.equal(fused.sources[seven], (1 << 2) | (1 << 3), 'both sources');
  t.equal(fused.kinds[seven], NodeKind.sampled, 'the drawn node stays sampled (rule S)');
  t.ok(Math.abs(fused.scores[seven] - 0.9) < 1e-6, 'best score kept');
  const kids = [...fused.tokens].filter((_, i) => fused.parents[i] === seven).sort();
  t.same(kids, [8, 9], 'the model and retrieval continuations hang under the shared node');
});

t.test('retrieval drops branches whose first token the draft model finds implausible', async (t) => {
  // Datastore: after [1 2 3] comes 4 4 4 in one doc and 6 6 6 in another.
  const ds = createDatastore([[1, 2, 3, 4, 4, 4], [1, 2, 3, 6, 6, 6]], { vocab: V });
  const d = new RetrievalDrafter(3, ds, V);
  const req = { context: [9, 1, 2, 3], budget: 16, maxDepth: 5 };
  const plain = d.propose(req)!;
  const firsts = (tree: typeof plain) => [...tree.tokens].filter((_, i) => tree.parents[i] === 0).sort();
  t.same(firsts(plain), [4, 6], 'without a draft model both branches');
  const q = new Float32Array(V);
  q[4] = 0.9;
  q[6] = 0.001;
  const pruned = d.propose({ ...req, draftRootProbs: q })!;
  t.same(firsts(pruned), [4], 'branch 6 pruned: q(6) below the threshold');
  t.ok(pruned.numNodes < plain.numNodes);
  q[4] = 0;
  t.equal(d.propose({ ...req, draftRootProbs: q }), null, 'nothing plausible: no tree');
});
