// What Node's HTTP server rejects before fastify sees a request ('clientError'): a request not fully
// received within --receive-timeout-ms (408), oversized headers (431), bytes that are not HTTP or a body
// cut short (400). Each is answered on the raw socket in OpenAI's error shape, then the socket is closed.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { errors, type SprigError } from '../common/errors.ts';
import { errorBody } from './error-handler.ts';

/** The catalogue error for a Node client error; null when there is no one to answer (connection reset). */
export function clientError(err: NodeJS.ErrnoException, receiveTimeoutMs: number): SprigError | null {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errors.receiveTimeout(`the request was not fully received within ${receiveTimeoutMs} ms (--receive-timeout-ms); the connection is closed`);
    case 'HPE_HEADER_OVERFLOW':
      return errors.headersTooLarge(`the request's headers are larger than this server accepts (${http.maxHeaderSize} bytes in all); send smaller headers`);
    case 'HPE_INVALID_EOF_STATE':
      return errors.malformedRequest('the request ended before its body was complete (fewer bytes than its Content-Length)');
    default:
      return errors.malformedRequest(`the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`);
  }
}

/** The response written on the socket: a status line, JSON headers, the OpenAI error body; the socket closes after. */
export function rawErrorResponse(e: SprigError): string {
  const body = JSON.stringify(errorBody(e));
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${e.statusCode} ${http.STATUS_CODES[e.statusCode] ?? 'Error'}\r\n${lines}\r\n${body}`;
}

/** fastify's clientErrorHandler option. */
export function clientErrorHandler(receiveTimeoutMs: number, log: () => FastifyBaseLogger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    const e = socket.destroyed ? null : clientError(err, receiveTimeoutMs);
    if (e === null) {
      socket.destroy();
      return;
    }
    log().info({ code: e.code, status: e.statusCode, nodeCode: err.code }, e.message);
    // Never write into a response that has already started (Node's own rule for clientError).
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) socket.end(rawErrorResponse(e));
    socket.destroySoon();
    // A client that never reads its answer must not hold the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  };
}
