// Streaming, UTF-8-safe detokenization: turns one token id at a time into the new text it adds.
// It NEVER emits half a character and NEVER re-decodes the whole sequence (bounded window per token).
import type { Tokenizer } from './tokenizer.ts';

/** Past this many undecided tokens, text ending in U+FFFD is taken as really invalid and emitted. */
const MAX_PENDING_TOKENS = 16;

/** Context tokens (the prompt's tail) decoded ahead of the first generated token. */
const CONTEXT_TOKENS = 4;

/**
 * Incremental decoder using the prefix-offset / read-offset technique (vLLM `detokenize_incrementally`,
 * HF tokenizers `DecodeStream`). The window `ids` holds the tokens of the last emission (the prefix,
 * ids[0 .. readOffset)) plus the tokens not yet emitted. Each push decodes the window and emits what
 * it adds to the prefix's text, unless that ends in U+FFFD (an unfinished UTF-8 character).
 *
 * Decoding in context gets SentencePiece spaces right: alone, '▁world' decodes to 'world' (the llama
 * decoder strips one leading space), but after the prefix 'Hello' it adds ' world'. The prefix always
 * holds at least one token that survives special-token skipping, so the strip hits the prefix.
 *
 * INVARIANT: the concatenation of every push() result and flush() equals tokenizer.decode(allIds),
 * given the same skipSpecialTokens, as long as the tokenizer does not clean up tokenization spaces.
 *
 * Example (stories260K): push(403) -> 'Once', push(407) -> ' upon', push(2) -> '' ('</s>' is skipped).
 *
 * With `context` (the prompt's ids), its last tokens form the first prefix, so a completion's first token keeps
 * the space it carries after the prompt ('play' + '▁outside' → ' outside'), as OpenAI-compatible servers return
 * it; the invariant above then holds for decode(context tail + ids) minus the tail's own text.
 */
export class IncrementalDetokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly skipSpecialTokens: boolean;
  private ids: number[] = [];
  private readOffset = 0;
  private prefixText = '';
  private emitted = '';

  constructor(tokenizer: Tokenizer, opts?: { skipSpecialTokens?: boolean; context?: ArrayLike<number> }) {
    this.tokenizer = tokenizer;
    this.skipSpecialTokens = opts?.skipSpecialTokens ?? true;
    if (opts?.context?.length) {
      this.ids = Array.prototype.slice.call(opts.context, -CONTEXT_TOKENS) as number[];
      this.readOffset = this.ids.length;
      this.prefixText = this.decode(this.ids);
    }
  }

  /** Everything emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** Adds one token; returns the text it completes ('' while a character or space is still undecided). */
  push(id: number): string {
    this.ids.push(id);
    const windowText = this.decode(this.ids);
    const pending = this.ids.length - this.readOffset;
    if (windowText.length <= this.prefixText.length) return '';
    if (windowText.endsWith('\uFFFD') && pending < MAX_PENDING_TOKENS) return '';
    return this.emit(windowText);
  }

  /** Emits whatever is still held back (e.g. a trailing invalid byte as U+FFFD). Call at the end of a stream. */
  flush(): string {
    if (this.readOffset === this.ids.length) return '';
    const windowText = this.decode(this.ids);
    if (windowText.length <= this.prefixText.length) return '';
    return this.emit(windowText);
  }

  private emit(windowText: string): string {
    // NOTE(detok): with clean_up_tokenization_spaces the window text may not extend the prefix text;
    // the suffix past the prefix length is then the best available answer (as in vLLM).
    const delta = windowText.slice(this.prefixText.length);
    // The tokens just emitted become the next prefix; the older ones are dropped.
    this.ids = this.ids.slice(this.readOffset);
    this.readOffset = this.ids.length;
    this.prefixText = this.decode(this.ids);
    this.emitted += delta;
    return delta;
  }

  private decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skipSpecialTokens: this.skipSpecialTokens });
  }
}

/** The text `ids` add after `context` (decoded in context, so a first '▁word' keeps its space). */
export function decodeAfter(tokenizer: Tokenizer, context: ArrayLike<number>, ids: ArrayLike<number>): string {
  const d = new IncrementalDetokenizer(tokenizer, { context });
  let text = '';
  for (let i = 0; i < ids.length; i++) text += d.push(ids[i]);
  return text + d.flush();
}
