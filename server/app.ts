// buildApp(config, deps): the fastify app with every route, hook and the one error handler. No listen here
// (server/main.ts does that), so tests drive it through inject() or their own port.
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { logger as processLogger } from '../common/log.ts';
import { registerApiKey } from './auth.ts';
import { clientErrorHandler } from './client-errors.ts';
import { resolveServerConfig, type ServerConfig } from './config.ts';
import type { Engine } from './engine.ts';
import { errors } from '../common/errors.ts';
import { errorBody, registerErrorHandler } from './error-handler.ts';
import { registerJsonBody } from './json-body.ts';
import { Metrics } from './metrics.ts';
import { SpecLog } from './spec-log.ts';
import { registerChatCompletions } from './routes/chat-completions.ts';
import { registerCompletions } from './routes/completions.ts';
import { registerHealth } from './routes/health.ts';
import { registerModels } from './routes/models.ts';
import { registerUi } from './routes/ui.ts';
import { Scheduler } from './scheduler.ts';
import { drainingError } from './serve-job.ts';
import { ServerState } from './state.ts';

export interface AppDeps {
  /** The loaded engine, or its load in progress (/health answers 503 until it resolves). */
  engine: Engine | Promise<Engine>;
  /** Defaults to the process logger; false for none. */
  logger?: FastifyBaseLogger | false;
  registry?: Registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    sprig: ServerState;
  }
}

export function buildApp(config: Partial<ServerConfig>, deps: AppDeps): FastifyInstance {
  const cfg = resolveServerConfig(config);
  const log = deps.logger === undefined ? processLogger : deps.logger;
  const receiveMs = cfg.receiveTimeoutMs;
  const app: FastifyInstance = Fastify({
    ...(log === false ? { logger: false } : { loggerInstance: log }),
    bodyLimit: cfg.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    // --receive-timeout-ms: Node's requestTimeout covers headers and body; its check runs every
    // connectionsCheckingInterval, so that interval is a fraction of the timeout (408s come on time).
    requestTimeout: receiveMs,
    http: { requestTimeout: receiveMs, headersTimeout: receiveMs, connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(receiveMs / 8))) },
    clientErrorHandler: clientErrorHandler(receiveMs, () => app.log),
    // Draining is answered by the routes (503 in OpenAI's shape), not by fastify's own 503.
    return503OnClosing: false,
    // A path that is not valid percent-encoding never reaches a route: answer it in OpenAI's shape too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const e = errors.malformedRequest(`the request is not valid: ${error.message}`, null, { cause: error });
      return reply.code(e.statusCode).send(errorBody(e));
    },
  }) as unknown as FastifyInstance;

  const scheduler = new Scheduler(cfg.maxConcurrent, cfg.maxQueue);
  const metrics = new Metrics(scheduler, deps.registry);
  const specLog = new SpecLog(app.log.child({ component: 'speculation' }));
  metrics.specLog = specLog;
  app.addHook('onClose', async () => specLog.stop());
  const state = new ServerState(cfg, scheduler, metrics, deps.engine, app.log);
  app.decorate('sprig', state);
  app.addHook('onClose', async () => state.close());
  if (cfg.maxConnections > 0) {
    app.server.maxConnections = cfg.maxConnections;
    app.server.on('drop', () => metrics.connectionsDropped.inc());
  }

  if (cfg.corsOrigins.length > 0) {
    app.register(cors, {
      origin: cfg.corsOrigins.includes('*') ? '*' : cfg.corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      exposedHeaders: ['x-request-id', 'retry-after'],
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ endpoint: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  registerApiKey(app, cfg.apiKey);
  app.addHook('onRequest', async (request, reply) => {
    if (!state.draining) return;
    reply.header('connection', 'close'); // let clients reconnect to another instance
    if (request.method === 'POST' && !request.is404) throw drainingError();
  });
  registerJsonBody(app);
  registerErrorHandler(app);
  registerHealth(app, state);
  registerModels(app, state);
  registerCompletions(app, state);
  registerChatCompletions(app, state);
  if (cfg.ui) registerUi(app);
  return app;
}
