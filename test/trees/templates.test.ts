// Static templates: Token Recycling's "2.2.2" shape, validation, and the BFS fill with sibling dedup.
import t from 'tap';
import { SprigError } from '../../common/errors.ts';
import { rootPath } from '../../trees/mask.ts';
import { TOKEN_RECYCLING_TEMPLATE, fillTemplate, levelCounts, templateFromFanout, validateTemplate } from '../../trees/templates.ts';

t.test('Token Recycling 2.2.2: 80 nodes, 8/21/25/15/8/3 per level, skewed toward rank 0', (t) => {
  const tpl = TOKEN_RECYCLING_TEMPLATE;
  t.equal(tpl.length, 80);
  t.same(levelCounts(tpl), [8, 21, 25, 15, 8, 3]);
  t.doesNotThrow(() => validateTemplate(tpl));
  const kids = (p: number[]) => tpl.filter((q) => q.length === p.length + 1 && p.every((r, i) => q[i] === r)).length;
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map((r) => kids([r])), [8, 4, 3, 2, 1, 1, 1, 1]);
  t.same([0, 1, 2].map((r) => kids([0, r])), [8, 3, 2]);
  t.same(tpl.slice(0, 9), [[0], [1], [2], [3], [4], [5], [6], [7], [0, 0]]);
  t.same(tpl[79], [0, 0, 0, 1, 0, 0]);
  t.end();
});

t.test('fan-out expansion is breadth-first', (t) => {
  t.same(templateFromFanout({ '': 2, '0': 1, '1': 2, '1.1': 1 }), [[0], [1], [0, 0], [1, 0], [1, 1], [1, 1, 0]]);
  t.end();
});

t.test('invalid templates are refused with invalidParam', (t) => {
  t.throws(() => validateTemplate([[0, 0], [0]]), /before its parent/);
  t.throws(() => validateTemplate([[0], [0]]), /twice/);
  t.throws(() => validateTemplate([[]]), /non-empty/);
  t.throws(() => validateTemplate([[-1]]), SprigError);
  t.end();
});

t.test('fill reads the rank-r candidate of the parent token', (t) => {
  const tpl = [[0], [1], [0, 0], [0, 1], [1, 0]];
  const cand = (token: number, rank: number) => token * 10 + rank + 1; // rigged: distinct everywhere
  const tree = fillTemplate(tpl, 3, cand, { source: 4 });
  t.same(Array.from(tree.tokens), [3, 31, 32, 311, 312, 321]);
  t.same(Array.from(tree.parents), [-1, 0, 0, 1, 1, 2]);
  t.same(Array.from(tree.sources), [0, 16, 16, 16, 16, 16]);
  t.same(Array.from(tree.kinds), [0, 0, 0, 0, 0, 0]);
  // default scores: product of 0.5 / (rank + 1) along the path
  t.same(Array.from(tree.scores), [1, 0.5, 0.25, 0.25, 0.125, 0.125]);
  t.end();
});

t.test('fill dedups siblings: first occurrence wins and the duplicate subtree is dropped', (t) => {
  // token 5's candidates are [7, 7, 8]: rank 1 duplicates rank 0. Token 7 → [2, 2]; token 8 → [1].
  const table: Record<number, number[]> = { 5: [7, 7, 8], 7: [2, 2, 6], 8: [1], 2: [9] };
  const cand = (token: number, rank: number) => table[token]?.[rank] ?? -1;
  const tpl = [[0], [1], [2], [0, 0], [0, 1], [1, 0], [2, 0], [2, 1], [0, 0, 0], [0, 1, 0]];
  const tree = fillTemplate(tpl, 5, cand, { rankAcceptance: () => 1 });
  const paths = Array.from({ length: tree.numNodes }, (_, i) => rootPath(tree, i).map((j) => tree.tokens[j]).join('>'));
  t.same(paths, ['5', '5>7', '5>8', '5>7>2', '5>8>1', '5>7>2>9']);
  t.same(Array.from(tree.scores), [1, 1, 1, 1, 1, 1]);
  t.end();
});

t.test('fill hands each candidate lookup the token before the parent, and takes given scores by template index', (t) => {
  const tpl = [[0], [1], [0, 0], [0, 0, 0]];
  const seen: string[] = [];
  const cand = (token: number, rank: number, prev: number) => {
    seen.push(`${prev}>${token}:${rank}`);
    return token * 10 + rank + 1;
  };
  const tree = fillTemplate(tpl, 3, cand, { rootPrev: 9, scores: [0.75, 0.5, 0.25, 0.125], source: 1 });
  t.same(seen, ['9>3:0', '9>3:1', '3>31:0', '31>311:0']);
  t.same(Array.from(tree.tokens), [3, 31, 32, 311, 3111]);
  t.same(Array.from(tree.scores), [1, 0.75, 0.5, 0.25, 0.125]);
  t.same(fillTemplate([[0]], 3, (_t, _r, prev) => (prev === -1 ? 4 : -1)).numNodes, 2, 'no rootPrev: prev -1');
  t.end();
});

t.test('fill of the full 2.2.2 template with distinct candidates has 81 nodes and depth 6', (t) => {
  let next = 1000;
  const tree = fillTemplate(TOKEN_RECYCLING_TEMPLATE, 1, () => next++);
  t.equal(tree.numNodes, 81);
  t.equal(Math.max(...tree.depths), 6);
  t.end();
});
