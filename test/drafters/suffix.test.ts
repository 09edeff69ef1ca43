// The suffix drafter: drafts from the request's own prompt + output and from earlier outputs, by frequency,
// with a depth that grows with the match length; learns outputs at the end and credits the one it used.
import t from 'tap';
import { SuffixCache } from '../../drafters/suffix-cache.ts';
import { DEFAULT_SUFFIX, SuffixDrafter } from '../../drafters/suffix.ts';
import { TreeBuilder, type DraftTree } from '../../trees/draft-tree.ts';

const V = 50;

/** Root-to-node token paths with scores, e.g. "3 4:1.00". */
function paths(tree: DraftTree): string[] {
  const out: string[] = [];
  for (let i = 1; i < tree.numNodes; i++) {
    const p: number[] = [];
    for (let u = i; u > 0; u = tree.parents[u]) p.unshift(tree.tokens[u]);
    out.push(`${p.join(' ')}:${tree.scores[i].toFixed(2)}`);
  }
  return out;
}

t.test('per-request tree: what followed the context suffix in the prompt, its own occurrence not counted', async (t) => {
  const d = new SuffixDrafter(4, new SuffixCache(V, 0));
  const prompt = [1, 2, 3, 4, 1, 2];
  d.begin(prompt);
  const tree = d.propose({ context: prompt, budget: 8, maxDepth: 10 })!;
  // Match [1, 2] (2 tokens) → depth ≤ 2·2 + 1 = 5; the only earlier [1, 2] went on 3, 4, 1, 2: probability 1 each.
  t.same(paths(tree), ['3:1.00', '3 4:1.00', '3 4 1:1.00', '3 4 1 2:1.00']);
  t.ok([...tree.sources.subarray(1)].every((s) => s === 1 << 4));
});

t.test('frequency scores: count(child) / count(parent) multiplied along the path; below minProb not drafted', async (t) => {
  const d = new SuffixDrafter(4, new SuffixCache(V, 0));
  // After 7: 8 three times, 9 once; after 7 8: 5 twice, 6 once; 9 then 0. Eleven 3s and one 4 after 2.
  const prompt = [1, 7, 8, 5, 2, 7, 8, 5, 3, 7, 8, 6, 4, 7, 9, 0, 6, 7];
  d.begin(prompt);
  const tree = d.propose({ context: prompt, budget: 16, maxDepth: 2 })!;
  t.same(paths(tree), ['8:0.75', '8 5:0.50', '9:0.25', '8 6:0.25', '9 0:0.25']);
  const rare = [...Array.from({ length: 11 }, () => [2, 3]).flat(), 2, 4, 2];
  d.begin(rare);
  t.same(paths(d.propose({ context: rare, budget: 16, maxDepth: 1 })!), ['3:0.92'], '4 (1/12) is below minProb 0.1');
});

t.test('the global cache: a finished output is drafted for a later request; the used one is credited', async (t) => {
  const cache = new SuffixCache(V, 2);
  const a = new SuffixDrafter(4, cache);
  a.begin([40, 41]);
  a.finish([40, 41, 10, 11, 12, 13, 14]);
  t.equal(cache.numRequests, 1, 'output learned at the end');
  t.same(Array.from(cache.outputs()[0]), [10, 11, 12, 13, 14], 'the output only, not the prompt');

  const b = new SuffixDrafter(4, cache);
  b.begin([30, 10, 11]);
  const tree = b.propose({ context: [30, 10, 11], budget: 8, maxDepth: 10 })!;
  t.same(paths(tree), ['12:1.00', '12 13:1.00', '12 13 14:1.00'], 'match [10, 11] → up to 5 deep; 3 tokens follow');
  const short = b.propose({ context: [30, 10, 11], budget: 8, maxDepth: 1 })!;
  t.same(paths(short), ['12:1.00'], 'the request\'s own depth limit');

  cache.add([20, 21]); // newer output
  b.propose({ context: [30, 10, 11], budget: 8, maxDepth: 10 });
  const tb = new TreeBuilder(11);
  tb.add(tb.add(0, 12), 13);
  b.observe({ tree: tb.build(), logits: new Float32Array(0), vocab: V, acceptedNodes: [0, 1, 2], emitted: [12, 13, 99] });
  cache.add([25, 26]); // over the bound: the least recently USED goes, which is now [20, 21]
  t.same(cache.outputs().map((o) => Array.from(o)), [[10, 11, 12, 13, 14], [25, 26]]);
});

t.test('longer matches draft deeper: depth ≤ floor(depthPerMatch · m + depthOffset), twice the match by default', async (t) => {
  const cache = new SuffixCache(V, 4);
  cache.add(Array.from({ length: 20 }, (_, i) => i + 1));
  const d = new SuffixDrafter(4, cache);
  d.begin([0]);
  const one = d.propose({ context: [0, 3], budget: 16, maxDepth: 20 })!;
  t.equal(Math.max(...one.depths), 3, 'match of 1 → 3 deep');
  const four = d.propose({ context: [0, 1, 2, 3, 4], budget: 16, maxDepth: 20 })!;
  t.equal(Math.max(...four.depths), 9, 'match of 4 → 9 deep');
  const plain = new SuffixDrafter(4, cache, { ...DEFAULT_SUFFIX, depthPerMatch: 1 });
  plain.begin([0]);
  t.equal(Math.max(...plain.propose({ context: [0, 1, 2, 3, 4], budget: 16, maxDepth: 20 })!.depths), 5, 'depthPerMatch 1: match of 4 → 5 deep');
  t.equal(d.propose({ context: [0, 49], budget: 16, maxDepth: 20 }), null, 'no match, no draft');
  t.equal(d.propose({ context: [0, 3], budget: 0, maxDepth: 20 }), null, 'no budget, no draft');
});

t.test('every match length drafts: what only a shorter match saw follow joins the longest match\'s draft', async (t) => {
  const cache = new SuffixCache(V, 4);
  cache.add([9, 5, 6, 7]);
  cache.add([1, 5, 8, 2]);
  cache.add([3, 5, 8, 4]);
  const d = new SuffixDrafter(4, cache);
  d.begin([0, 9, 5]);
  // [9, 5] was followed by 6 7 (probability 1); [5] alone by 8 twice (2/3) and 6 once: 6 is already drafted.
  const tree = d.propose({ context: [0, 9, 5], budget: 8, maxDepth: 10 })!;
  t.same(paths(tree), ['6:1.00', '6 7:1.00', '8:0.67', '8 2:0.33', '8 4:0.33']);
});
