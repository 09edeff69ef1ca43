// The shared tail of both generation routes: run a Job and answer with one JSON body or an SSE stream.
// A client that goes away cancels its job; an error after the headers arrives as an error chunk + [DONE].
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../common/errors.ts';
import { Job } from './job.ts';
import { errorBody, toSprigError } from './error-handler.ts';
import { finishChunk, newMeta, responseBody, roleChunk, textChunk, toolCallChunk, usageChunk, type Endpoint } from './openai-format.ts';
import type { GenerationPlan } from './params.ts';
import type { Prompt } from './prompts.ts';
import { SseStream } from './sse.ts';
import type { ServerState } from './state.ts';
import { ToolCallReader } from './tool-calls.ts';

export const drainingError = () => errors.draining('the server is shutting down and takes no new generations; retry on another instance');

export async function serveJob(
  state: ServerState,
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: Endpoint,
  prompts: Prompt[],
  plan: GenerationPlan,
  echo = false,
): Promise<unknown> {
  const ctx = await state.jobContext();
  // A request that arrived (or finished tokenizing) after shutdown began is refused, never started.
  if (state.draining) throw drainingError();
  const startMs = performance.now() - reply.elapsedTime;
  // Admission happens here, before any header is sent, so a full queue is still a plain 429.
  const job = new Job(ctx, prompts, plan, { echo, startMs, log: request.log });
  const onClose = () => {
    if (!reply.raw.writableFinished) job.cancel('disconnect');
  };
  reply.raw.on('close', onClose);
  const meta = newMeta(endpoint, ctx.engine.modelId, plan.includeUsage);
  // Chat with tools (and a tool_choice other than none): the reply is read for calls.
  const toolFormat = endpoint === 'chat' && plan.tools?.parse ? plan.tools.format : undefined;
  try {
    if (!plan.stream) return responseBody(meta, await job.run(), toolFormat);

    const sse = new SseStream(reply);
    if (endpoint === 'chat') for (let i = 0; i < prompts.length * plan.n; i++) sse.send(roleChunk(meta, i));
    try {
      const offsets = new Map<number, number>(); // choice → characters streamed so far (for text_offset)
      const readers = new Map<number, ToolCallReader>();
      const reader = (index: number) => {
        let r = readers.get(index);
        if (!r && toolFormat) readers.set(index, (r = new ToolCallReader(toolFormat)));
        return r;
      };
      const out = await job.run({
        onText: (index, text, completion, prompt, lps, details) => {
          const usage = plan.continuousUsage ? { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } : undefined;
          const at = offsets.get(index) ?? 0;
          offsets.set(index, at + text.length);
          const r = reader(index);
          if (!r) return sse.send(textChunk(meta, index, text, usage, lps, at, details));
          // Content that may start a call is held back; this piece's logprobs and details ride on its first chunk.
          let extras = lps?.length || details?.length ? { lps, details } : null;
          for (const e of r.push(text)) {
            if ('call' in e) sse.send(toolCallChunk(meta, index, [e.call]));
            else {
              sse.send(textChunk(meta, index, e.content, usage, extras?.lps, at, extras?.details));
              extras = null;
            }
          }
          if (extras) sse.send(textChunk(meta, index, '', usage, extras.lps, at, extras.details));
        },
        onFinish: (index, reason, scores) => {
          const r = reader(index);
          for (const e of r?.finish() ?? []) sse.send('call' in e ? toolCallChunk(meta, index, [e.call]) : textChunk(meta, index, e.content));
          sse.send(finishChunk(meta, index, r ? r.finishReason(reason) : reason, scores));
        },
      });
      if (plan.includeUsage) sse.send(usageChunk(meta, out.usage, out.speculation));
    } catch (err) {
      const e = toSprigError(err);
      if (e.statusCode >= 500) request.log.error({ err }, 'stream failed');
      else request.log.info({ code: e.code }, e.message);
      sse.send(errorBody(e));
    }
    sse.end();
    return reply;
  } finally {
    reply.raw.off('close', onClose);
  }
}
