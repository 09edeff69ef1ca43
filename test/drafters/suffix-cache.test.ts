// The suffix drafter's global cache: bounded, forgets the least recently used output, persists and reloads.
import fs from 'node:fs';
import t from 'tap';
import { SuffixCache } from '../../drafters/suffix-cache.ts';

const V = 50;

/** Count of the 1-gram `token` in the cache's trie (0 when absent). */
const countOf = (c: SuffixCache, token: number) => {
  const n = c.tree.child(c.tree.root, token);
  return n < 0 ? 0 : c.tree.count(n);
};

t.test('bounded: beyond maxRequests the oldest output is forgotten and its counts removed exactly', async (t) => {
  const c = new SuffixCache(V, 2);
  c.add([1, 2, 3]);
  c.add([4, 5]);
  t.equal(c.numRequests, 2);
  c.add([6, 2]);
  t.equal(c.numRequests, 2, 'never more than the bound');
  t.same(c.outputs().map((o) => Array.from(o)), [[4, 5], [6, 2]]);
  t.equal(countOf(c, 1), 0, 'the forgotten output left no node');
  t.equal(countOf(c, 2), 1, 'shared tokens keep the others\' counts');
  t.equal(c.tree.count(c.tree.root), 4);
  c.setCapacity(1);
  t.same(c.outputs().map((o) => Array.from(o)), [[6, 2]], 'lowering the bound evicts at once');
  t.equal(new SuffixCache(V, 0).add([1, 2]), -1, 'a bound of 0 keeps nothing');
});

t.test('LRU: an output whose draft was used (touch) outlives newer unused ones', async (t) => {
  const c = new SuffixCache(V, 2);
  const a = c.add([1, 2, 3]);
  c.add([4, 5]);
  c.touch(a);
  c.add([7, 8]);
  t.same(c.outputs().map((o) => Array.from(o)), [[1, 2, 3], [7, 8]], '[4, 5] was the least recently used');
  t.equal(countOf(c, 4), 0);
  c.touch(12345); // unknown ids are ignored
  t.equal(c.numRequests, 2);
});

t.test('save and load round-trip, most recent stays most recent; bounded on load', async (t) => {
  const dir = t.testdir();
  const c = new SuffixCache(V, 3);
  const a = c.add([1, 2, 3]);
  c.add([4, 5]);
  c.add([6]);
  c.touch(a);
  c.save(`${dir}/cache.json`);
  const d = new SuffixCache(V, 3);
  d.load(`${dir}/cache.json`);
  t.same(d.outputs().map((o) => Array.from(o)), [[4, 5], [6], [1, 2, 3]]);
  t.equal(d.tree.size, c.tree.size, 'the same trie');
  const small = new SuffixCache(V, 1);
  small.load(`${dir}/cache.json`);
  t.same(small.outputs().map((o) => Array.from(o)), [[1, 2, 3]], 'only the most recent fit');
});

t.test('a file for another vocabulary or not a cache fails loudly', async (t) => {
  const dir = t.testdir({ 'junk.json': '{"hello": 1}', 'bad.json': 'not json' });
  const c = new SuffixCache(V, 3);
  c.add([1, 2]);
  c.save(`${dir}/c.json`);
  t.throws(() => new SuffixCache(V + 1).load(`${dir}/c.json`), { code: 'SPRIG_ERR_VOCAB_MISMATCH' });
  t.throws(() => new SuffixCache(V).load(`${dir}/junk.json`), { code: 'SPRIG_ERR_BAD_CHECKPOINT' });
  t.throws(() => new SuffixCache(V).load(`${dir}/bad.json`), { code: 'SPRIG_ERR_BAD_CHECKPOINT' });
  t.throws(() => new SuffixCache(V, -1), { code: 'SPRIG_ERR_INVALID_PARAM' });
});

t.test('serialize() (the periodic save, in slices) writes exactly what save() does; changes moves on every change', async (t) => {
  const dir = t.testdir();
  const c = new SuffixCache(V, 3);
  let seen = c.changes;
  const moved = (what: string) => {
    t.not(c.changes, seen, `${what} counts as a change`);
    seen = c.changes;
  };
  const a = c.add([1, 2, 3]);
  moved('add');
  c.add([]);
  t.equal(c.changes, seen, 'an empty output is not kept: no change');
  for (let i = 0; i < 40; i++) c.add(Array.from({ length: 200 }, (_, j) => (i * 7 + j) % V));
  moved('adds that evict');
  c.touch(a); // forgotten already
  t.equal(c.changes, seen, 'touching a forgotten output changes nothing');
  const b = c.outputs().length;
  c.touch(c.add([9, 9]) - 1);
  moved('touch');
  t.equal(c.outputs().length, b);
  c.save(`${dir}/sync.json`);
  const chunks = await c.serialize(0); // a slice per output
  t.ok(chunks.length > 1, 'several slices');
  t.equal(Buffer.concat(chunks).toString(), fs.readFileSync(`${dir}/sync.json`, 'utf8'), 'byte for byte');
  t.same(JSON.parse(Buffer.concat(chunks).toString()), { format: 'sprig-suffix-cache', version: 1, vocab: V, requests: c.outputs().map((o) => Array.from(o)) });
  const d = new SuffixCache(V, 3);
  const before = d.changes;
  d.load(`${dir}/sync.json`);
  t.not(d.changes, before, 'load counts as a change');
  t.same((JSON.parse(Buffer.concat(await new SuffixCache(V, 3).serialize()).toString()) as { requests: unknown[] }).requests, [], 'an empty cache serializes to no requests');
});
