// Standalone start-up: listen first (so /health can say 503 while the model loads), load the engine,
// then serve until shutdown(), which drains running requests before closing. Bad flags fail here, once.
import type { FastifyInstance } from 'fastify';
import { errors } from '../common/errors.ts';
import { logger as processLogger, type Logger } from '../common/log.ts';
import { parseDrafters } from '../drafters/registry.ts';
import { layerskipSetting } from '../engine/layerskip-layers.ts';
import { DEFAULT_STATE_SAVE_INTERVAL_S } from '../engine/state-saver.ts';
import { buildApp } from './app.ts';
import { resolveServerConfig, type ServerConfig } from './config.ts';
import { openEngine, type Engine } from './engine.ts';
import { openEngineThread } from './engine-thread.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';

export interface ServeOptions extends Partial<ServerConfig> {
  /** Checkpoint folder; undefined = the embedded default model. */
  model?: string;
  /** Draft checkpoint for the `draft` drafter (same vocabulary as the model). */
  draft?: string;
  /** Token datastore file for the `retrieval` drafter. */
  datastore?: string;
  /** Token Recycling matrix file (loaded at start, saved at shutdown). */
  recyclingState?: string;
  /** The suffix drafter's cache of earlier outputs (loaded at start, saved at shutdown) and its bound. */
  suffixCache?: string;
  suffixCacheRequests?: number;
  /**
   * --state-save-interval (in ms here): also save those two files this often while serving, when changed, so a
   * crash loses at most one interval of learned state (default 300 s; 0 = only at shutdown).
   */
  stateSaveIntervalMs?: number;
  /** --layerskip-layers: the layerskip drafter's K (default: measured at startup when --drafters names it). */
  layerskipLayers?: number;
  /** onnxruntime intra-op threads; 0 = onnxruntime chooses. */
  threads?: number;
  /** --quantize / --draft-quantize: how float weights are stored in the graph. */
  quantize?: QuantizeMode;
  draftQuantize?: QuantizeMode;
  /** --ctx-size: context window (0 = the model's own, capped). */
  ctxSize?: number;
  /** --engine-thread: run the engine in a worker thread (default), or on the event loop (false: for debugging). */
  engineThread?: boolean;
  /** --batch-speculation: shared steps draft too, sized across the batch (engine/batcher.ts allocateBatch). */
  batchSpeculation?: boolean;
}

export interface StartDeps {
  log?: Logger;
  /** Replaces loading opts.model (tests). */
  engine?: Promise<Engine>;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  engine: Engine;
  /** Stops taking requests, lets running ones finish (up to drainTimeoutMs), then frees the model. */
  shutdown(): Promise<void>;
}

export async function startServer(opts: ServeOptions, deps: StartDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? processLogger;
  const config = resolveServerConfig(opts);
  const drafters = parseDrafters(config.drafters, '--drafters');
  if (drafters.includes('draft') && !opts.draft) throw errors.invalidParam('--drafters draft needs --draft PATH', 'draft');
  const engineThread = opts.engineThread ?? true;
  const batchSpeculation = opts.batchSpeculation ?? true;
  const loadOptions = { model: opts.model, draft: opts.draft, quantize: opts.quantize, draftQuantize: opts.draftQuantize, ctxSize: opts.ctxSize, datastore: opts.datastore, recyclingState: opts.recyclingState, suffixCache: opts.suffixCache, suffixCacheRequests: opts.suffixCacheRequests, stateSaveIntervalMs: opts.stateSaveIntervalMs ?? DEFAULT_STATE_SAVE_INTERVAL_S * 1000, layerskip: layerskipSetting(drafters, opts.layerskipLayers), threads: opts.threads, batch: { maxBatchTokens: config.maxBatchTokens, speculateShared: batchSpeculation, slots: config.maxConcurrent }, log: log.child({ component: 'engine' }) };
  const loading = deps.engine ?? (engineThread ? openEngineThread(loadOptions) : openEngine(loadOptions));
  const app = buildApp(config, { engine: loading, logger: log });
  let url: string;
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    await loading.then((engine) => engine.dispose(), () => {});
    throw e;
  }
  log.info({ url }, `sprig listening on ${url}`);
  if (config.host !== '127.0.0.1' && config.host !== 'localhost' && !config.apiKey) log.warn({ host: config.host }, 'listening beyond localhost without --api-key');
  if (config.corsOrigins.includes('*') && !config.apiKey) log.warn('--cors * without --api-key: any web page can use this server');
  let engine: Engine;
  try {
    engine = await loading;
    // The 'auto' tree budget needs this machine's verify-cost curve: measure it before /health says ready.
    if (drafters.length > 0 && config.treeBudget === 'auto') await engine.measureVerifyCost();
    // NOTE: the batched graph (a second session: a second copy of the weights) opens at the first step that two
    // generations share, not here, so a server that never sees concurrent requests never pays its memory.
  } catch (e) {
    await app.close();
    throw e;
  }
  const encoder = await app.sprig.getEncoder();
  encoder.warm();
  log.info({ maxTokenBytes: encoder.bound.maxTokenBytes, tokenizerThread: encoder.threaded }, 'prompt bound ready');
  log.info({ model: engine.modelId, engineThread: deps.engine ? undefined : engineThread, contextLength: engine.contextLength, drafters: drafters.length ? drafters : ['none'], maxConcurrent: config.maxConcurrent, maxBatchTokens: config.maxBatchTokens, batchSpeculation, maxQueue: config.maxQueue }, 'model ready');

  let closing: Promise<void> | null = null;
  const shutdown = () => (closing ??= (async () => {
    const state = app.sprig;
    // Draining: the listener stays open so /health can say so and new generations get a 503 with
    // Retry-After; running ones finish, or are cut (503 / an error event) at the drain timeout.
    state.draining = true;
    log.info({ running: state.scheduler.running, waiting: state.scheduler.waiting, drainTimeoutMs: config.drainTimeoutMs }, 'draining');
    const timer = setTimeout(() => {
      log.warn({ running: state.active.size }, 'drain timeout: cutting off running requests');
      state.cancelAll('shutdown');
    }, config.drainTimeoutMs);
    try {
      await state.whenIdle();
      clearTimeout(timer);
      // close() drops the connections idle at that moment; keep-alive ones whose response ends later
      // would hold it open until the client lets go, so sweep them as they go idle.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    } finally {
      clearTimeout(timer);
      await engine.dispose();
    }
    log.info('stopped');
  })());
  return { app, url, engine, shutdown };
}
