// Request bodies: only application/json is read (415 otherwise, before a byte of the body is read), and
// JSON errors say what is wrong: empty, not JSON (with the parser's reason), or a prototype-changing key.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../common/errors.ts';

export const JSON_TYPE = 'application/json';

/** The media type of a Content-Type header, lower-cased, without parameters; null when absent or blank. */
function mediaType(header: string | undefined): string | null {
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  return type === '' ? null : type;
}

/** 415 unless the request is application/json. Only for routes that read a body. */
export function checkJsonContentType(request: FastifyRequest): void {
  const type = mediaType(request.headers['content-type']);
  if (type === JSON_TYPE) return;
  if (type === null) throw errors.unsupportedMediaType(`the request has no Content-Type; send the body as ${JSON_TYPE}`);
  throw errors.unsupportedMediaType(`Content-Type ${JSON.stringify(type)} is not accepted; send the body as ${JSON_TYPE}`);
}

/**
 * JSON.parse, but a "__proto__" key, or a "constructor" key holding a "prototype" (what secure-json-parse
 * refuses), is a 400 naming that key. The reviver only runs when the text could hold such a key.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw errors.malformedRequest(`the request body is empty; send a JSON object (Content-Type: ${JSON_TYPE})`);
  const suspicious = text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
  try {
    return suspicious ? JSON.parse(text, refusePrototypeKeys) : JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) throw errors.malformedRequest(`the request body is not valid JSON: ${e.message}`, null, { cause: e });
    throw e;
  }
}

function refusePrototypeKeys(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype'))) {
    throw errors.invalidParam(`the key "${key}" is not allowed in a request body (it could change object prototypes); remove it`, key);
  }
  return value;
}

/** Replaces fastify's body parsers (JSON via secure-json-parse, text/plain) with the one above. */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addHook('onRequest', async (request) => {
    if (request.method === 'POST' && !request.is404) checkJsonContentType(request);
  });
}
