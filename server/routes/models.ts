// GET /v1/models: the one model this server serves.
import type { FastifyInstance } from 'fastify';
import type { ServerState } from '../state.ts';

const modelSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string' },
    created: { type: 'integer' },
    owned_by: { type: 'string' },
    context_length: { type: 'integer' },
  },
} as const;

export function registerModels(app: FastifyInstance, state: ServerState): void {
  app.get('/v1/models', {
    schema: { response: { 200: { type: 'object', properties: { object: { type: 'string' }, data: { type: 'array', items: modelSchema } } } } },
  }, async () => {
    const engine = await state.getEngine();
    return {
      object: 'list',
      data: [{ id: engine.modelId, object: 'model', created: engine.created, owned_by: 'sprig', context_length: engine.contextLength }],
    };
  });
}
