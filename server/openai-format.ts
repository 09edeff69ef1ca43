// Builds OpenAI response bodies and stream chunks for both endpoints from a job's output.
// Shapes follow the OpenAI API; `speculation` is Sprig's extension, present when the engine reports it.
import { randomUUID } from 'node:crypto';
import type { SpeculationStats } from '../engine/stats.ts';
import type { ChoiceFinish, JobOutput, Usage } from './job.ts';

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

export function responseBody(meta: ResponseMeta, out: JobOutput) {
  const choices = meta.endpoint === 'chat'
    ? out.choices.map((c) => ({ index: c.index, message: { role: 'assistant', content: c.text }, logprobs: null, finish_reason: c.finishReason }))
    : out.choices.map((c) => ({ index: c.index, text: c.text, logprobs: null, finish_reason: c.finishReason }));
  const object = meta.endpoint === 'chat' ? 'chat.completion' : 'text_completion';
  return withSpeculation({ ...head(meta, object), choices, usage: out.usage }, out.speculation);
}

function chunk(meta: ResponseMeta, choice: Record<string, unknown>) {
  const object = meta.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const body: Record<string, unknown> = { ...head(meta, object), choices: [{ ...choice, logprobs: null }] };
  if (meta.includeUsage) body.usage = null;
  return body;
}

/** Chat only: the first chunk of each choice announces the assistant role. */
export function roleChunk(meta: ResponseMeta, index: number) {
  return chunk(meta, { index, delta: { role: 'assistant', content: '' }, finish_reason: null });
}

/** `usage`: the running counts, with stream_options.continuous_usage_stats. */
export function textChunk(meta: ResponseMeta, index: number, text: string, usage?: Usage) {
  const body = meta.endpoint === 'chat'
    ? chunk(meta, { index, delta: { content: text }, finish_reason: null })
    : chunk(meta, { index, text, finish_reason: null });
  if (usage) body.usage = usage;
  return body;
}

export function finishChunk(meta: ResponseMeta, index: number, finishReason: ChoiceFinish) {
  return meta.endpoint === 'chat'
    ? chunk(meta, { index, delta: {}, finish_reason: finishReason })
    : chunk(meta, { index, text: '', finish_reason: finishReason });
}

/** The last chunk before [DONE] when include_usage is set: no choices, the usage and speculation. */
export function usageChunk(meta: ResponseMeta, usage: Usage, speculation: SpeculationStats | undefined) {
  const object = meta.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return withSpeculation({ ...head(meta, object), choices: [], usage }, speculation);
}
