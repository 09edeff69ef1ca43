// Prompt lookup: longest suffix match, continuations from several matches as a trie, adaptive length.
import t from 'tap';
import { treePaths } from '../helpers/trees.ts';
import { DEFAULT_LOOKUP, LookupDrafter, lookupTree } from '../../drafters/lookup.ts';

const paths = treePaths;

t.test('the docstring example: two matches of the 2-gram, most recent first, sharing a prefix', async (t) => {
  const tree = lookupTree([5, 6, 7, 9, 5, 6, 7, 8, 5, 6], { ...DEFAULT_LOOKUP, maxNgram: 3, baseLength: 3, lengthPerMatchedToken: 0 }, 80, 10, 0)!;
  t.equal(tree.tokens[0], 6, 'root is the last token');
  t.same(paths(tree), ['7', '7 8', '7 9', '7 8 5', '7 9 5']);
  t.equal(tree.scores[1], 1, 'both matches agree on 7');
  t.ok(Math.abs(tree.scores[2] - 0.45) < 1e-6, 'half the matches, one depth of decay');
  t.equal(tree.sources[1], 1, 'source bit 0');
});

t.test('prefers the longest matching suffix; length grows with the match', async (t) => {
  // [1 2 3] occurs once, followed by 4; [3] alone occurs twice (followed by 4 and by 9).
  const ctx = [1, 2, 3, 4, 4, 4, 4, 0, 3, 9, 9, 1, 2, 3];
  const tree = lookupTree(ctx, { ...DEFAULT_LOOKUP, maxNgram: 3, baseLength: 1, lengthPerMatchedToken: 1, maxLength: 10 }, 80, 10, 0)!;
  t.same(paths(tree), ['4', '4 4', '4 4 4'], '3-gram match → length 1 + 2·1');
  const short = lookupTree(ctx, { ...DEFAULT_LOOKUP, maxNgram: 1, baseLength: 1, lengthPerMatchedToken: 1 }, 80, 10, 0)!;
  t.same(paths(short), ['9', '4'], '1-gram: both matches, most recent first');
});

t.test('no match, budget and depth limits', async (t) => {
  t.equal(lookupTree([1, 2, 3, 4], DEFAULT_LOOKUP, 80, 10, 0), null, 'nothing repeats');
  const ctx = [7, 8, 9, 10, 11, 12, 7];
  t.equal(lookupTree(ctx, DEFAULT_LOOKUP, 2, 10, 0)!.numNodes, 3, 'budget 2');
  t.equal(Math.max(...lookupTree(ctx, DEFAULT_LOOKUP, 80, 1, 0)!.depths), 1, 'maxDepth 1');
  const d = new LookupDrafter(0);
  t.equal(d.propose({ context: ctx, budget: 0, maxDepth: 5 }), null);
  t.ok(d.propose({ context: ctx, budget: 5, maxDepth: 5 }));
});
