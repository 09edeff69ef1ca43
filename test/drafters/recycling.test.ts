// Token Recycling: the adjacency-matrix update rule, template fill from the matrix, and hot start.
import fs from 'node:fs';
import t from 'tap';
import { AdjacencyMatrix, RecyclingDrafter, sharedMatrix } from '../../drafters/recycling.ts';
import { TreeBuilder } from '../../trees/draft-tree.ts';

const V = 20;

function rowLogits(top: number[]): Float32Array {
  // [V] logits whose descending order starts with `top`
  const l = new Float32Array(V).fill(-10);
  top.forEach((tok, i) => (l[tok] = 10 - i));
  return l;
}

t.test('updateFromLogits writes the top-k ids, largest first, ties to the lower id', async (t) => {
  const m = new AdjacencyMatrix(V, 3);
  t.equal(m.candidate(4, 0), -1, 'cold rows have no candidates');
  m.updateFromLogits(4, rowLogits([9, 2, 7, 1]), 0);
  t.same([0, 1, 2].map((r) => m.candidate(4, r)), [9, 2, 7]);
  const tie = new Float32Array(V);
  tie[5] = 1;
  tie[3] = 1;
  m.updateFromLogits(4, tie, 0);
  t.same([0, 1, 2].map((r) => m.candidate(4, r)), [3, 5, 0], 'overwritten, not merged; ties by lower id');
  t.equal(m.candidate(4, 3), -1, 'rank beyond k');
});

t.test('observe overwrites the row of EVERY tree node, accepted or not; a repeated token keeps the later node', async (t) => {
  const m = new AdjacencyMatrix(V, 2);
  const d = new RecyclingDrafter(1, m);
  const b = new TreeBuilder(3);
  const a = b.add(0, 5); // node 1
  b.add(0, 6); // node 2 (rejected branch)
  b.add(a, 6); // node 3: token 6 again, later node
  const tree = b.build();
  const logits = new Float32Array(4 * V);
  logits.set(rowLogits([1, 2]), 0 * V);
  logits.set(rowLogits([7, 8]), 1 * V);
  logits.set(rowLogits([11, 12]), 2 * V);
  logits.set(rowLogits([13, 14]), 3 * V);
  d.observe({ tree, logits, vocab: V, acceptedNodes: [0, 1], emitted: [5, 13] });
  t.same([m.candidate(3, 0), m.candidate(3, 1)], [1, 2], 'root row');
  t.same([m.candidate(5, 0), m.candidate(5, 1)], [7, 8], 'accepted node row');
  t.same([m.candidate(6, 0), m.candidate(6, 1)], [13, 14], 'token 6: node 3 (later) wins over node 2');
});

t.test('propose fills the template breadth-first from the matrix and respects budget and depth', async (t) => {
  const m = new AdjacencyMatrix(V, 8);
  for (let tok = 0; tok < V; tok++) {
    // successors of tok: tok+1, tok+2, ... (mod V)
    m.updateFromLogits(tok, rowLogits(Array.from({ length: 8 }, (_, r) => (tok + 1 + r) % V)), 0);
  }
  const d = new RecyclingDrafter(1, m);
  const full = d.propose({ context: [0, 4], budget: 80, maxDepth: 6 })!;
  t.equal(full.tokens[0], 4);
  t.equal(full.tokens[1], 5, 'rank 0 child of the root is M[4][0]');
  const depth2 = full.tokens.findIndex((_, i) => full.depths[i] === 2);
  t.equal(full.tokens[depth2], 6, 'first depth-2 node is M[M[4][0]][0]');
  t.ok(full.numNodes - 1 <= 80 && full.numNodes > 40, `${full.numNodes - 1} nodes (siblings deduplicated)`);
  t.equal(Math.max(...full.depths), 6);
  const small = d.propose({ context: [4], budget: 8, maxDepth: 6 })!;
  t.ok(small.numNodes - 1 <= 16, 'at most twice the budget (the engine cuts the rest)');
  const shallow = d.propose({ context: [4], budget: 80, maxDepth: 2 })!;
  t.equal(Math.max(...shallow.depths), 2);
  t.equal(d.propose({ context: [19], budget: 80, maxDepth: 0 }), null, 'no room to draft');
  t.equal(new RecyclingDrafter(1, new AdjacencyMatrix(V)).propose({ context: [4], budget: 8, maxDepth: 6 }), null, 'cold matrix drafts nothing');
});

t.test('hot start: one matrix per model, kept across requests', async (t) => {
  const a = sharedMatrix('model-a', V);
  t.equal(sharedMatrix('model-a', V), a);
  t.not(sharedMatrix('model-b', V), a);
});

t.test('save and load round-trip; a wrong size fails loudly', async (t) => {
  const dir = t.testdir();
  const m = new AdjacencyMatrix(V, 2);
  m.updateFromLogits(3, rowLogits([4, 5]), 0);
  m.save(`${dir}/m.bin`);
  const n = new AdjacencyMatrix(V, 2);
  n.load(`${dir}/m.bin`);
  t.same(Array.from(n.rows), Array.from(m.rows));
  t.throws(() => new AdjacencyMatrix(V + 1, 2).load(`${dir}/m.bin`), { message: /21×2 token rows/ });
});

t.test('pair rows survive save and load; a file of token rows alone still loads (pairs relearn)', async (t) => {
  const dir = t.testdir();
  const m = new AdjacencyMatrix(V, 2);
  m.updateFromLogits(3, rowLogits([4, 5]), 0, 7); // token row 3 and pair row (7, 3)
  m.updateFromLogits(3, rowLogits([6, 8]), 0, 9); // token row 3 overwritten; pair (7, 3) kept
  m.save(`${dir}/m.bin`);
  const n = new AdjacencyMatrix(V, 2);
  n.load(`${dir}/m.bin`);
  t.same([n.candidateAfter(7, 3, 0), n.candidateAfter(7, 3, 1)], [4, 5], 'the pair row came back');
  t.same([n.candidateAfter(9, 3, 0), n.candidate(3, 0)], [6, 6]);
  fs.writeFileSync(`${dir}/old.bin`, Buffer.from(m.rows.buffer, m.rows.byteOffset, m.rows.byteLength));
  const o = new AdjacencyMatrix(V, 2);
  o.load(`${dir}/old.bin`);
  t.same(Array.from(o.rows), Array.from(m.rows));
  t.equal(o.candidateAfter(7, 3, 0), 6, 'no pair rows: the token row answers');
});

t.test('a token on the accepted path keeps the row written in the real context, even when a later rejected node repeats it', async (t) => {
  const m = new AdjacencyMatrix(V, 2);
  const d = new RecyclingDrafter(1, m);
  const b = new TreeBuilder(3);
  const a = b.add(0, 5); // node 1: accepted
  const x = b.add(0, 6); // node 2: rejected
  b.add(x, 5); // node 3: token 5 again, rejected, later in tree order
  const tree = b.build();
  const logits = new Float32Array(4 * V);
  logits.set(rowLogits([1, 2]), 0);
  logits.set(rowLogits([7, 8]), a * V);
  logits.set(rowLogits([9, 10]), x * V);
  logits.set(rowLogits([11, 12]), 3 * V);
  d.observe({ tree, logits, vocab: V, acceptedNodes: [0, a], emitted: [5, 7] });
  t.same([m.candidate(5, 0), m.candidate(5, 1)], [7, 8], 'row 5 from the accepted node, not the later rejected one');
});

t.test('the template is cut by learned acceptance: a rank that keeps being accepted is drafted first, scored by its rate', async (t) => {
  const m = new AdjacencyMatrix(V, 8);
  for (let tok = 0; tok < V; tok++) m.updateFromLogits(tok, rowLogits(Array.from({ length: 8 }, (_, r) => (tok + 1 + r) % V)), 0);
  const d = new RecyclingDrafter(1, m);
  // 600 steps in which the root's rank-2 candidate was accepted and rank 0 and 1 were not (recorded, not drafted).
  for (let i = 0; i < 600; i++) {
    m.acceptance.record(1, 2, true);
    m.acceptance.record(1, 0, false);
    m.acceptance.record(1, 1, false);
  }
  const tree = d.propose({ context: [4], budget: 2, maxDepth: 6 })!;
  t.equal(tree.tokens[1], m.candidate(4, 2), 'the rank-2 candidate comes first');
  t.ok(tree.scores[1] > 0.95, `scored by its learned rate (${tree.scores[1].toFixed(3)})`);
  t.notOk(Array.from(tree.tokens).includes(m.candidate(4, 0)), 'the never-accepted rank 0 is cut');
});

t.test('observe learns acceptance from its own nodes under an accepted parent, with ranks read before the update', async (t) => {
  const m = new AdjacencyMatrix(V, 2);
  m.updateFromLogits(3, rowLogits([5, 6]), 0);
  const d = new RecyclingDrafter(1, m);
  const b = new TreeBuilder(3);
  b.add(0, 5, { source: 1 }); // rank 0, accepted
  b.add(0, 6, { source: 1 }); // rank 1, rejected
  b.add(1, 9, { source: 0 }); // another drafter's node: not counted
  const tree = b.build();
  const before = [m.acceptance.p(1, 0), m.acceptance.p(1, 1)];
  d.observe({ tree, logits: new Float32Array(4 * V), vocab: V, acceptedNodes: [0, 1], emitted: [5, 0] });
  t.equal(m.acceptance.updates, 2);
  t.ok(m.acceptance.p(1, 0) > before[0] && m.acceptance.p(1, 1) < before[1]);
});

t.test('pair rows: the row of (previous token, token) is read first, the token\'s row when the pair was not seen', async (t) => {
  const m = new AdjacencyMatrix(V, 2);
  m.updateFromLogits(5, rowLogits([7, 8]), 0, 3); // 5 after 3
  m.updateFromLogits(5, rowLogits([9, 10]), 0, 4); // 5 after 4: the token row now holds this one
  t.same([m.candidate(5, 0), m.candidate(5, 1)], [9, 10], 'token row: the last write');
  t.same([m.candidateAfter(3, 5, 0), m.candidateAfter(3, 5, 1)], [7, 8], 'pair (3, 5)');
  t.equal(m.candidateAfter(4, 5, 0), 9, 'pair (4, 5)');
  t.equal(m.candidateAfter(6, 5, 0), 9, 'unseen pair → token row');
  t.equal(m.candidateAfter(-1, 5, 0), 9, 'no previous token → token row');
  t.equal(m.rankAfter(3, 5, 8), 1);
  t.equal(m.rankAfter(6, 5, 10), 1);
});

t.test('the drafter drafts from the pairs along each path and learns pairs from the tree (the root after context[-2])', async (t) => {
  const m = new AdjacencyMatrix(V, 2);
  const d = new RecyclingDrafter(1, m);
  const step = (context: number[], child: number, rows: number[][]) => {
    d.propose({ context, budget: 8, maxDepth: 2 });
    const b = new TreeBuilder(context[context.length - 1]);
    b.add(0, child);
    const logits = new Float32Array(2 * V);
    rows.forEach((r, i) => logits.set(rowLogits(r), i * V));
    d.observe({ tree: b.build(), logits, vocab: V, acceptedNodes: [0, 1], emitted: [child, rows[1][0]] });
  };
  step([3, 5], 7, [[7, 8], [9, 10]]); // after 3 5: 7 8; after 5 7: 9 10
  step([4, 5], 12, [[11, 12], [13, 14]]); // after 4 5: 11 12 (now the token row of 5); after 5 12: 13 14
  const tree = d.propose({ context: [0, 3, 5], budget: 8, maxDepth: 2 })!;
  const depth1 = tree.tokens.filter((_, i) => tree.depths[i] === 1);
  t.same([...depth1].sort((a, b) => a - b), [7, 8], 'children of 5 after 3: the pair row, not the token row (11, 12)');
  const seven = tree.tokens.indexOf(7);
  const under7 = tree.tokens.filter((_, i) => tree.parents[i] === seven && i > 0);
  t.ok(under7.includes(9), 'children of 7 after 5: pair (5, 7)');
});
