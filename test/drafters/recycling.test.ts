// Token Recycling: the adjacency-matrix update rule, template fill from the matrix, and hot start.
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
  t.throws(() => new AdjacencyMatrix(V + 1, 2).load(`${dir}/m.bin`), { message: /expected 21×2×4/ });
});
