// Server test fixtures: one tiny llama per test process, engines (optionally spied or slowed), apps
// torn down with the test, and an SSE parser.
import { decodeAfter } from '../../model/detokenizer.ts';
import type { FastifyInstance } from 'fastify';
import { generate, type GenerateRequest, type GenerateResult } from '../../engine/generate.ts';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer, type Tokenizer } from '../../model/tokenizer.ts';
import { buildApp } from '../../server/app.ts';
import type { ServerConfig } from '../../server/config.ts';
import { createEngine, type Engine, type GenerateFn } from '../../server/engine.ts';
import { testModel } from '../helpers/models.ts';

export const MODEL_ID = 'test-llama';

export interface TestModel {
  runner: ModelRunner;
  tokenizer: Tokenizer;
}

let loaded: Promise<TestModel> | null = null;

/** The tiny llama's folder (2 layers, hidden 32, context 256), generated once per process. */
export function testModelDir(): string {
  return testModel('server-llama', { arch: 'llama', seed: 11, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 384, contextLength: 256 });
}

/** The tiny llama, loaded once per process. */
export function loadTestModel(): Promise<TestModel> {
  loaded ??= (async () => {
    const dir = testModelDir();
    const runner = await ModelRunner.load(dir, { threads: 1 });
    const tokenizer = await loadTokenizer(dir, runner.source.generationConfig);
    return { runner, tokenizer };
  })();
  return loaded;
}

export async function testEngine(opts: { generate?: GenerateFn; tokenizer?: Tokenizer } = {}): Promise<Engine> {
  const m = await loadTestModel();
  // The tokenizer thread builds the same tokenizer from the folder; a custom tokenizer stays on the event loop.
  const tokenizerPath = opts.tokenizer ? undefined : testModelDir();
  return createEngine({ runner: m.runner, tokenizer: opts.tokenizer ?? m.tokenizer, tokenizerPath, modelId: MODEL_ID, generate: opts.generate });
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function buildTestApp(t: Teardown, config: Partial<ServerConfig> = {}, engine?: Engine | Promise<Engine>): Promise<FastifyInstance> {
  const app = buildApp(config, { engine: engine ?? testEngine(), logger: false });
  t.teardown(() => app.close());
  await app.ready();
  return app;
}

/** Listens on 127.0.0.1:0 and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** The JSON payloads of an SSE body, with the final '[DONE]' kept as the string. */
export function parseSse(body: string): unknown[] {
  return body.split('\n\n').filter((f) => f.trim() !== '').map((frame) => {
    if (!frame.startsWith('data: ')) throw new Error(`not an SSE data frame: ${JSON.stringify(frame)}`);
    const data = frame.slice('data: '.length);
    return data === '[DONE]' ? data : JSON.parse(data);
  });
}

/** What a spied generation did. */
export interface GenerationRecord {
  req: GenerateRequest;
  forwards: number;
  result: GenerateResult | null;
  done: Promise<GenerateResult>;
}

/**
 * A generate() that counts each call's forwards and can slow them down (delayMs per forward),
 * so tests can watch a request stop stepping.
 */
export function spyGenerate(delayMs = 0): { generate: GenerateFn; records: GenerationRecord[] } {
  const records: GenerationRecord[] = [];
  const fn: GenerateFn = (runner, req, onTokens, resources) => {
    const rec = { req, forwards: 0, result: null } as GenerationRecord;
    const proxy = new Proxy(runner, {
      get(target, prop, receiver) {
        if (prop === 'forward') {
          return async (...args: Parameters<ModelRunner['forward']>) => {
            rec.forwards++;
            if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
            return target.forward(...args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    rec.done = generate(proxy, req, onTokens, resources).then((r) => (rec.result = r));
    records.push(rec);
    return rec.done;
  };
  return { generate: fn, records };
}

/** In-process greedy reference: the completion text and tokens for a prompt string. */
export async function greedyReference(prompt: string, maxTokens: number): Promise<{ text: string; tokens: number[] }> {
  const m = await loadTestModel();
  const promptTokens = m.tokenizer.encode(prompt);
  const res = await generate(m.runner, {
    promptTokens,
    maxTokens,
    sampling: { temperature: 0, topK: 0, topP: 1 },
    eosIds: m.tokenizer.eosIds.length ? m.tokenizer.eosIds : undefined,
  });
  // Decoded after the prompt, as the server does, so a first '▁word' keeps its space.
  return { text: decodeAfter(m.tokenizer, promptTokens, res.tokens), tokens: res.tokens };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** ms from connect to the socket's close. */
  closedAfterMs: number;
}

/**
 * A request written by hand on a raw socket (for what fetch cannot send: oversized headers, short or
 * trickled bodies). `drive` writes to the socket; resolves when the server closes it (or after limitMs).
 */
export function rawHttp(base: string, drive: (socket: import('node:net').Socket) => void, limitMs = 20_000): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return import('node:net').then((net) => new Promise<RawResponse>((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(Number(port), hostname, () => drive(socket));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${limitMs} ms; got ${JSON.stringify(data.slice(0, 200))}`));
    }, limitMs);
    socket.on('data', (b: Buffer) => (data += b.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const [head, ...rest] = data.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status, headers, body: rest.join('\r\n\r\n'), closedAfterMs: performance.now() - started });
    });
  }));
}
