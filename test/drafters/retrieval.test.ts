// The retrieval drafter on hand-built datastores: longest-suffix matching in the datastore and the live context,
// count-share scores, budget and depth limits, registry wiring, and RASD first-token pruning.
import t from 'tap';
import { treePaths } from '../helpers/trees.ts';
import { createDatastore } from '../../drafters/datastore.ts';
import { createDrafters } from '../../drafters/registry.ts';
import { DEFAULT_RETRIEVAL, matchContext, RetrievalDrafter, retrievalDatastore, retrievalTree, setRetrievalDatastore } from '../../drafters/retrieval.ts';
import { pruneRetrievalByDraft } from '../../drafters/retrieval-rasd.ts';
import { NodeKind } from '../../trees/draft-tree.ts';

const ID = 3;
const V = 20;

const paths = treePaths;
const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;

t.test('the docstring example: [2, 3] occurs 3 times in the datastore, continuing 4, 5, 4', async (t) => {
  const ds = createDatastore([[1, 2, 3, 4], [9, 2, 3, 5], [2, 3, 4]], { vocab: V });
  const tree = retrievalTree([7, 2, 3], ds, DEFAULT_RETRIEVAL, 32, 10, ID)!;
  t.equal(tree.tokens[0], 3, 'rooted at the last context token');
  t.same(paths(tree), ['4', '5'], 'continuations stop at the document separator');
  t.ok(close(tree.scores[1], 2 / 3) && close(tree.scores[2], 1 / 3), `scores ${tree.scores[1]}, ${tree.scores[2]}`);
  t.same(Array.from(tree.sources.subarray(1)), [1 << ID, 1 << ID], 'source = the retrieval bit');
  t.same(Array.from(tree.kinds.subarray(1)), [NodeKind.deterministic, NodeKind.deterministic]);
});

t.test('the longest matching suffix wins; its continuations form a counted trie with depth decay', async (t) => {
  const ds = createDatastore([[1, 2, 3, 4, 5, 6], [8, 3, 4, 7, 7], [0, 3, 4, 7, 8]], { vocab: V });
  t.same(paths(retrievalTree([1, 2, 3, 4], ds, DEFAULT_RETRIEVAL, 32, 10, ID)!), ['5', '5 6'], '4-token match: one continuation');
  const tree = retrievalTree([9, 3, 4], ds, DEFAULT_RETRIEVAL, 32, 10, ID)!;
  t.same(paths(tree), ['7', '5', '7 7', '7 8', '5 6'], '2-token match: three continuations, heavier sibling first');
  t.ok(close(tree.scores[1], 2 / 3), '7 is shared by two of three');
  t.ok(close(tree.scores[3], (1 / 3) * 0.9), 'one of three, one level of decay');
});

t.test('a large block is sampled evenly, so shares follow frequencies', async (t) => {
  const docs = [...Array.from({ length: 75 }, () => [2, 3, 4]), ...Array.from({ length: 25 }, () => [2, 3, 5])];
  const ds = createDatastore(docs, { vocab: V });
  const tree = retrievalTree([3, 2, 3], ds, { ...DEFAULT_RETRIEVAL, maxDatastoreMatches: 8 }, 32, 10, ID)!;
  t.same(paths(tree), ['4', '5']);
  t.ok(close(tree.scores[1], 0.75) && close(tree.scores[2], 0.25), `scores ${tree.scores[1]}, ${tree.scores[2]}`);
});

t.test('datastore and live context both contribute, weighted by match length', async (t) => {
  // Context: [5, 6] recurs (2-token match) continuing 7 8; the datastore matches [8, 5, 6] (3 tokens) continuing 9.
  const ctx = [5, 6, 7, 8, 5, 6];
  t.same(matchContext(ctx, DEFAULT_RETRIEVAL), { length: 2, starts: [2] });
  const ds = createDatastore([[1, 8, 5, 6, 9, 9]], { vocab: V });
  const tree = retrievalTree(ctx, ds, DEFAULT_RETRIEVAL, 32, 10, ID)!;
  t.same(paths(tree), ['9', '7', '9 9', '7 8', '7 8 5', '7 8 5 6']);
  t.ok(close(tree.scores[1], 3 / 5) && close(tree.scores[2], 2 / 5));
  t.same(paths(retrievalTree(ctx, null, DEFAULT_RETRIEVAL, 32, 10, ID)!), ['7', '7 8', '7 8 5', '7 8 5 6'], 'no datastore: context only');
  t.same(paths(retrievalTree(ctx, ds, { ...DEFAULT_RETRIEVAL, maxContextMatches: 0 }, 32, 10, ID)!), ['9', '9 9'], 'datastore only');
  t.same(matchContext([1, 2, 1, 2, 1, 2], DEFAULT_RETRIEVAL), { length: 4, starts: [4] }, 'the longest earlier occurrence, overlaps allowed');
});

t.test('budget, maxDepth and no-match', async (t) => {
  const ds = createDatastore([[1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 9, 9, 9]], { vocab: V });
  const full = retrievalTree([0, 2, 3], ds, DEFAULT_RETRIEVAL, 32, 10, ID)!;
  t.equal(full.numNodes, 9);
  const small = retrievalTree([0, 2, 3], ds, DEFAULT_RETRIEVAL, 3, 10, ID)!;
  t.equal(small.numNodes, 4, 'budget 3 → 3 draft nodes');
  t.same(paths(small), ['4', '9', '4 5'], 'the best-scored connected nodes (ties to the lower index)');
  t.equal(Math.max(...retrievalTree([0, 2, 3], ds, DEFAULT_RETRIEVAL, 32, 2, ID)!.depths), 2, 'maxDepth 2');
  t.equal(Math.max(...retrievalTree([0, 2, 3], ds, { ...DEFAULT_RETRIEVAL, maxLength: 3 }, 32, 10, ID)!.depths), 3, 'maxLength 3');
  t.equal(retrievalTree([0, 2, 3], ds, DEFAULT_RETRIEVAL, 0, 10, ID), null, 'budget 0');
  t.equal(retrievalTree([0, 2, 3], ds, DEFAULT_RETRIEVAL, 5, 0, ID), null, 'maxDepth 0');
  t.equal(retrievalTree([0, 11, 12], ds, DEFAULT_RETRIEVAL, 5, 5, ID), null, 'nothing matches');
  t.equal(retrievalTree([3], ds, DEFAULT_RETRIEVAL, 5, 5, ID), null, 'a 1-token context is shorter than minNgram');
  t.equal(retrievalTree([7, 8], ds, DEFAULT_RETRIEVAL, 5, 5, ID), null, 'a match at a document end has nothing to continue');
});

t.test('the drafter and its registry entry', async (t) => {
  const ds = createDatastore([[2, 3, 4, 5]], { vocab: V });
  const d = new RetrievalDrafter(ID, ds, V);
  d.begin();
  t.same(paths(d.propose({ context: [1, 2, 3], budget: 8, maxDepth: 8 })!), ['4', '4 5']);
  t.throws(() => new RetrievalDrafter(ID, ds, V + 1), { code: 'SPRIG_ERR_VOCAB_MISMATCH', message: /vocabulary size 20, but the model has 21/ });
  t.throws(() => new RetrievalDrafter(ID, null, V, { ...DEFAULT_RETRIEVAL, minNgram: 0 }), { code: 'SPRIG_ERR_INVALID_PARAM' });

  const [viaEnv] = createDrafters(['retrieval'], { modelKey: 'm', vocab: V, datastore: ds });
  t.equal(viaEnv.id, ID);
  t.equal(viaEnv.name, 'retrieval');
  t.same(paths((await viaEnv.propose({ context: [1, 2, 3], budget: 8, maxDepth: 8 }))!), ['4', '4 5'], 'env.datastore is used');
  const [bare] = createDrafters(['retrieval'], { modelKey: 'm', vocab: V });
  t.equal(await bare.propose({ context: [1, 2, 3], budget: 8, maxDepth: 8 }), null, 'no datastore anywhere: context only');
  t.same(paths((await bare.propose({ context: [2, 3, 4, 2, 3], budget: 8, maxDepth: 8 }))!), ['4', '4 2', '4 2 3']);

  t.teardown(() => setRetrievalDatastore(null));
  setRetrievalDatastore(ds);
  t.equal(retrievalDatastore(), ds);
  const [global] = createDrafters(['retrieval'], { modelKey: 'm', vocab: V });
  t.same(paths((await global.propose({ context: [1, 2, 3], budget: 8, maxDepth: 8 }))!), ['4', '4 5'], 'the process-wide datastore is the default');
  t.throws(() => createDrafters(['retrieval'], { modelKey: 'm', vocab: 300 }), { code: 'SPRIG_ERR_VOCAB_MISMATCH' });
});

t.test('RASD: branches whose first token the draft finds implausible are dropped whole', async (t) => {
  const ds = createDatastore([[2, 3, 4, 8], [2, 3, 5, 9]], { vocab: V });
  const tree = retrievalTree([2, 3], ds, DEFAULT_RETRIEVAL, 32, 10, ID)!;
  t.same(paths(tree), ['4', '5', '4 8', '5 9']);
  const pruned = pruneRetrievalByDraft(tree, (tok) => tok === 4);
  t.same(paths(pruned), ['4', '4 8'], 'the docstring example');
  t.same(Array.from(pruned.scores), [tree.scores[0], tree.scores[1], tree.scores[3]], 'scores and sources carried over');
  t.equal(pruneRetrievalByDraft(tree, () => false).numNodes, 1, 'everything pruned → root only');
});
