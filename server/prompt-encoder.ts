// Prompt text → token ids without holding the event loop: texts over INLINE_BYTES go to a worker thread
// with its own copy of the tokenizer (same ids: the same tokenizer.json, whole text); short ones run here,
// one per event-loop turn. Also holds the prompt bound (server/prompt-bound.ts), computed once per engine.
import type { FastifyBaseLogger } from 'fastify';
import type { Tokenizer } from '../model/tokenizer.ts';
import { promptBound, type PromptBound } from './prompt-bound.ts';
import { TokenizerThread } from './tokenizer-thread.ts';

/** Texts up to this many UTF-8 bytes are encoded on the event loop (a few ms at most). */
export const INLINE_BYTES = 1024;

export class PromptEncoder {
  readonly bound: PromptBound;
  private readonly thread: TokenizerThread | null;

  /** modelPath: where the worker builds its tokenizer; without it every text is encoded here. */
  constructor(private readonly tokenizer: Tokenizer, modelPath: string | undefined, log?: FastifyBaseLogger) {
    this.bound = promptBound(tokenizer);
    if (this.bound.maxTokenBytes === null) log?.warn({ reason: this.bound.reason }, 'no cheap bound on prompt tokens for this tokenizer: every prompt is tokenized before the context check');
    this.thread = modelPath ? new TokenizerThread(modelPath) : null;
  }

  /** Whether long texts go to a worker thread. */
  get threaded(): boolean {
    return this.thread !== null;
  }

  warm(): void {
    this.thread?.warm();
  }

  async encode(text: string, opts: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    const addSpecialTokens = opts.addSpecialTokens ?? true;
    if (this.thread && Buffer.byteLength(text) > INLINE_BYTES) return this.thread.encode(text, addSpecialTokens);
    // Let other requests' work in between: a request with 64 short prompts must not run them back to back.
    await new Promise((resolve) => setImmediate(resolve));
    return this.tokenizer.encode(text, { addSpecialTokens });
  }

  async close(): Promise<void> {
    await this.thread?.close();
  }
}
