// API key check (--api-key): `Authorization: Bearer <key>` on every route but /health, routes marked
// `config: { public: true }` (the playground's static files) and CORS preflights.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { errors } from '../common/errors.ts';

const OPEN_ROUTES = new Set(['/health']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the API key. */
    public?: boolean;
  }
}

export function registerApiKey(app: FastifyInstance, apiKey: string | null): void {
  if (!apiKey) return;
  const expected = Buffer.from(apiKey);
  app.addHook('onRequest', async (request) => {
    if (request.method === 'OPTIONS' || OPEN_ROUTES.has(request.routeOptions.url ?? '') || request.routeOptions.config?.public === true) return;
    const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw errors.unauthorized('Missing API key: send the header "Authorization: Bearer <key>"');
    const given = Buffer.from(match[1].trim());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw errors.unauthorized('Incorrect API key provided');
  });
}
