// The engine in a worker thread (server/engine-worker.ts) behind the server's Engine interface. HTTP,
// tokenization, detokenization and SSE stay on this thread; every forward runs in the worker, so the event loop
// is never held by onnxruntime. A worker that dies fails every call in flight with SPRIG_ERR_ENGINE_STOPPED (500)
// and failure() says why from then on: there is no restart, /health reports it and the log says so once, loudly.
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { errors } from '../common/errors.ts';
import { logger as processLogger, type Logger } from '../common/log.ts';
import type { GenerateResult, OnTokens } from '../engine/generate.ts';
import type { TokenLogprob } from '../engine/logprobs.ts';
import { openModelSource } from '../model/source.ts';
import type { Engine, EngineOptions } from './engine.ts';
import { fromWireError, type EngineFacts, type EngineTestHooks, type EngineProbe, type FromWorker, type ToWorker, type WireRequest, type WorkerStart } from './engine-protocol.ts';
import { workerBootstrap } from './worker-bootstrap.ts';

export interface EngineThreadOptions extends EngineOptions {
  /** Tests only. */
  testHooks?: EngineTestHooks;
}

export interface EngineThread extends Engine {
  /** The worker's threadId: where the model runs. */
  readonly threadId: number;
  /** The worker's own account: its threadId and the target forwards it has run. */
  probe(): Promise<EngineProbe>;
  /** Tests only (started with testHooks.crash): the worker throws outside any handler and dies. */
  crash(): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: unknown): void;
  onTokens?: OnTokens;
}

/** Starts the worker, which loads the model; resolves once it is ready (rejects with the load's own error). */
export async function openEngineThread(opts: EngineThreadOptions): Promise<EngineThread> {
  const { log = processLogger, testHooks, ...load } = opts;
  const start: WorkerStart = { load, logLevel: log.level, testHooks };
  const worker = new Worker(workerBootstrap(new URL('./engine-worker.ts', import.meta.url)), { eval: true, workerData: start, name: 'sprig-engine' });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | null = null;
  let closing = false;
  let ready!: (facts: EngineFacts) => void;
  let loadFailed!: (e: unknown) => void;
  const loaded = new Promise<EngineFacts>((resolve, reject) => {
    ready = resolve;
    loadFailed = reject;
  });

  // Held (ref'd) only while something waits on it, so an idle engine never keeps the process alive.
  const settle = (id: number) => {
    const p = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    return p;
  };
  const call = <T>(msg: ToWorker & { id: number }, onTokens?: OnTokens): Promise<T> => {
    if (failure) return Promise.reject(failure);
    if (closing) return Promise.reject(errors.internal('the engine was disposed'));
    return new Promise<T>((resolve, reject) => {
      pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject, onTokens });
      worker.ref();
      worker.postMessage(msg);
    });
  };

  worker.on('message', (msg: FromWorker) => {
    switch (msg.type) {
      case 'ready': return ready(msg.facts);
      case 'load-error': return loadFailed(fromWireError(msg.error));
      case 'tokens': return pending.get(msg.id)?.onTokens?.(msg.tokens, msg.logprobs, msg.details);
      case 'done': return settle(msg.id)?.resolve(msg.result);
      case 'error': return settle(msg.id)?.reject(fromWireError(msg.error));
      case 'log': return relayLog(log, msg.line);
    }
  });
  const fail = (why: Error) => {
    if (failure || closing) return;
    failure = errors.engineStopped(`the engine thread stopped: ${why.message}`, null, { cause: why });
    loadFailed(failure);
    log.fatal({ err: why, inFlight: pending.size }, `ENGINE THREAD DIED (${why.message}): every request in flight failed with a 500, /health says failed; restart the server`);
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('messageerror', fail);
  worker.on('exit', (code) => fail(new Error(`it exited with code ${code}`)));

  let facts: EngineFacts;
  try {
    facts = await loaded;
  } catch (e) {
    closing = true;
    await worker.terminate();
    throw e;
  }
  worker.unref();
  const tokenizer = await openModelSource(facts.tokenizerPath).loadTokenizer();
  let prefixCaches = 0;

  return {
    modelId: facts.modelId,
    created: facts.created,
    contextLength: facts.contextLength,
    vocabSize: facts.vocabSize,
    maxTreeTokens: facts.maxTreeTokens,
    hasDraftModel: facts.hasDraftModel,
    tokenizer,
    tokenizerPath: facts.tokenizerPath,
    threadId: facts.threadId,
    generate: ({ signal, constraint, ...rest }, onTokens) => {
      const id = nextId++;
      const req: WireRequest = { ...rest, grammar: constraint?.spec };
      const onAbort = () => {
        if (pending.has(id)) worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      };
      const done = call<GenerateResult>({ type: 'generate', id, req }, onTokens);
      // The worker's generation stops at its next step and finishes as 'cancelled', as in-process.
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      return done.finally(() => signal?.removeEventListener('abort', onAbort));
    },
    promptLogprobs: (tokens, k) => call<(TokenLogprob | null)[]>({ type: 'prompt-logprobs', id: nextId++, tokens: Int32Array.from(tokens), k }),
    compileConstraint: async (spec) => {
      await call({ type: 'constraint', id: nextId++, spec });
      return { spec };
    },
    openPrefixCache: (budgetBytes) => {
      const cacheId = ++prefixCaches;
      worker.postMessage({ type: 'prefix-cache', cacheId, budgetBytes } satisfies ToWorker);
      return cacheId;
    },
    measureVerifyCost: () => call<void>({ type: 'verify-cost', id: nextId++ }),
    probe: () => call<EngineProbe>({ type: 'probe', id: nextId++ }),
    crash: () => worker.postMessage({ type: 'crash' } satisfies ToWorker),
    failure: () => failure,
    dispose: async () => {
      if (closing) return;
      // Saves the drafters' state files in the worker first; a dead worker has nothing left to save.
      if (!failure) await call({ type: 'dispose', id: nextId++ }).catch((e: unknown) => log.error({ err: e }, 'engine dispose failed'));
      closing = true;
      await worker.terminate();
      const closed = errors.internal('the engine was disposed');
      for (const p of pending.values()) p.reject(closed);
      pending.clear();
    },
  };
}

/** A pino line from the worker, written through the server's logger (its level, redaction and destination). */
function relayLog(log: Logger, line: string): void {
  const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line) as Record<string, unknown>;
  const label = (pino.levels.labels[level as number] ?? 'info') as pino.Level;
  log[label](fields, typeof msg === 'string' ? msg : '');
}
