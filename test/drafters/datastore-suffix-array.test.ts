// Suffix array construction against a naive sort, and the pattern search against a linear scan.
import t from 'tap';
import { buildSuffixArray, suffixRange } from '../../drafters/datastore-suffix-array.ts';
import { Rng } from '../../common/rng.ts';

function naiveSuffixArray(s: Int32Array): number[] {
  const idx = Array.from(s, (_, i) => i);
  return idx.sort((a, b) => {
    for (let i = a, j = b; ; i++, j++) {
      if (i >= s.length) return -1;
      if (j >= s.length) return 1;
      if (s[i] !== s[j]) return s[i] - s[j];
    }
  });
}

function naiveOccurrences(s: Int32Array, p: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + p.length <= s.length; i++) if (p.every((x, j) => s[i + j] === x)) out.push(i);
  return out;
}

/** Random array over a small alphabet (offset may make values negative), with copied runs for long repeats. */
function randomTokens(rng: Rng, n: number, alphabet: number, offset: number): Int32Array {
  const s = new Int32Array(n);
  for (let i = 0; i < n; i++) s[i] = offset + (rng.nextU32() % alphabet);
  if (n > 8 && rng.nextU32() % 2) {
    const len = 1 + (rng.nextU32() % (n >> 1));
    const src = rng.nextU32() % (n - len);
    const dst = rng.nextU32() % (n - len);
    s.copyWithin(dst, src, src + len);
  }
  return s;
}

t.test('the docstring examples', async (t) => {
  const s = Int32Array.from([2, 1, 2, 1]);
  const sa = buildSuffixArray(s);
  t.same(Array.from(sa), [3, 1, 2, 0]);
  t.same(suffixRange(s, sa, [2, 1]), { lo: 2, hi: 4 });
  t.same(suffixRange(s, sa, [1, 1]), { lo: 1, hi: 1 });
  t.same(Array.from(buildSuffixArray(new Int32Array(0))), []);
  t.same(Array.from(buildSuffixArray(Int32Array.from([7]))), [0]);
});

t.test('equals a naive sort on random arrays: many sizes, small alphabets, long repeats, negatives', async (t) => {
  const rng = new Rng(11);
  let cases = 0;
  for (const n of [1, 2, 3, 5, 8, 13, 31, 64, 100, 257, 600, 1500]) {
    for (const alphabet of [1, 2, 3, 5, 300]) {
      for (let rep = 0; rep < 4; rep++) {
        const s = randomTokens(rng, n, alphabet, rep % 2 ? -1 : 0);
        const sa = buildSuffixArray(s);
        if (Array.from(sa).join() !== naiveSuffixArray(s).join()) t.fail(`n ${n} alphabet ${alphabet}: ${Array.from(s).join(' ')}`);
        cases++;
      }
    }
  }
  const huge = Int32Array.from([2 ** 31 - 1, -(2 ** 31), 0, 2 ** 31 - 1, 5, -(2 ** 31), 0]);
  t.same(Array.from(buildSuffixArray(huge)), naiveSuffixArray(huge), 'sparse values spanning the whole int32 range');
  t.pass(`${cases} random arrays agree with the naive sort`);
});

t.test('suffixRange finds every occurrence of a pattern, and nothing for absent patterns', async (t) => {
  const rng = new Rng(12);
  for (let rep = 0; rep < 60; rep++) {
    const s = randomTokens(rng, 50 + (rng.nextU32() % 400), 2 + (rng.nextU32() % 3), 0);
    const sa = buildSuffixArray(s);
    const start = rng.nextU32() % s.length;
    const len = 1 + (rng.nextU32() % 12);
    const present = Array.from(s.subarray(start, start + len));
    const absent = [...present, 99];
    for (const p of [present, absent]) {
      const { lo, hi } = suffixRange(s, sa, p);
      const found = Array.from(sa.subarray(lo, hi)).sort((a, b) => a - b);
      t.same(found, naiveOccurrences(s, p), `pattern ${p.join(' ')}`);
    }
    const ctx = [42, ...present];
    t.same(suffixRange(s, sa, ctx, 1), suffixRange(s, sa, present), 'from/to select a slice of the pattern');
  }
});

t.test('timing: 1M tokens (printed, not asserted)', async (t) => {
  const rng = new Rng(13);
  const n = 1_000_000;
  const s = new Int32Array(n);
  for (let i = 0; i < n; i++) s[i] = rng.nextU32() % 32000;
  for (let r = 0; r < 1000; r++) {
    const len = 50 + (rng.nextU32() % 500);
    const src = rng.nextU32() % (n - len);
    s.copyWithin(rng.nextU32() % (n - len), src, src + len);
  }
  const t0 = performance.now();
  const sa = buildSuffixArray(s);
  const ms = performance.now() - t0;
  t.comment(`suffix array of ${n} tokens (vocab 32000, copied runs) in ${ms.toFixed(0)} ms`);
  let sorted = true;
  for (let r = 1; r < 2000; r++) if (s[sa[r - 1]] > s[sa[r]]) sorted = false;
  t.ok(sorted, 'first symbols ascend');
});
