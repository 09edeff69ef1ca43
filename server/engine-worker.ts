// Worker-thread entry (see server/engine-thread.ts): loads the engine (onnxruntime sessions, KV, drafters,
// batcher) with the server's LoadOptions and answers server/engine-protocol.ts messages with the same in-process
// Engine the server would otherwise hold. It NEVER tokenizes for the server and holds no HTTP state.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { ModelRunner } from '../model/runner.ts';
import { openEngine, type Engine } from './engine.ts';
import { toWireError, type EngineFacts, type FromWorker, type ToWorker, type WorkerStart } from './engine-protocol.ts';
import type { TokenLogprob } from '../engine/logprobs.ts';
import type { TokenDetail } from '../engine/token-details.ts';

const port = parentPort!;
const start = workerData as WorkerStart;
const send = (msg: FromWorker, transfer?: Transferable[]) => port.postMessage(msg, transfer as never);
// The worker's records go to the server's logger, which filters, redacts and writes them.
const log = pino({ level: start.logLevel }, { write: (line: string) => send({ type: 'log', line }) });

/** Target forwards run in this thread (what 'probe' reports). */
let forwards = 0;

function countForwards(runner: ModelRunner): void {
  const forward = runner.forward.bind(runner);
  const delayMs = start.testHooks?.forwardDelayMs ?? 0;
  runner.forward = (...args) => {
    forwards++;
    if (delayMs === 0) return forward(...args);
    return new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => forward(...args));
  };
}

const open = (): Promise<Engine> => openEngine({ ...start.load, log }, countForwards);

function serve(engine: Engine): void {
  const running = new Map<number, AbortController>();
  const prefixCaches = new Map<number, number>(); // the server's cache id → the engine's
  const reply = (id: number, work: Promise<FromWorker & { type: 'done' }>) =>
    work.then((msg) => send(msg), (e: unknown) => send({ type: 'error', id, error: toWireError(e) }));
  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'generate': {
        const ctl = new AbortController();
        running.set(msg.id, ctl);
        const { grammar, prefixCache, ...req } = msg.req;
        reply(msg.id, (async () => {
          try {
            const constraint = grammar && (await engine.compileConstraint(grammar));
            const cache = prefixCache === undefined ? undefined : prefixCaches.get(prefixCache);
            const out = new TokenBatcher((tokens, logprobs, details) => send({ type: 'tokens', id: msg.id, tokens, logprobs, details }));
            try {
              const result = await engine.generate({ ...req, constraint, prefixCache: cache, signal: ctl.signal }, (tokens, logprobs, details) => out.add(tokens, logprobs, details));
              return { type: 'done', id: msg.id, result };
            } finally {
              out.flush(); // every token is posted before 'done'
            }
          } finally {
            running.delete(msg.id);
          }
        })());
        return;
      }
      case 'cancel':
        running.get(msg.id)?.abort();
        return;
      case 'prompt-logprobs':
        reply(msg.id, engine.promptLogprobs(Array.from(msg.tokens), msg.k).then((result) => ({ type: 'done', id: msg.id, result })));
        return;
      case 'constraint':
        // Compiled here and cached (grammar/xgrammar.ts); the generate that follows finds it in the cache.
        reply(msg.id, engine.compileConstraint(msg.spec).then(() => ({ type: 'done', id: msg.id })));
        return;
      case 'verify-cost':
        reply(msg.id, engine.measureVerifyCost().then(() => ({ type: 'done', id: msg.id })));
        return;
      case 'prefix-cache':
        prefixCaches.set(msg.cacheId, engine.openPrefixCache(msg.budgetBytes));
        return;
      case 'probe':
        send({ type: 'done', id: msg.id, result: { threadId, forwards } });
        return;
      case 'dispose':
        // Saves drafter state (--recycling-state, --suffix-cache) and frees the sessions; the server then ends the thread.
        reply(msg.id, engine.dispose().then(() => ({ type: 'done', id: msg.id })));
        return;
      case 'crash':
        if (start.testHooks?.crash) setImmediate(() => { throw new Error('crash requested by a test'); });
        return;
    }
  });
}

/**
 * Emitted tokens gathered for at most TOKEN_FLUSH_MS before they cross to the server (the first at once): on a
 * model whose step takes a fraction of a millisecond, a message per step cost one client ~15% of its tokens/s
 * (stories260K); the server gathers streamed text for --stream-interval-ms (5) anyway.
 */
const TOKEN_FLUSH_MS = 2;

class TokenBatcher {
  private tokens: number[] = [];
  private logprobs: TokenLogprob[] | undefined;
  private details: TokenDetail[] | undefined;
  private last = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly post: (tokens: number[], logprobs?: TokenLogprob[], details?: TokenDetail[]) => void) {}

  add(tokens: number[], logprobs?: TokenLogprob[], details?: TokenDetail[]): void {
    this.tokens.push(...tokens);
    if (logprobs) (this.logprobs ??= []).push(...logprobs);
    if (details) (this.details ??= []).push(...details);
    const wait = this.last + TOKEN_FLUSH_MS - performance.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.tokens.length === 0) return;
    this.post(this.tokens, this.logprobs, this.details);
    this.tokens = [];
    this.logprobs = undefined;
    this.details = undefined;
    this.last = performance.now();
  }
}

open().then((engine) => {
  const facts: EngineFacts = {
    modelId: engine.modelId,
    created: engine.created,
    contextLength: engine.contextLength,
    vocabSize: engine.vocabSize,
    maxTreeTokens: engine.maxTreeTokens,
    hasDraftModel: engine.hasDraftModel,
    tokenizerPath: engine.tokenizerPath!,
    threadId,
  };
  serve(engine);
  send({ type: 'ready', facts });
}, (e: unknown) => send({ type: 'load-error', error: toWireError(e) }));
