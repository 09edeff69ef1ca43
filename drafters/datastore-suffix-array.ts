// Suffix arrays over Int32 token ids: construction by prefix doubling with radix (counting) sorts, and the
// binary search for the block of suffixes that start with a pattern. Pure functions; no I/O, no tokenizer.

/**
 * The suffix array of `s`: sa[r] = start of the r-th smallest suffix. A shorter suffix sorts before every
 * longer one it prefixes; any int32 is a valid symbol (the datastore's negative separator sorts first).
 *
 * Prefix doubling (Manber & Myers 1993, "Suffix arrays: a new method for on-line string searches") with a
 * stable counting sort per round: round k orders suffixes by their first 2k symbols via the pair
 * (rank_k[i], rank_k[i + k]), with "past the end" = -1. O(n) per round, and rounds stop as soon as every rank
 * is distinct, so O(n log L) in all, L = the longest repeated substring (≤ n).
 *
 * Example: s = [2, 1, 2, 1] → suffixes "2121", "121", "21", "1" → sa = [3, 1, 2, 0].
 */
export function buildSuffixArray(s: Int32Array): Int32Array {
  const n = s.length;
  const sa = new Int32Array(n); // [n]
  if (n === 0) return sa;
  let rank = new Int32Array(n); // [n] class of the suffix's first k symbols, 0-based, dense
  let next = new Int32Array(n); // [n] scratch for the next round's classes
  const byKey2 = new Int32Array(n); // [n] suffixes ordered by their second key

  let numClasses = rankSymbols(s, rank);
  let count = new Int32Array(Math.max(numClasses, 1));
  countingSort(byIdentity(byKey2), rank, count, numClasses, sa);

  for (let k = 1; numClasses < n; k *= 2) {
    // Second key rank[i + k]: suffixes with i + k ≥ n have key -1 and come first; the rest follow sa's order.
    let p = 0;
    for (let i = Math.max(0, n - k); i < n; i++) byKey2[p++] = i;
    for (let r = 0; r < n; r++) if (sa[r] >= k) byKey2[p++] = sa[r] - k;
    if (count.length < numClasses) count = new Int32Array(numClasses);
    countingSort(byKey2, rank, count, numClasses, sa);

    next[sa[0]] = 0;
    let c = 0;
    for (let r = 1; r < n; r++) {
      const a = sa[r - 1];
      const b = sa[r];
      const a2 = a + k < n ? rank[a + k] : -1;
      const b2 = b + k < n ? rank[b + k] : -1;
      if (rank[a] !== rank[b] || a2 !== b2) c++;
      next[b] = c;
    }
    numClasses = c + 1;
    [rank, next] = [next, rank];
  }
  return sa;
}

/** Dense ranks of single symbols: rank[i] = number of distinct values below s[i]. Returns the number of classes. */
function rankSymbols(s: Int32Array, rank: Int32Array): number {
  const n = s.length;
  let lo = s[0];
  let hi = s[0];
  for (let i = 1; i < n; i++) {
    if (s[i] < lo) lo = s[i];
    else if (s[i] > hi) hi = s[i];
  }
  const span = hi - lo + 1;
  if (span <= Math.max(4 * n, 1 << 20)) {
    const map = new Int32Array(span); // [span] value - lo → dense rank + 1 (0 = absent)
    for (let i = 0; i < n; i++) map[s[i] - lo] = 1;
    let c = 0;
    for (let v = 0; v < span; v++) if (map[v]) map[v] = ++c;
    for (let i = 0; i < n; i++) rank[i] = map[s[i] - lo] - 1;
    return c;
  }
  const values = Int32Array.from(new Set(s)).sort();
  const dense = new Map<number, number>();
  values.forEach((v, j) => dense.set(v, j));
  for (let i = 0; i < n; i++) rank[i] = dense.get(s[i])!;
  return values.length;
}

function byIdentity(order: Int32Array): Int32Array {
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order;
}

/** Stable sort of `order` by key[order[j]] ∈ [0, numKeys) into `out`. count: scratch [≥ numKeys]. */
function countingSort(order: Int32Array, key: Int32Array, count: Int32Array, numKeys: number, out: Int32Array): void {
  count.fill(0, 0, numKeys);
  for (let j = 0; j < order.length; j++) count[key[order[j]]]++;
  for (let c = 0, sum = 0; c < numKeys; c++) {
    const x = count[c];
    count[c] = sum;
    sum += x;
  }
  for (let j = 0; j < order.length; j++) out[count[key[order[j]]]++] = order[j];
}

/**
 * The block [lo, hi) of sa whose suffixes start with `pattern` (hi - lo = number of occurrences; lo = hi when
 * there are none). Two binary searches, O(m log n) symbol comparisons for a pattern of m symbols.
 *
 * Example: s = [2, 1, 2, 1], sa = [3, 1, 2, 0]: pattern [2, 1] → [2, 4) (suffixes at 2 and 0); [1, 1] → [1, 1).
 */
export function suffixRange(s: Int32Array, sa: Int32Array, pattern: ArrayLike<number>, from = 0, to = pattern.length): { lo: number; hi: number } {
  const lo = firstNotBelow(s, sa, pattern, from, to, false);
  const hi = firstNotBelow(s, sa, pattern, from, to, true);
  return { lo, hi };
}

/** First rank whose suffix is ≥ pattern[from..to) (orEqual = false) or > it as a prefix (orEqual = true). */
function firstNotBelow(s: Int32Array, sa: Int32Array, pattern: ArrayLike<number>, from: number, to: number, orEqual: boolean): number {
  let lo = 0;
  let hi = sa.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = comparePrefix(s, sa[mid], pattern, from, to);
    if (c < 0 || (orEqual && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sign of (suffix at pos, cut to the pattern's length) vs pattern[from..to); a suffix that ends first is smaller. */
function comparePrefix(s: Int32Array, pos: number, pattern: ArrayLike<number>, from: number, to: number): number {
  const n = s.length;
  for (let j = from; j < to; j++, pos++) {
    if (pos >= n) return -1;
    const d = s[pos] - pattern[j];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
