// Over real sockets: a client that disconnects mid-stream stops its generation and frees its slot;
// 20 concurrent streaming clients get exactly their single-client greedy outputs; timeouts; one
// request's failure leaves the others intact.
import http from 'node:http';
import t from 'tap';
import { errors } from '../../common/errors.ts';
import { generate } from '../../engine/generate.ts';
import type { GenerateFn } from '../../server/engine.ts';
import { buildTestApp, greedyReference, listen, parseSse, sleep, spyGenerate, testEngine } from './helpers.ts';

/** Streams a request and returns the concatenated text deltas plus the finish reason. */
async function streamText(base: string, path: string, body: object): Promise<{ text: string; finish: string | null; usage: unknown }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const frames = parseSse(await res.text());
  if (frames[frames.length - 1] !== '[DONE]') throw new Error('no [DONE]');
  let text = '';
  let finish: string | null = null;
  let usage: unknown = null;
  for (const f of frames.slice(0, -1) as { choices: { text?: string; delta?: { content?: string }; finish_reason: string | null }[]; usage?: unknown }[]) {
    if (f.usage) usage = f.usage;
    for (const c of f.choices) {
      text += c.text ?? c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  return { text, finish, usage };
}

t.test('disconnect mid-stream: the engine stops stepping and the slot is freed', async (t) => {
  const spy = spyGenerate(5);
  const app = await buildTestApp(t, { maxConcurrent: 1 }, testEngine({ generate: spy.generate }));
  const base = new URL(await listen(app));
  const maxTokens = 200;
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: '/v1/completions', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let frames = 0;
      res.on('data', (buf: Buffer) => {
        frames += buf.toString().split('\n\n').length - 1;
        if (frames >= 5) {
          req.destroy();
          resolve();
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => (e.message.includes('socket hang up') || e.message.includes('aborted') ? undefined : reject(e)));
    req.end(JSON.stringify({ prompt: 'Once upon a time', max_tokens: maxTokens, temperature: 0, stream: true }));
  });
  const rec = spy.records[0];
  const result = await rec.done;
  t.equal(result.finishReason, 'cancelled', 'the generation was cancelled');
  t.ok(result.tokens.length < maxTokens / 2, `stopped early (${result.tokens.length} of ${maxTokens} tokens)`);
  const forwards = rec.forwards;
  await sleep(60);
  t.equal(rec.forwards, forwards, 'no more forwards after cancellation');
  t.equal(app.sprig.scheduler.running, 0, 'slot freed');
  t.equal(app.sprig.active.size, 0);
  const next = await streamText(base.origin, '/v1/completions', { prompt: 'next', max_tokens: 3, temperature: 0 });
  t.equal(next.finish, 'length', 'the freed slot serves the next request');
});

t.test('20 concurrent streaming clients each get their single-client greedy output', async (t) => {
  const app = await buildTestApp(t, { maxConcurrent: 8, maxQueue: 32 });
  const base = await listen(app);
  const prompts = Array.from({ length: 20 }, (_, i) => `Story number ${i} begins`);
  const refs = [];
  for (const p of prompts) refs.push(await greedyReference(p, 32));
  const outs = await Promise.all(prompts.map((prompt, i) => (i % 2
    ? streamText(base, '/v1/completions', { prompt, max_tokens: 32, temperature: 0, stream_options: { include_usage: true } })
    : streamText(base, '/v1/completions', { prompt, max_tokens: 32, temperature: 0 }))));
  for (let i = 0; i < prompts.length; i++) {
    t.equal(outs[i].text, refs[i].text, `client ${i}`);
    t.equal(outs[i].finish, refs[i].tokens.length === 32 ? 'length' : 'stop');
    if (i % 2) t.match(outs[i].usage, { completion_tokens: refs[i].tokens.length });
  }
  t.equal(app.sprig.scheduler.running, 0);
  t.equal(app.sprig.scheduler.waiting, 0);
});

t.test('one request failing leaves concurrent requests intact', async (t) => {
  const flaky: GenerateFn = (runner, req, onTokens) => (req.promptTokens.length > 12
    ? Promise.reject(errors.internal('this one breaks'))
    : generate(runner, req, onTokens));
  const app = await buildTestApp(t, {}, testEngine({ generate: flaky }));
  const base = await listen(app);
  const good = ['a cat', 'a dog', 'a bird'];
  const refs = await Promise.all(good.map((p) => greedyReference(p, 16)));
  const bad = fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'word '.repeat(20), max_tokens: 16 }) });
  const outs = await Promise.all(good.map((prompt) => streamText(base, '/v1/completions', { prompt, max_tokens: 16, temperature: 0 })));
  t.equal((await bad).status, 500);
  t.same(outs.map((o) => o.text), refs.map((r) => r.text));
});

t.test('request timeout: a running stream ends with an error event naming the time budget, then [DONE]; never finish_reason length', async (t) => {
  const spy = spyGenerate(5);
  const app = await buildTestApp(t, { requestTimeoutMs: 150 }, testEngine({ generate: spy.generate }));
  const base = await listen(app);
  const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true }) });
  t.equal(res.status, 200);
  const frames = parseSse(await res.text());
  t.equal(frames[frames.length - 1], '[DONE]');
  t.match(frames[frames.length - 2], { error: { code: 'SPRIG_ERR_TIMEOUT', type: 'server_error', message: /150 ms.*--request-timeout-ms/ } });
  const finishes = (frames.slice(0, -2) as { choices: { finish_reason: string | null }[] }[]).flatMap((f) => f.choices.map((c) => c.finish_reason));
  t.same(finishes.filter((f) => f !== null), [], 'no finish_reason');
  const result = await spy.records[0].done;
  t.equal(result.finishReason, 'cancelled');
  t.ok(result.tokens.length < 100, `cut off after ${result.tokens.length} tokens`);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /sprig_requests_cut_total\{cause="timeout"\} 1/);
});

t.test('request timeout, not streamed: 504 with nothing else sent', async (t) => {
  const spy = spyGenerate(5);
  const app = await buildTestApp(t, { requestTimeoutMs: 150 }, testEngine({ generate: spy.generate }));
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Once upon a time', max_tokens: 200, temperature: 0 } });
  t.equal(res.statusCode, 504);
  t.match(res.json(), { error: { code: 'SPRIG_ERR_TIMEOUT', type: 'server_error', param: null, message: /150 ms.*--request-timeout-ms/ } });
  t.equal((await spy.records[0].done).finishReason, 'cancelled');
});

t.test('request timeout while queued: 504 that says it waited for a slot', async (t) => {
  // Each forward takes 400 ms, so the running request holds its slot past the queued one's deadline.
  const spy = spyGenerate(400);
  const app = await buildTestApp(t, { requestTimeoutMs: 100, maxConcurrent: 1 }, testEngine({ generate: spy.generate }));
  const first = app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Once upon a time', max_tokens: 200, temperature: 0 } });
  while (spy.records.length < 1) await sleep(2);
  const second = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'b', max_tokens: 2 } });
  t.equal(second.statusCode, 504);
  t.match(second.json(), { error: { code: 'SPRIG_ERR_TIMEOUT', message: /100 ms.*waiting for a generation slot/ } });
  t.equal((await first).statusCode, 504, 'the running one is cut too');
});
