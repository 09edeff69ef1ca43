// The retrieval datastore (REST, He et al. NAACL 2024): tokenized documents concatenated with a SEPARATOR after
// each, plus a suffix array over them. Owns building and querying; file I/O lives in datastore-file.ts.
import { errors } from '../common/errors.ts';
import { buildSuffixArray, suffixRange } from './datastore-suffix-array.ts';

/** Ends every document. Negative, so no pattern of real token ids can match across it. */
export const SEPARATOR = -1;

export interface Datastore {
  /** Vocabulary size of the model the tokens belong to; every token is in [0, vocab). */
  readonly vocab: number;
  /** tokenizerFingerprint() of the tokenizer that made the tokens ('' when unknown). */
  readonly tokenizer: string;
  /** Free-form label, e.g. the model folder's name (for messages only). */
  readonly name: string;
  readonly numDocs: number;
  /** Documents, each followed by SEPARATOR. */
  readonly tokens: Int32Array; // [numTokens]
  /** Suffix array over `tokens`. */
  readonly suffixArray: Int32Array; // [numTokens]
  /** Bytes on disk (0 for a datastore built in memory and never saved). */
  readonly fileBytes: number;
}

export interface DatastoreMeta {
  vocab: number;
  tokenizer?: string;
  name?: string;
}

/**
 * Builds a datastore from tokenized documents. Empty documents are skipped.
 *
 * Example: docs [[5, 6, 7], [6, 7, 8]] → tokens [5, 6, 7, -1, 6, 7, 8, -1]; find(ds, [6, 7]) has 2 occurrences
 * (continuing with -1 and 8), find(ds, [7, 6]) has none: matches never cross a document boundary.
 */
export function createDatastore(docs: Iterable<ArrayLike<number>>, meta: DatastoreMeta): Datastore {
  if (!Number.isInteger(meta.vocab) || meta.vocab < 1) throw errors.invalidParam(`datastore vocabulary size ${meta.vocab} must be a positive integer`, 'vocab');
  const list = [...docs].filter((d) => d.length > 0);
  const numTokens = list.reduce((sum, d) => sum + d.length + 1, 0);
  if (numTokens >= 2 ** 31) throw errors.invalidParam(`datastore of ${numTokens} tokens exceeds the int32 limit of ${2 ** 31 - 1}`, 'datastore');
  const tokens = new Int32Array(numTokens);
  let p = 0;
  list.forEach((doc, d) => {
    for (let i = 0; i < doc.length; i++) {
      const tok = doc[i];
      if (!Number.isInteger(tok) || tok < 0 || tok >= meta.vocab) {
        throw errors.invalidParam(`document ${d} token ${i} is ${tok}, outside the vocabulary [0, ${meta.vocab})`, 'datastore');
      }
      tokens[p++] = tok;
    }
    tokens[p++] = SEPARATOR;
  });
  return {
    vocab: meta.vocab,
    tokenizer: meta.tokenizer ?? '',
    name: meta.name ?? '',
    numDocs: list.length,
    tokens,
    suffixArray: buildSuffixArray(tokens),
    fileBytes: 0,
  };
}

/** Block [lo, hi) of the suffix array where pattern[from..to) occurs; hi - lo = number of occurrences. */
export function findInDatastore(ds: Datastore, pattern: ArrayLike<number>, from = 0, to = pattern.length): { lo: number; hi: number } {
  return suffixRange(ds.tokens, ds.suffixArray, pattern, from, to);
}

/** Every start position of pattern in ds.tokens, ascending. */
export function occurrences(ds: Datastore, pattern: ArrayLike<number>): number[] {
  const { lo, hi } = findInDatastore(ds, pattern);
  return Array.from(ds.suffixArray.subarray(lo, hi)).sort((a, b) => a - b);
}

/** Up to maxLen tokens starting at pos, stopping before the document's SEPARATOR. */
export function continuationAt(ds: Datastore, pos: number, maxLen: number): Int32Array {
  let end = pos;
  const limit = Math.min(ds.tokens.length, pos + maxLen);
  while (end < limit && ds.tokens[end] !== SEPARATOR) end++;
  return ds.tokens.subarray(pos, end);
}
