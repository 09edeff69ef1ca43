// Builds OpenAI response bodies and stream chunks for both endpoints from a job's output.
// Shapes follow the OpenAI API; `speculation` is Sprig's extension, present when the engine reports it.
import { randomUUID } from 'node:crypto';
import type { SpeculationStats } from '../engine/stats.ts';
import type { SequenceScores } from '../engine/token-details.ts';
import type { ChoiceFinish, ChoiceOutput, JobOutput, TokenLogprobOut, Usage } from './job.ts';
import type { TokenDetailOut } from './token-details.ts';
import type { ToolFormat } from '../grammar/tool-formats.ts';
import { readToolCalls, type IndexedCall, type ReplyFinish } from './tool-calls.ts';

export type Endpoint = 'chat' | 'completion';

export interface ResponseMeta {
  endpoint: Endpoint;
  id: string;
  created: number;
  model: string;
  /** Streaming with include_usage: every chunk but the last carries usage: null. */
  includeUsage: boolean;
}

export function newMeta(endpoint: Endpoint, model: string, includeUsage = false): ResponseMeta {
  const prefix = endpoint === 'chat' ? 'chatcmpl' : 'cmpl';
  return { endpoint, id: `${prefix}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model, includeUsage };
}

function head(meta: ResponseMeta, object: string) {
  return { id: meta.id, object, created: meta.created, model: meta.model };
}

function withSpeculation<T extends object>(body: T, speculation: SpeculationStats | undefined): T & { speculation?: SpeculationStats } {
  return speculation ? { ...body, speculation } : body;
}

/** A completion's `logprobs`: parallel arrays, text_offset counted from `offset` (characters). */
export function completionLogprobs(lps: TokenLogprobOut[], offset = 0) {
  let at = offset;
  return {
    tokens: lps.map((l) => l.token),
    token_logprobs: lps.map((l) => l.logprob),
    // Alternatives come most likely first; two that read the same (e.g. partial UTF-8 bytes) keep the likelier.
    top_logprobs: lps.map((l) => (l.top ? Object.fromEntries([...l.top].reverse().map((x) => [x.token, x.logprob])) : null)),
    text_offset: lps.map((l) => {
      const o = at;
      at += l.token.length;
      return o;
    }),
  };
}

/** A chat message's `logprobs`: one entry per token with its UTF-8 bytes and alternatives. */
export function chatLogprobs(lps: TokenLogprobOut[]) {
  const bytes = (s: string) => [...Buffer.from(s, 'utf8')];
  return {
    content: lps.map((l) => ({ token: l.token, logprob: l.logprob, bytes: bytes(l.token), top_logprobs: (l.top ?? []).map((x) => ({ token: x.token, logprob: x.logprob, bytes: bytes(x.token) })) })),
    refusal: null,
  };
}

/** Sprig's token_details and sequence_scores, when the request asked for them. */
function details(c: ChoiceOutput) {
  return c.tokenDetails ? { token_details: c.tokenDetails, sequence_scores: c.sequenceScores } : {};
}

/** A chat choice's message and finish_reason; with `tools` (a format to read calls in), its tool_calls. */
function chatReply(c: ChoiceOutput, tools: ToolFormat | undefined) {
  if (!tools) return { message: { role: 'assistant', content: c.text }, finish_reason: c.finishReason };
  const r = readToolCalls(tools, c.text, c.finishReason);
  return { message: { role: 'assistant', content: r.content, ...(r.calls.length ? { tool_calls: r.calls } : {}) }, finish_reason: r.finishReason };
}

/** tools: chat with tool calls to read (the template's format). */
export function responseBody(meta: ResponseMeta, out: JobOutput, tools?: ToolFormat) {
  const choices = meta.endpoint === 'chat'
    ? out.choices.map((c) => ({ index: c.index, ...chatReply(c, tools), logprobs: c.logprobs ? chatLogprobs(c.logprobs) : null, ...details(c) }))
    : out.choices.map((c) => ({ index: c.index, text: c.text, logprobs: c.logprobs ? completionLogprobs(c.logprobs) : null, finish_reason: c.finishReason, ...details(c) }));
  const object = meta.endpoint === 'chat' ? 'chat.completion' : 'text_completion';
  return withSpeculation({ ...head(meta, object), choices, usage: out.usage }, out.speculation);
}

function chunk(meta: ResponseMeta, choice: Record<string, unknown>) {
  const object = meta.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const body: Record<string, unknown> = { ...head(meta, object), choices: [{ logprobs: null, ...choice }] };
  if (meta.includeUsage) body.usage = null;
  return body;
}

/** Chat only: the first chunk of each choice announces the assistant role. */
export function roleChunk(meta: ResponseMeta, index: number) {
  return chunk(meta, { index, delta: { role: 'assistant', content: '' }, finish_reason: null });
}

/**
 * `usage`: the running counts, with stream_options.continuous_usage_stats; `lps`: the logprobs of this chunk's
 * tokens (their text offsets counted from `textOffset`); `details`: this chunk's token_details entries.
 */
export function textChunk(meta: ResponseMeta, index: number, text: string, usage?: Usage, lps?: TokenLogprobOut[], textOffset = 0, details?: TokenDetailOut[]) {
  const extra = details ? { token_details: details } : {};
  const body = meta.endpoint === 'chat'
    ? chunk(meta, { index, delta: { content: text }, finish_reason: null, ...(lps ? { logprobs: chatLogprobs(lps) } : {}), ...extra })
    : chunk(meta, { index, text, finish_reason: null, ...(lps ? { logprobs: completionLogprobs(lps, textOffset) } : {}), ...extra });
  if (usage) body.usage = usage;
  return body;
}

/** Chat only: complete tool calls, each with its index, id, type, name and whole arguments (OpenAI's delta.tool_calls). */
export function toolCallChunk(meta: ResponseMeta, index: number, calls: IndexedCall[]) {
  return chunk(meta, { index, delta: { tool_calls: calls }, finish_reason: null });
}

/** scores: the choice's sequence_scores, with token_details. */
export function finishChunk(meta: ResponseMeta, index: number, finishReason: ChoiceFinish | ReplyFinish, scores?: SequenceScores) {
  const extra = scores ? { sequence_scores: scores } : {};
  return meta.endpoint === 'chat'
    ? chunk(meta, { index, delta: {}, finish_reason: finishReason, ...extra })
    : chunk(meta, { index, text: '', finish_reason: finishReason, ...extra });
}

/** The last chunk before [DONE] when include_usage is set: no choices, the usage and speculation. */
export function usageChunk(meta: ResponseMeta, usage: Usage, speculation: SpeculationStats | undefined) {
  const object = meta.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return withSpeculation({ ...head(meta, object), choices: [], usage }, speculation);
}
