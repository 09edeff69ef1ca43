// The counted suffix trie: counts per suffix, exact removal, suffix matching, and the per-request writer.
import t from 'tap';
import { NO_NODE, SuffixTree, SuffixWriter, type SuffixNode } from '../../drafters/suffix-tree.ts';

/** The trie as nested "token(count)" strings, children in their stored (count) order. */
function dump(tree: SuffixTree, node: SuffixNode = tree.root): string[] {
  return tree.children(node).map((c) => `${tree.token(c)}(${tree.count(c)})${tree.firstChild(c) >= 0 ? `[${dump(tree, c).join(' ')}]` : ''}`);
}

/** The same, children by token: equal tries whatever the order among equal counts. */
function canonical(tree: SuffixTree, node: SuffixNode = tree.root): string[] {
  return tree
    .children(node)
    .sort((a, b) => tree.token(a) - tree.token(b))
    .map((c) => `${tree.token(c)}(${tree.count(c)})${tree.firstChild(c) >= 0 ? `[${canonical(tree, c).join(' ')}]` : ''}`);
}

t.test('insert counts every suffix, cut to maxDepth; children are ordered by count', async (t) => {
  const tree = new SuffixTree(3);
  tree.insert([5, 6, 5, 7]);
  t.equal(tree.count(tree.root), 4, 'one suffix per token');
  t.same(dump(tree), ['5(2)[6(1)[5(1)] 7(1)]', '6(1)[5(1)[7(1)]]', '7(1)']);
  t.equal(tree.size, 8);
  tree.insert([6, 5, 7]);
  t.same(dump(tree)[0], '5(3)[7(2) 6(1)[5(1)]]', 'the more frequent child moves to the front');
});

t.test('remove exactly undoes insert, leaving other sequences intact', async (t) => {
  const tree = new SuffixTree(4);
  tree.insert([1, 2, 3]);
  const before = canonical(tree);
  const size = tree.size;
  tree.insert([2, 3, 9, 2]);
  tree.remove([2, 3, 9, 2]);
  t.same(canonical(tree), before);
  t.equal(tree.size, size);
  t.equal(tree.count(tree.root), 3);
  tree.remove([1, 2, 3]);
  t.same(dump(tree), []);
  t.equal(tree.size, 0);
});

t.test('match returns the nodes of the context suffixes that occur, by length, up to the first miss', async (t) => {
  const tree = new SuffixTree(8);
  tree.insert([1, 2, 3, 4]);
  const m = tree.match([9, 9, 2, 3], 8);
  t.same(m.map((n) => tree.depth(n)), [1, 2], '[3] and [2, 3] occur; [9, 2, 3] does not');
  t.equal(m[1], tree.child(tree.child(tree.root, 2), 3));
  t.same(tree.match([7], 8), []);
  t.same(tree.match([1, 2, 3], 2).length, 2, 'capped by maxLen');
});

t.test('a node with many children finds them through its index, also after removals', async (t) => {
  const tree = new SuffixTree(2);
  const seq: number[] = [];
  for (let i = 0; i < 20; i++) seq.push(100, i);
  tree.insert(seq);
  const hub = tree.child(tree.root, 100);
  t.equal(tree.children(hub).length, 20);
  t.ok(tree.isIndexed(hub), 'indexed above 8 children');
  t.equal(tree.count(tree.child(hub, 13)), 1);
  tree.remove(seq);
  t.equal(tree.size, 0);
});

t.test('SuffixWriter keeps the nodes of the sequence so far, by length', async (t) => {
  const tree = new SuffixTree(3);
  const w = new SuffixWriter(tree);
  for (const tok of [4, 5, 4, 5]) w.push(tok);
  t.same(w.nodes().map((n) => [tree.token(n), tree.depth(n), tree.count(n)]), [[5, 1, 2], [5, 2, 2], [5, 3, 1]]);
  const fresh = new SuffixTree(3);
  fresh.insert([4, 5, 4, 5]);
  t.same(canonical(tree), canonical(fresh), 'the same trie as insert');
});

t.test('removal frees nodes for reuse; a removed node no longer names its owner', async (t) => {
  const tree = new SuffixTree(4);
  const a = [1, 2, 3, 4, 5, 6, 7, 8];
  tree.insert(a, 7);
  const slots = tree.slots;
  const node = tree.child(tree.root, 1);
  const stamp = tree.stamp(node);
  t.equal(tree.ownerIf(node, stamp), 7);
  tree.remove(a);
  t.equal(tree.size, 0);
  t.equal(tree.firstChild(tree.root), NO_NODE);
  t.equal(tree.ownerIf(node, stamp), -1, 'removed');
  tree.insert([11, 12, 13, 14, 15, 16, 17, 18], 8);
  t.equal(tree.slots, slots, 'the freed slots are reused, none added');
  t.equal(tree.size, slots - 1);
  t.equal(tree.ownerIf(node, stamp), -1, 'its slot now holds another node');
  t.same(dump(tree).length, 8);
});

t.test('the pool grows past its initial capacity, the child table past its first size', async (t) => {
  const rand = rng(7);
  const seq = Array.from({ length: 2000 }, () => Math.floor(rand() * 50));
  const small = new SuffixTree(6, 2);
  const big = new SuffixTree(6, 100_000);
  small.insert(seq);
  big.insert(seq);
  t.ok(small.slots > 1000, `${small.slots} slots from 2`);
  t.same(dump(small), dump(big), 'the same trie, the same child order');
  t.equal(small.size, big.size);
  t.ok(small.bytes < big.bytes, 'doubled as needed, not more');
  small.remove(seq);
  t.equal(small.size, 0);
  t.same(dump(small), []);
});

t.test('children stay in count order through many increments and decrements', async (t) => {
  const tree = new SuffixTree(1);
  tree.insert([4, 2, 1, 3, 1, 3, 2, 3]);
  t.same(dump(tree), ['3(3)', '1(2)', '2(2)', '4(1)'], 'equal counts: the one that got there first comes first');
  for (let i = 0; i < 100; i++) tree.insert([5]);
  t.same(dump(tree), ['5(100)', '3(3)', '1(2)', '2(2)', '4(1)']);
  tree.remove([3]);
  t.same(dump(tree), ['5(100)', '3(2)', '1(2)', '2(2)', '4(1)'], 'a decremented child moves behind larger counts only');
  for (let i = 0; i < 99; i++) tree.remove([5]);
  t.same(dump(tree), ['3(2)', '1(2)', '2(2)', '5(1)', '4(1)']);
  tree.remove([5]);
  t.same(dump(tree), ['3(2)', '1(2)', '2(2)', '4(1)']);
  t.equal(tree.size, 4);
});

/** A plain object trie with the same count order rules, suffix by suffix: the reference for the pool. */
interface RefNode {
  token: number;
  count: number;
  owner: number;
  children: RefNode[];
}

class RefTrie {
  root: RefNode = { token: -1, count: 0, owner: -1, children: [] };
  constructor(readonly depth: number) {}

  insert(seq: number[], owner: number): void {
    for (let i = 0; i < seq.length; i++) {
      this.root.count++;
      let node = this.root;
      for (let j = i; j < Math.min(seq.length, i + this.depth); j++) {
        const kids = node.children;
        let k = kids.findIndex((c) => c.token === seq[j]);
        if (k < 0) k = kids.push({ token: seq[j], count: 0, owner, children: [] }) - 1;
        const c = kids[k];
        c.count++;
        c.owner = owner;
        for (; k > 0 && kids[k - 1].count < c.count; k--) kids[k] = kids[k - 1];
        kids[k] = c;
        node = c;
      }
    }
  }

  remove(seq: number[]): void {
    for (let i = 0; i < seq.length; i++) {
      this.root.count--;
      let node = this.root;
      for (let j = i; j < Math.min(seq.length, i + this.depth); j++) {
        const kids = node.children;
        let k = kids.findIndex((c) => c.token === seq[j]);
        const c = kids[k];
        if (--c.count === 0) {
          kids.splice(k, 1);
          break;
        }
        for (; k + 1 < kids.length && kids[k + 1].count > c.count; k++) kids[k] = kids[k + 1];
        kids[k] = c;
        node = c;
      }
    }
  }

  match(context: number[], maxLen: number): RefNode[] {
    const out: RefNode[] = [];
    for (let m = 1; m <= Math.min(maxLen, context.length, this.depth); m++) {
      let node: RefNode | undefined = this.root;
      for (let j = context.length - m; j < context.length && node; j++) node = node.children.find((c) => c.token === context[j]);
      if (!node) break;
      out.push(node);
    }
    return out;
  }
}

function refDump(node: RefNode): string[] {
  return node.children.map((c) => `${c.token}(${c.count}@${c.owner})${c.children.length ? `[${refDump(c).join(' ')}]` : ''}`);
}

function ownerDump(tree: SuffixTree, node: SuffixNode = tree.root): string[] {
  return tree.children(node).map((c) => `${tree.token(c)}(${tree.count(c)}@${tree.owner(c)})${tree.firstChild(c) >= 0 ? `[${ownerDump(tree, c).join(' ')}]` : ''}`);
}

function refSize(node: RefNode): number {
  return node.children.reduce((n, c) => n + 1 + refSize(c), 0);
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

t.test('randomized: inserts and removals in any order give the reference trie, node for node, and its matches', async (t) => {
  // Small vocabularies repeat (periodic sequences, many equal counts); vocabulary 40 gives nodes above 8 children.
  for (const [seed, vocab, depth, maxLen, initial] of [[1, 3, 4, 12, 2], [2, 5, 6, 20, 64], [3, 40, 3, 30, 256], [4, 12, 8, 40, 16]]) {
    const rand = rng(seed);
    const tree = new SuffixTree(depth, initial);
    const ref = new RefTrie(depth);
    const kept: number[][] = [];
    let owner = 0;
    let mismatches = 0;
    let peak = 0; // most live nodes
    for (let op = 0; op < 400; op++) {
      if (kept.length === 0 || rand() < 0.55) {
        const seq = Array.from({ length: 1 + Math.floor(rand() * maxLen) }, () => Math.floor(rand() * vocab));
        kept.push(seq);
        tree.insert(seq, owner);
        ref.insert(seq, owner++);
      } else {
        const [seq] = kept.splice(Math.floor(rand() * kept.length), 1);
        tree.remove(seq);
        ref.remove(seq);
      }
      peak = Math.max(peak, tree.size);
      const same = ownerDump(tree).join(' ') === refDump(ref.root).join(' ') && tree.size === refSize(ref.root) && tree.count(tree.root) === ref.root.count;
      if (!same) mismatches++;
      for (let q = 0; q < 4; q++) {
        const ctx = Array.from({ length: 1 + Math.floor(rand() * (depth + 2)) }, () => Math.floor(rand() * vocab));
        const got = tree.match(ctx, depth).map((n) => `${tree.token(n)}/${tree.depth(n)}/${tree.count(n)}`);
        const want = ref.match(ctx, depth).map((n, m) => `${n.token}/${m + 1}/${n.count}`);
        if (got.join(' ') !== want.join(' ')) mismatches++;
      }
    }
    t.equal(mismatches, 0, `vocabulary ${vocab}, depth ${depth}: no mismatch in 400 operations`);
    t.same(ownerDump(tree), refDump(ref.root), 'the final tries');
    while (kept.length > 0) tree.remove(kept.splice(Math.floor(rand() * kept.length), 1)[0]);
    t.equal(tree.size, 0, 'everything removed');
    t.equal(tree.count(tree.root), 0);
    t.equal(tree.slots, peak + 1, 'freed slots are reused first: the pool never held more than the most live nodes (+ the root)');
  }
});
