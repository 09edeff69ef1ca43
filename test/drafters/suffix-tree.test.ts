// The counted suffix trie: counts per suffix, exact removal, suffix matching, and the per-request writer.
import t from 'tap';
import { childOf, SuffixTree, SuffixWriter, type SuffixNode } from '../../drafters/suffix-tree.ts';

/** The trie as nested "token(count)" strings, children in their stored (count) order. */
function dump(node: SuffixNode): string[] {
  return node.children.map((c) => `${c.token}(${c.count})${c.children.length ? `[${dump(c).join(' ')}]` : ''}`);
}

/** The same, children by token: equal tries whatever the order among equal counts. */
function canonical(node: SuffixNode): string[] {
  return [...node.children].sort((a, b) => a.token - b.token).map((c) => `${c.token}(${c.count})${c.children.length ? `[${canonical(c).join(' ')}]` : ''}`);
}

t.test('insert counts every suffix, cut to maxDepth; children are ordered by count', async (t) => {
  const tree = new SuffixTree(3);
  tree.insert([5, 6, 5, 7]);
  t.equal(tree.root.count, 4, 'one suffix per token');
  t.same(dump(tree.root), ['5(2)[6(1)[5(1)] 7(1)]', '6(1)[5(1)[7(1)]]', '7(1)']);
  t.equal(tree.size, 8);
  tree.insert([6, 5, 7]);
  t.same(dump(tree.root)[0], '5(3)[7(2) 6(1)[5(1)]]', 'the more frequent child moves to the front');
});

t.test('remove exactly undoes insert, leaving other sequences intact', async (t) => {
  const tree = new SuffixTree(4);
  tree.insert([1, 2, 3]);
  const before = canonical(tree.root);
  const size = tree.size;
  tree.insert([2, 3, 9, 2]);
  tree.remove([2, 3, 9, 2]);
  t.same(canonical(tree.root), before);
  t.equal(tree.size, size);
  t.equal(tree.root.count, 3);
  tree.remove([1, 2, 3]);
  t.same(dump(tree.root), []);
  t.equal(tree.size, 0);
});

t.test('match returns the nodes of the context suffixes that occur, by length, up to the first miss', async (t) => {
  const tree = new SuffixTree(8);
  tree.insert([1, 2, 3, 4]);
  const m = tree.match([9, 9, 2, 3], 8);
  t.same(m.map((n) => n.depth), [1, 2], '[3] and [2, 3] occur; [9, 2, 3] does not');
  t.equal(m[1], childOf(childOf(tree.root, 2)!, 3));
  t.same(tree.match([7], 8), []);
  t.same(tree.match([1, 2, 3], 2).length, 2, 'capped by maxLen');
});

t.test('a node with many children finds them through its index, also after removals', async (t) => {
  const tree = new SuffixTree(2);
  const seq: number[] = [];
  for (let i = 0; i < 20; i++) seq.push(100, i);
  tree.insert(seq);
  const hub = childOf(tree.root, 100)!;
  t.equal(hub.children.length, 20);
  t.ok(hub.index, 'indexed above 8 children');
  t.equal(childOf(hub, 13)?.count, 1);
  tree.remove(seq);
  t.equal(tree.size, 0);
});

t.test('SuffixWriter keeps the nodes of the sequence so far, by length', async (t) => {
  const tree = new SuffixTree(3);
  const w = new SuffixWriter(tree);
  for (const tok of [4, 5, 4, 5]) w.push(tok);
  t.same(w.nodes().map((n) => [n.token, n.depth, n.count]), [[5, 1, 2], [5, 2, 2], [5, 3, 1]]);
  const fresh = new SuffixTree(3);
  fresh.insert([4, 5, 4, 5]);
  t.same(canonical(tree.root), canonical(fresh.root), 'the same trie as insert');
});
