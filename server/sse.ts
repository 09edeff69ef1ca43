// Server-sent events over a hijacked reply: `data: <json>\n\n` frames, then `data: [DONE]`.
// Writes after the client has gone are dropped silently; this module NEVER throws at the caller.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export class SseStream {
  private readonly raw: ServerResponse;

  /** Takes over the response and sends 200 with event-stream headers (plus any set on the reply, e.g. CORS). */
  constructor(reply: FastifyReply) {
    reply.hijack();
    this.raw = reply.raw;
    const headers = reply.getHeaders() as OutgoingHttpHeaders;
    this.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.raw.flushHeaders();
  }

  get closed(): boolean {
    return this.raw.destroyed || this.raw.writableEnded;
  }

  send(data: unknown): void {
    if (!this.closed) this.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends [DONE] and ends the response. */
  end(): void {
    if (this.closed) return;
    this.raw.write('data: [DONE]\n\n');
    this.raw.end();
  }
}
