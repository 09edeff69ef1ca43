// The one error handler: every error becomes a catalogue SprigError and leaves as OpenAI's
// { error: { message, type, param, code } }. 5xx details are logged, NEVER sent to the client.
import type { FastifyError, FastifyInstance } from 'fastify';
import { errors, isSprigError, type SprigError } from '../common/errors.ts';
import { JSON_TYPE } from './json-body.ts';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** The envelope a client sees; a 500 says only that the server failed (503 and 504 say why: draining, cut off). */
export function errorBody(e: SprigError): ErrorBody {
  const message = e.statusCode === 500 ? 'internal server error' : e.message;
  return { error: { message, type: e.type, param: e.param, code: e.code } };
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Readable descriptions of the union-typed fields, for anyOf failures. */
const UNION_FORMS: Record<string, string> = {
  prompt: 'a string, an array of strings, an array of token ids, or an array of token id arrays',
  stop: 'a string or an array of non-empty strings',
  content: 'a string or an array of content parts',
  tool_choice: 'a string or an object',
};

/** '/messages/0/role' → 'messages[0].role'. */
function paramPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (extra) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** A size limit (maxItems, minItems) that failed in the one anyOf branch of the right type, e.g. 17 stop strings. */
function anyOfLimit(list: AjvError[], anyOf: AjvError): SprigError | null {
  const limit = list.find((x) => x.instancePath === anyOf.instancePath && (x.keyword === 'maxItems' || x.keyword === 'minItems'));
  if (!limit) return null;
  const param = paramPath(anyOf.instancePath);
  const n = Number(limit.params.limit);
  const bound = limit.keyword === 'maxItems' ? `at most ${n}` : `at least ${n}`;
  return errors.invalidParam(`Invalid value for '${param}': an array here may have ${bound} ${n === 1 ? 'entry' : 'entries'}`, param);
}

function validationError(list: AjvError[]): SprigError {
  const e = list.find((x) => x.keyword === 'anyOf') ?? list[0];
  if (e.keyword === 'anyOf') {
    const limited = anyOfLimit(list, e);
    if (limited) return limited;
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const param = paramPath(e.instancePath, String(e.params.additionalProperty));
      return errors.invalidParam(`Unrecognized request argument supplied: ${param}`, param);
    }
    case 'required': {
      const param = paramPath(e.instancePath, String(e.params.missingProperty));
      return errors.invalidParam(`Missing required parameter: '${param}'`, param);
    }
    case 'anyOf': {
      const param = paramPath(e.instancePath);
      const last = param.replace(/\[\d+\]$/, '').split('.').pop() ?? param;
      return errors.invalidParam(`Invalid value for '${param}': expected ${UNION_FORMS[last] ?? 'one of the allowed forms'}`, param);
    }
    case 'type': {
      const param = paramPath(e.instancePath);
      return errors.invalidParam(`Invalid type for '${param}': expected ${String(e.params.type).replace(',', ' or ')}`, param);
    }
    case 'enum': {
      const param = paramPath(e.instancePath);
      return errors.invalidParam(`Invalid value for '${param}': must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`, param);
    }
    default: {
      const param = paramPath(e.instancePath);
      return errors.invalidParam(`Invalid value for '${param || 'body'}': ${e.message ?? 'not allowed'}`, param || null);
    }
  }
}

/** Maps anything thrown in a request to a catalogue error. */
export function toSprigError(err: unknown): SprigError {
  if (isSprigError(err)) return err;
  const fe = err as Partial<FastifyError> & { validation?: AjvError[] };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) return validationError(fe.validation);
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return errors.bodyTooLarge(`request body is larger than the server's limit (${fe.message})`, null, { cause: err });
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return errors.unsupportedMediaType(`${fe.message}: send the body as ${JSON_TYPE}`, null, { cause: err });
  if (fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return errors.malformedRequest('the request body did not match its Content-Length', null, { cause: err });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return errors.invalidParam(fe.message ?? 'bad request', null, { cause: err });
  }
  return errors.internal('internal server error', null, { cause: err });
}

/** The methods a 405 may list in Allow (HEAD and OPTIONS come with GET and CORS). */
const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toSprigError(err);
    if (e.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: e.code, status: e.statusCode, param: e.param }, e.message);
    if (e.statusCode === 429 || e.statusCode === 503) reply.header('retry-after', '1');
    return reply.code(e.statusCode).send(errorBody(e));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = ROUTE_METHODS.filter((method) => app.hasRoute({ method, url: path }));
    if (allowed.length > 0) {
      const e = errors.methodNotAllowed(`${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`);
      return reply.code(405).header('allow', allowed.join(', ')).send(errorBody(e));
    }
    const e = errors.notFound(`no route ${request.method} ${path}`);
    return reply.code(404).send(errorBody(e));
  });
}
