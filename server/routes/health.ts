// GET /health: 503 while the model loads, the server drains or the engine has failed (so a load balancer can
// tell each from dead), 200 once it can serve. Never behind the API key.
// GET /metrics: Prometheus text from the app's registry.
import type { FastifyInstance } from 'fastify';
import type { ServerState } from '../state.ts';

const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

export function registerHealth(app: FastifyInstance, state: ServerState): void {
  app.get('/health', { schema: { response: { 200: statusSchema, 503: statusSchema } } }, async (_request, reply) => {
    if (state.draining) return reply.code(503).header('retry-after', '1').send({ status: 'draining' });
    if (state.engine === null) return reply.code(503).send({ status: 'loading' });
    // The engine's thread stopped (crash, out of memory): nothing can generate; the log says why.
    if (state.engine.failure()) return reply.code(503).send({ status: 'failed' });
    return { status: 'ok' };
  });

  app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    const registry = state.metrics.registry;
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
