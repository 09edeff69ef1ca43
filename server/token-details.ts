// The API's `token_details` entries: the engine's TokenDetail (ids) with token texts, in snake_case.
// An emitted token's text is the piece the incremental detokenizer gave for it (so the entries' texts add up
// to the choice's text); an alternative's text is how the token reads mid-text, cached per tokenizer.
import type { Provenance, TokenDetail } from '../engine/token-details.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

/** One alternative: id, text, log-probability. */
export interface TopTokenOut {
  id: number;
  text: string;
  logprob: number;
}

/** One entry of `choices[i].token_details`. */
export interface TokenDetailOut {
  id: number;
  text: string;
  logprob: number;
  entropy: number;
  margin: number;
  top: TopTokenOut[];
  provenance: Provenance;
  step: number;
  /** Draft nodes verified in that step, and the deepest one's depth (for per-step tree sizes and acceptance by depth). */
  tree_size: number;
  tree_depth: number;
}

const pieces = new WeakMap<Tokenizer, { context: number | undefined; texts: Map<number, string> }>();

/** How `id` reads after ordinary text (SentencePiece's leading space kept), memoised per tokenizer. */
export function pieceText(tokenizer: Tokenizer, id: number): string {
  let cache = pieces.get(tokenizer);
  if (!cache) {
    cache = { context: tokenizer.encode('a', { addSpecialTokens: false }).at(-1), texts: new Map() };
    pieces.set(tokenizer, cache);
  }
  let text = cache.texts.get(id);
  if (text === undefined) {
    const ctx = cache.context;
    if (ctx === undefined) text = tokenizer.decode([id], { skipSpecialTokens: false });
    else {
      const base = tokenizer.decode([ctx], { skipSpecialTokens: false });
      text = tokenizer.decode([ctx, id], { skipSpecialTokens: false }).slice(base.length);
    }
    cache.texts.set(id, text);
  }
  return text;
}

/** text: the emitted token's own piece of the output. */
export function describeDetail(tokenizer: Tokenizer, id: number, text: string, d: TokenDetail): TokenDetailOut {
  return {
    id,
    text,
    logprob: d.logprob,
    entropy: d.entropy,
    margin: d.margin,
    top: d.top.map((x) => ({ id: x.token, text: pieceText(tokenizer, x.token), logprob: x.logprob })),
    provenance: d.provenance,
    step: d.step,
    tree_size: d.treeSize,
    tree_depth: d.treeDepth,
  };
}
