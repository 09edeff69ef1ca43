// The engine in a worker thread (server/engine-thread.ts) through startServer over HTTP: greedy text equals the
// in-process engine's for several drafters, plain and streamed, alone and 8 at once; a client that goes away
// frees its sequence; worker errors arrive as the same 400 body; a worker that dies fails what is in flight with
// a 500 and /health stops saying ready; the forwards run in the worker's thread.
import { threadId } from 'node:worker_threads';
import t from 'tap';
import { logger } from '../../common/log.ts';
import type { Engine } from '../../server/engine.ts';
import { openEngineThread, type EngineThread, type EngineThreadOptions } from '../../server/engine-thread.ts';
import { startServer, type RunningServer, type ServeOptions } from '../../server/main.ts';
import { greedyReference, parseSse, sleep, testModelDir } from './helpers.ts';

const silent = logger.child({}, { level: 'silent' });
const GREEDY = { temperature: 0 };

interface Completion {
  choices: { text: string; finish_reason: string }[];
  usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } };
  speculation?: { steps: number; accepted: number };
}

async function serve(t: { teardown(fn: () => unknown): void }, opts: ServeOptions, engine?: Promise<Engine>): Promise<RunningServer> {
  const server = await startServer({ model: testModelDir(), port: 0, threads: 1, ...opts }, { log: silent, engine });
  t.teardown(() => server.shutdown());
  return server;
}

/** A worker engine on the test model with test hooks (passed to startServer as its engine). */
function hookedEngine(hooks: EngineThreadOptions['testHooks']): Promise<EngineThread> {
  return openEngineThread({ model: testModelDir(), threads: 1, log: silent, testHooks: hooks });
}

const post = (url: string, body: object, signal?: AbortSignal) =>
  fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

async function complete(url: string, body: object): Promise<Completion> {
  const res = await post(url, body);
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as Completion;
}

async function streamText(url: string, body: object): Promise<string> {
  const res = await post(url, { ...body, stream: true });
  const frames = parseSse(await res.text());
  if (frames[frames.length - 1] !== '[DONE]') throw new Error('no [DONE]');
  return (frames.slice(0, -1) as { choices: { text: string }[] }[]).map((f) => f.choices[0]?.text ?? '').join('');
}

const PROMPTS = ['Once upon a time', 'The little dog', 'She opened the door and', 'In the garden there was', 'Tom said', 'A big red ball', 'The sun was', 'Lily and her mom'];

t.test('greedy text through the worker equals the in-process engine, plain and streamed, for several drafters', async (t) => {
  const on = await serve(t, { engineThread: true, drafters: ['none'] });
  const off = await serve(t, { engineThread: false, drafters: ['none'] });
  for (const drafters of [['none'], ['recycling', 'lookup'], ['suffix']]) {
    for (const prompt of PROMPTS.slice(0, 3)) {
      const body = { prompt, max_tokens: 40, ...GREEDY, speculation: drafters[0] === 'none' ? { enabled: false } : { drafters } };
      const ref = await complete(off.url, body);
      const got = await complete(on.url, body);
      t.equal(got.choices[0].text, ref.choices[0].text, `${drafters.join('+')} plain: ${JSON.stringify(prompt)}`);
      t.equal(await streamText(on.url, body), ref.choices[0].text, `${drafters.join('+')} streamed`);
      if (drafters[0] !== 'none') t.ok(got.speculation && got.speculation.steps > 0, 'speculation stats cross the boundary');
    }
  }
  t.equal((await greedyReference(PROMPTS[0], 40)).text, (await complete(on.url, { prompt: PROMPTS[0], max_tokens: 40, ...GREEDY })).choices[0].text, 'equals plain decoding');
});

t.test('stop strings through the worker (tokens cross in batches) end the text and usage where in-process does', async (t) => {
  const on = await serve(t, { engineThread: true, drafters: ['none'] });
  const off = await serve(t, { engineThread: false, drafters: ['none'] });
  for (const prompt of PROMPTS.slice(0, 4)) {
    const full = (await complete(off.url, { prompt, max_tokens: 40, ...GREEDY })).choices[0].text;
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    if (stop.trim().length === 0) continue;
    const body = { prompt, max_tokens: 40, ...GREEDY, stop: [stop] };
    const ref = await complete(off.url, body);
    const got = await complete(on.url, body);
    t.equal(got.choices[0].text, ref.choices[0].text, `cut before ${JSON.stringify(stop)}`);
    t.same(got.usage, ref.usage, 'same usage');
    t.equal(await streamText(on.url, body), ref.choices[0].text, 'streamed');
  }
});

t.test('8 concurrent greedy streams through the worker equal their single-client outputs', async (t) => {
  const server = await serve(t, { engineThread: true, drafters: ['recycling', 'lookup'], treeBudget: 8 });
  const alone: string[] = [];
  for (const prompt of PROMPTS) alone.push((await complete(server.url, { prompt, max_tokens: 48, ...GREEDY })).choices[0].text);
  const together = await Promise.all(PROMPTS.map((prompt) => streamText(server.url, { prompt, max_tokens: 48, ...GREEDY })));
  t.same(together, alone);
  t.equal(server.app.sprig.scheduler.running, 0);
});

t.test('--batch-speculation on: 8 concurrent greedy auto-budget streams (shared steps drafting, sized across the batch) equal their single-client outputs', async (t) => {
  const server = await serve(t, { engineThread: true, drafters: ['recycling', 'lookup'], treeBudget: 'auto', batchSpeculation: true });
  const alone: string[] = [];
  for (const prompt of PROMPTS) alone.push((await complete(server.url, { prompt, max_tokens: 48, ...GREEDY })).choices[0].text);
  const together = await Promise.all(PROMPTS.map((prompt) => streamText(server.url, { prompt, max_tokens: 48, ...GREEDY })));
  t.same(together, alone);
});

t.test('a client that disconnects mid-stream frees its sequence at the next step; the others are unchanged', async (t) => {
  const engine = await hookedEngine({ forwardDelayMs: 15 });
  const server = await serve(t, { drafters: ['none'] }, Promise.resolve(engine));
  const body = { prompt: PROMPTS[1], max_tokens: 32, ...GREEDY };
  const ref = (await complete(server.url, body)).choices[0].text;
  const before = (await engine.probe()).forwards;

  const ctl = new AbortController();
  const leaving = await post(server.url, { prompt: PROMPTS[0], max_tokens: 200, ...GREEDY, stream: true }, ctl.signal);
  const other = streamText(server.url, body);
  const reader = leaving.body!.getReader();
  await reader.read(); // the first chunk: it is generating
  ctl.abort();
  t.equal(await other, ref, 'the other stream is unchanged');
  while (server.app.sprig.scheduler.running > 0) await sleep(5);
  t.equal(server.app.sprig.active.size, 0);
  const forwards = (await engine.probe()).forwards - before;
  // The other request took ~33 forwards; the one that left would have taken 200 more.
  t.ok(forwards < 150, `the worker stopped the gone client's generation (${forwards} forwards in all)`);
});

t.test('errors thrown inside the worker arrive as the same 400 body as in-process', async (t) => {
  const on = await serve(t, { engineThread: true, drafters: ['lookup'], treeBudget: 9999 });
  const off = await serve(t, { engineThread: false, drafters: ['lookup'], treeBudget: 9999 });
  const cases = [
    { prompt: 'Once upon a time', max_tokens: 16, ...GREEDY }, // the tree budget is over the runner's limit: the engine says so
    { prompt: 'Once upon a time', max_tokens: 100_000, ...GREEDY }, // over the context window
  ];
  for (const body of cases) {
    const a = await post(on.url, body);
    const b = await post(off.url, body);
    t.equal(a.status, 400);
    t.equal(a.status, b.status);
    t.same(await a.json(), await b.json(), `same body: ${body.max_tokens}`);
  }
  const engine = on.engine as EngineThread;
  await t.rejects(engine.generate({ promptTokens: [1, 2], maxTokens: 100_000, sampling: { temperature: 0, topK: 0, topP: 1 } }), { name: 'SprigError', code: 'SPRIG_ERR_CONTEXT_OVERFLOW', statusCode: 400, param: 'max_tokens' });
});

t.test('the worker dying fails requests in flight with a 500, /health stops saying ready, nothing hangs', async (t) => {
  const engine = await hookedEngine({ crash: true, forwardDelayMs: 15 });
  const server = await serve(t, { drafters: ['none'] }, Promise.resolve(engine));
  t.equal((await fetch(`${server.url}/health`)).status, 200);
  const plain = post(server.url, { prompt: PROMPTS[0], max_tokens: 200, ...GREEDY });
  const streamed = await post(server.url, { prompt: PROMPTS[1], max_tokens: 200, ...GREEDY, stream: true });
  const reader = streamed.body!.getReader();
  await reader.read();
  engine.crash();
  const res = await plain;
  t.equal(res.status, 500);
  t.match(await res.json(), { error: { code: 'SPRIG_ERR_ENGINE_STOPPED', type: 'server_error' } });
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  const frames = parseSse(rest.slice(rest.indexOf('data: ')));
  t.equal(frames[frames.length - 1], '[DONE]');
  t.match(frames[frames.length - 2], { error: { code: 'SPRIG_ERR_ENGINE_STOPPED' } }, 'the stream ends with an error event');
  const health = await fetch(`${server.url}/health`);
  t.equal(health.status, 503);
  t.same(await health.json(), { status: 'failed' });
  t.match(engine.failure(), { code: 'SPRIG_ERR_ENGINE_STOPPED', message: /crash requested by a test/ });
  t.equal((await post(server.url, { prompt: 'x', max_tokens: 4 })).status, 500, 'later requests fail at once');
  t.equal(server.app.sprig.scheduler.running, 0);
});

t.test('the forwards run in the worker thread, not on the event loop', async (t) => {
  const server = await serve(t, { engineThread: true, drafters: ['none'] });
  const engine = server.engine as EngineThread;
  const before = await engine.probe();
  t.not(engine.threadId, threadId, 'the engine has a thread of its own');
  t.equal(before.threadId, engine.threadId);
  await complete(server.url, { prompt: PROMPTS[0], max_tokens: 8, ...GREEDY });
  t.ok((await engine.probe()).forwards >= before.forwards + 8, 'the request\'s forwards ran there');
});

t.test('through the worker: metrics, cached_tokens, echo logprobs, structured output, timeouts', async (t) => {
  const server = await serve(t, { engineThread: true, drafters: ['recycling', 'lookup'], treeBudget: 8 });
  const system = 'You are a helpful assistant for the village library. Answer briefly and kindly, and never invent titles.';
  const first = await complete(server.url, { prompt: `${system} Q: owls?`, max_tokens: 8, ...GREEDY });
  const second = await complete(server.url, { prompt: `${system} Q: maps?`, max_tokens: 8, ...GREEDY });
  t.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  t.ok(second.usage.prompt_tokens_details.cached_tokens >= 16, `cached ${second.usage.prompt_tokens_details.cached_tokens} tokens`);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, new RegExp(`sprig_prefix_cache_hits_total ${second.usage.prompt_tokens_details.cached_tokens}\\n`));
  t.match(metrics, /sprig_spec_decode_num_drafts [1-9]/);
  t.match(metrics, /sprig_time_to_first_token_seconds_count 2\n/);
  t.match(metrics, /sprig_inter_token_latency_seconds_count [1-9]/);

  const echo = (await (await post(server.url, { prompt: 'Once upon a time', max_tokens: 0, echo: true, logprobs: 2 })).json()) as { choices: { logprobs: { token_logprobs: (number | null)[] } }[] };
  const lps = echo.choices[0].logprobs.token_logprobs;
  t.equal(lps[0], null);
  t.ok(lps.slice(1).every((x) => typeof x === 'number' && x <= 0), 'echoed prompt scored in the worker');

  const res = await post(server.url, { prompt: 'Data: ', max_tokens: 24, ...GREEDY, response_format: { type: 'json_object' } });
  t.equal(res.status, 200, 'a constraint compiled in the worker');
  const bad = await post(server.url, { prompt: 'x', max_tokens: 4, grammar: 'root ::= (' });
  t.equal(bad.status, 400, 'a bad grammar is a 400 from the worker');
});

t.test('through the worker: --request-timeout-ms cuts a running generation (504)', async (t) => {
  const engine = await hookedEngine({ forwardDelayMs: 15 });
  const server = await serve(t, { drafters: ['none'], requestTimeoutMs: 150 }, Promise.resolve(engine));
  const res = await post(server.url, { prompt: 'Once upon a time', max_tokens: 200, ...GREEDY });
  t.equal(res.status, 504);
  t.match(await res.json(), { error: { code: 'SPRIG_ERR_TIMEOUT' } });
  t.equal(server.app.sprig.scheduler.running, 0);
});

t.test('through the worker: --max-concurrent 1 --max-queue 0 answers a second request 429', async (t) => {
  const engine = await hookedEngine({ forwardDelayMs: 15 });
  const server = await serve(t, { drafters: ['none'], maxConcurrent: 1, maxQueue: 0 }, Promise.resolve(engine));
  const first = post(server.url, { prompt: PROMPTS[0], max_tokens: 30, ...GREEDY });
  while (server.app.sprig.scheduler.running < 1) await sleep(2);
  const second = await post(server.url, { prompt: PROMPTS[1], max_tokens: 4, ...GREEDY });
  t.equal(second.status, 429);
  t.equal((await first).status, 200);
});

t.test('through the worker: shutdown drains (a running stream finishes), then cuts at the drain timeout', async (t) => {
  const engine = await hookedEngine({ forwardDelayMs: 15 });
  const server = await serve(t, { drafters: ['none'], drainTimeoutMs: 300 }, Promise.resolve(engine));
  const short = await post(server.url, { prompt: PROMPTS[0], max_tokens: 8, ...GREEDY, stream: true });
  const long = await post(server.url, { prompt: PROMPTS[1], max_tokens: 200, ...GREEDY, stream: true });
  const shortFrames = short.text().then(parseSse);
  const longFrames = long.text().then(parseSse);
  await server.shutdown();
  const a = await shortFrames;
  t.match(a[a.length - 2], { choices: [{ finish_reason: 'length' }] }, 'the short stream finished in full');
  const b = await longFrames;
  t.equal(b[b.length - 1], '[DONE]');
  t.match(b[b.length - 2], { error: { code: 'SPRIG_ERR_SHUTDOWN' } }, 'the long one was cut at the drain timeout');
  t.equal(engine.failure(), null, 'the worker was disposed, not failed');
});
