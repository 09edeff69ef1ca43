// Tree verification with rigged logits (+100 at one token per row): accept-all, reject-all, mid-path, branching.
import t from 'tap';
import { Rng } from '../../common/rng.ts';
import { GREEDY, type SamplingParams } from '../../common/sampling.ts';
import { NodeKind, TreeBuilder } from '../../trees/draft-tree.ts';
import { pruneToBudget } from '../../trees/prune.ts';
import { verifyTree } from '../../verifier/verify-tree.ts';
import { riggedLogits } from './helpers.ts';

const VOCAB = 8;
const SAMPLED: SamplingParams = { temperature: 1, topK: 0, topP: 1 };

/**
 * root(50) → 1(tok 1) → 2(tok 2) → 3(tok 3)
 *          → 4(tok 4) → 5(tok 5)
 * With `sampledRoot`, the root's children are draws from a uniform q instead of deterministic guesses.
 */
function tree(sampledRoot: boolean) {
  const b = new TreeBuilder(50);
  const kind = sampledRoot ? NodeKind.sampled : NodeKind.deterministic;
  if (sampledRoot) b.setChildDist(0, new Float32Array(VOCAB).fill(1 / VOCAB));
  b.add(0, 1, { kind });
  b.add(1, 2);
  b.add(2, 3);
  b.add(0, 4, { kind });
  b.add(4, 5);
  return b.build();
}

// argmax token per logits row (rows 0..5 = nodes 0..5)
const cases = [
  { name: 'accept all, bonus appended', rows: [1, 2, 3, 6, 0, 0], nodes: [0, 1, 2, 3], tokens: [1, 2, 3, 6] },
  { name: 'reject all, bonus = target argmax at the root', rows: [7, 2, 3, 6, 5, 0], nodes: [0], tokens: [7] },
  { name: 'mid-path rejection', rows: [1, 5, 3, 6, 5, 0], nodes: [0, 1], tokens: [1, 5] },
  { name: 'branching: the second sibling is the right one', rows: [4, 2, 3, 6, 5, 0], nodes: [0, 4, 5], tokens: [4, 5, 0] },
];

for (const [paramsName, params] of [['greedy', GREEDY], ['sampled', SAMPLED]] as const) {
  for (const sampledRoot of [false, true]) {
    t.test(`${paramsName} params, ${sampledRoot ? 'sampled' : 'deterministic'} root children`, (t) => {
      const rng = new Rng(7);
      for (const c of cases) {
        const r = verifyTree(tree(sampledRoot), riggedLogits(c.rows, VOCAB), VOCAB, params, rng);
        t.same(r.acceptedNodes, c.nodes, `${c.name}: path`);
        t.same(r.tokens, c.tokens, `${c.name}: tokens`);
        t.equal(r.numDrafted, 5);
        t.equal(r.numAcceptedDraft, c.nodes.length - 1);
      }
      t.end();
    });
  }
}

t.test('an accepted phantom draw (pruned node) is emitted as the last token', (t) => {
  const b = new TreeBuilder(50);
  b.setChildDist(0, new Float32Array(VOCAB).fill(1 / VOCAB));
  b.add(0, 1, { kind: NodeKind.sampled, score: 0.9 });
  b.add(0, 6, { kind: NodeKind.sampled, score: 0.1 });
  const pruned = pruneToBudget(b.build(), 1);
  t.equal(pruned.numNodes, 2);
  const r = verifyTree(pruned, riggedLogits([6, 0], VOCAB), VOCAB, SAMPLED, new Rng(1));
  t.same(r.acceptedNodes, [0]);
  t.same(r.tokens, [6]);
  t.end();
});

t.test('logits that are too short are refused', (t) => {
  t.throws(() => verifyTree(tree(false), new Float32Array(VOCAB), VOCAB, SAMPLED, new Rng(1)), /logits hold/);
  t.end();
});

t.test('greedy: a row hook that already found a row\'s argmax is taken at its word; without an answer the row is scanned', async (t) => {
  const { verifyGreedy } = await import('../../verifier/greedy.ts');
  const tr = tree(false);
  const logits = riggedLogits([1, 2, 6, 0, 0, 0], VOCAB); // argmax: root → 1, node 1 → 2, node 2 → 6 (no child)
  const seen: number[] = [];
  const scanned = verifyGreedy(tr, logits, VOCAB, (u) => {
    seen.push(u);
  });
  t.same(scanned, { acceptedNodes: [0, 1, 2], tokens: [1, 2, 6], numDrafted: 5, numAcceptedDraft: 2 });
  t.same(seen, [0, 1, 2], 'the hook runs at every reached node');
  // The hook answers 4 at the root (as a grammar's forced token would, after masking the row to it).
  const answered = verifyGreedy(tr, logits, VOCAB, (u) => (u === 0 ? 4 : undefined));
  t.same(answered.acceptedNodes, [0, 4], 'the root took the hook\'s token, then node 4\'s row was scanned');
  t.equal(answered.tokens[0], 4);
});
