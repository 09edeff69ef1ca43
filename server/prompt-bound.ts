// A cheap lower bound on a prompt's token count, so a prompt that cannot fit the context window is
// refused before it is tokenized: tokens ≥ ⌈UTF-8 bytes ÷ the most bytes one token can stand for⌉.
import type { Tokenizer } from '../model/tokenizer.ts';

/**
 * Texts that a tokenizer's normalizer may shrink (NFC/NFKC compose Hangul jamo 3:1, fold fullwidth and
 * mathematical letters up to 4:1, ligatures) or drop (whitespace, unknown characters). Each is encoded at
 * startup: its bytes ÷ the bytes of its tokens' strings is how much the normalizer shrank it.
 */
const PROBES = [' ', '\n', '\t', ' \n', '\u1100\u1161\u11A8', 'e\u0301', '\uFF21', '\u{1D400}', '\uFB01', '\uE000', '\u0000', '\u200B', '▁'];
const PROBE_REPEAT = 64;
/** Beyond this shrink the tokenizer is swallowing text, not normalizing it: no bound holds. */
const MAX_SHRINK = 4;
/** Specials probed for lstrip/rstrip (a special that swallows the whitespace around it). */
const MAX_SPECIAL_PROBES = 32;

export interface PromptBound {
  /** The most UTF-8 bytes of prompt text one token stands for; null when this tokenizer allows no bound. */
  maxTokenBytes: number | null;
  /** The vocabulary's longest token string in UTF-8 bytes (before the normalization factor). */
  longestToken: number;
  /** How much the normalizer shrank the worst probe (1 = not at all). */
  shrink: number;
  /** Why there is no bound, when there is none. */
  reason?: string;
}

/**
 * The longest token in UTF-8 bytes of its vocabulary string. That string never stands for MORE input bytes
 * than its own UTF-8 length: a byte-level BPE character (1 or 2 bytes, Ġ, Ā…) stands for one byte, '▁'
 * (3 bytes) for a space or a literal '▁', '<0x41>' for one byte, '##' stands for nothing, and added tokens
 * match their own text. Only normalization can make input shrink, which the probes measure.
 */
function longestTokenBytes(tokenizer: Tokenizer): number {
  let longest = 1;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const n = Buffer.byteLength(tokenizer.tokenString(id));
    if (n > longest) longest = n;
  }
  return longest;
}

/** Computed once per engine (a vocabulary walk and a few small encodes). */
export function promptBound(tokenizer: Tokenizer): PromptBound {
  const longestToken = longestTokenBytes(tokenizer);
  const specials = [...tokenizer.specialIds].slice(0, MAX_SPECIAL_PROBES).map((id) => tokenizer.tokenString(id)).filter((s) => s !== '');
  const probes = [...PROBES.map((p) => p.repeat(PROBE_REPEAT)), ...specials.map((s) => `${s}${' '.repeat(PROBE_REPEAT)}x`)];
  let shrink = 1;
  for (const text of probes) {
    // What the tokens spell, in the same unit as longestToken: their vocabulary strings' UTF-8 bytes.
    const kept = tokenizer.encode(text, { addSpecialTokens: false }).reduce((a, id) => a + Buffer.byteLength(tokenizer.tokenString(id)), 0);
    const ratio = kept === 0 ? Infinity : Buffer.byteLength(text) / kept;
    if (ratio > MAX_SHRINK) {
      return { maxTokenBytes: null, longestToken, shrink: ratio, reason: `the tokenizer keeps ${kept} of ${Buffer.byteLength(text)} bytes of ${JSON.stringify(text.slice(0, 12))}…` };
    }
    shrink = Math.max(shrink, ratio);
  }
  return { maxTokenBytes: Math.ceil(longestToken * shrink), longestToken, shrink };
}

/** The fewest tokens `bytes` of UTF-8 text can encode to. */
export function minTokens(bytes: number, maxTokenBytes: number): number {
  return Math.ceil(bytes / maxTokenBytes);
}
