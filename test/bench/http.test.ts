// HTTP mode: a concurrency sweep of streaming clients against a Sprig server started in the test, and the
// SSE client against a fake OpenAI-compatible server (per-chunk usage, several tokens per chunk, no usage).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { runBench } from '../../bench/bench.ts';
import { contextOverflowMessage, HttpError, normalizeBaseUrl, requestBody, sseData, streamRequest } from '../../bench/run-http.ts';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';
import { buildApp } from '../../server/app.ts';
import { createEngine } from '../../server/engine.ts';
import { testModel } from '../helpers/models.ts';

const MODEL = testModel('bench-http-llama', { arch: 'llama', seed: 6, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, contextLength: 512 });

function sink() {
  let text = '';
  return { write: (s: string) => ((text += s), true), isTTY: false, get text() { return text; } };
}

/** A Sprig server on the test model; a fixed tree budget: 'auto' sizes trees from timings, and these tests check plumbing. */
async function sprigServer(t: Test, maxConcurrent: number) {
  const runner = await ModelRunner.load(MODEL, { threads: 1 });
  const tokenizer = await loadTokenizer(MODEL, runner.source.generationConfig);
  const app = buildApp({ maxConcurrent, treeBudget: 8 }, { engine: createEngine({ runner, tokenizer, modelId: 'bench-test' }), logger: false });
  t.teardown(async () => {
    await app.close();
    await runner.dispose();
  });
  return { url: await app.listen({ host: '127.0.0.1', port: 0 }), tokenizer };
}

t.test('a concurrency sweep against a Sprig server started in the test', async (t) => {
  const { url } = await sprigServer(t, 4);
  const dir = t.testdir();
  const prompts = path.join(dir, 'p.jsonl');
  fs.writeFileSync(prompts, [
    { id: 'a', category: 'copy', format: 'text', turns: ['one two three one two three one two three one two'] },
    { id: 'b', category: 'copy', format: 'text', turns: ['x y z x y z x y'] },
    { id: 'c', category: 'chat', turns: ['Hello there.', 'And again?'] },
  ].map((r) => JSON.stringify(r)).join('\n'));
  const stderr = sink();
  const o = await runBench({
    baseUrl: `${url}/v1/`, endpoint: 'completions', drafters: ['lookup'], treeBudgets: [8], temperatures: [0], concurrency: [1, 3],
    suite: 'auto', prompts: [prompts], maxTokens: 16, repeats: 2, warmup: 1, seed: 0, threads: 1, out: path.join(dir, 'out'),
    runId: 'http-test', command: 'sprig bench --base-url (test)',
  }, { stdout: sink(), stderr });
  t.equal(o.exitCode, 0, stderr.text);
  t.equal(o.result.info.mode, 'http');
  t.equal(o.result.info.model.name, 'bench-test', 'the model id comes from /v1/models');
  t.equal(o.result.info.model.base_url, url);
  // 2 concurrency levels × 2 configs × 2 repeats × 4 turns.
  t.equal(o.result.samples.length, 32);
  for (const s of o.result.samples) {
    t.ok(s.numTokens >= 1 && s.numTokens <= 16, 'token count from usage');
    t.ok(s.block && s.block.wallMs > 0);
    t.ok(s.ttftMs !== null && s.ttftMs > 0 && s.ttftMs <= s.wallMs);
    t.ok(s.speculation, 'Sprig reports its speculation object');
  }
  const greedyNone = o.result.samples.filter((s) => s.config.startsWith('none|'));
  t.equal(greedyNone.length, 16);
  t.equal(o.result.mismatches.length, 0, 'greedy outputs agree across configs and concurrency');
  const all = o.result.summaries.filter((s) => s.category === 'all');
  t.same(all.map((s) => s.label), ['none c=1', 'lookup @8 c=1', 'none c=3', 'lookup @8 c=3']);
  for (const s of all) {
    t.ok(s.throughput_tokens_per_s && s.throughput_tokens_per_s.n === 2, 'one throughput per block');
    t.ok(s.speedup && s.speedup.median > 0);
    t.equal(s.peak_rss_mb, null, 'the server\'s memory is not ours to measure');
  }
  t.ok(all.find((s) => s.label === 'lookup @8 c=1')!.mean_accepted_length! > 1, 'accepted drafts come through from the server');
  const md = fs.readFileSync(path.join(o.outDir, 'summary.md'), 'utf8');
  t.match(md, /throughput tok\/s/);
  t.match(md, /speedup/);
  t.equal(all[1].time_split_ms!.prefill, null, 'the server\'s prefill time is unknown, not 0');
  t.ok(all[1].time_split_ms!.verify > 0);
});

/** A fake OpenAI-compatible server: scripted SSE frames per request, recording the bodies it got. */
async function fakeServer(t: Test, frames: (body: Record<string, unknown>) => string[]) {
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', async () => {
      if (req.url === '/v1/models') {
        res.end(JSON.stringify({ data: [{ id: 'fake' }] }));
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const f of frames(body)) {
        res.write(f);
        await new Promise((r) => setTimeout(r, 5));
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const data = (x: unknown) => `data: ${JSON.stringify(x)}\n\n`;

t.test('SSE client: per-chunk usage gives exact per-token gaps; tokens never come from chunk counts', async (t) => {
  const { url, bodies } = await fakeServer(t, (body) => {
    const usage = (n: number) => (body.stream_options as { continuous_usage_stats?: boolean }).continuous_usage_stats ? { completion_tokens: n } : null;
    return [
      data({ choices: [{ index: 0, text: 'Hel', finish_reason: null }], usage: usage(1) }),
      // Split across two writes on purpose: the parser must buffer partial events.
      'data: {"choices":[{"index":0,"text":"lo wor',
      `ld","finish_reason":null}],"usage":${JSON.stringify(usage(4))}}\n\n`,
      data({ choices: [{ index: 0, text: '!', finish_reason: 'length' }], usage: usage(5) }),
      data({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } }),
      'data: [DONE]\n\n',
    ];
  });
  const r = await streamRequest(`${url}/v1/completions`, { prompt: 'x', stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
  t.equal(r.text, 'Hello world!');
  t.equal(r.numTokens, 5);
  t.equal(r.finishReason, 'length');
  t.equal(r.itlBasis, 'usage');
  t.equal(r.itlMs.length, 4);
  t.same(r.itlMs.slice(1, 3), [0, 0], 'the 3 tokens of one chunk arrive together');
  t.ok(r.itlMs[0] > 0 && r.itlMs[3] > 0);
  t.ok(r.ttftMs! > 0 && r.ttftMs! < r.wallMs);

  const est = await streamRequest(`${url}/v1/completions`, { prompt: 'x', stream: true, stream_options: { include_usage: true } });
  t.equal(est.numTokens, 5, 'the total still comes from usage');
  t.equal(est.itlBasis, 'estimate');
  t.equal(est.itlMs.length, 4);
  t.equal(bodies.length, 2);
});

t.test('SSE client: a stream without usage is an error, and an error frame is reported', async (t) => {
  const { url } = await fakeServer(t, (body) => (body.prompt === 'err'
    ? [data({ error: { message: 'boom', type: 'server_error' } }), 'data: [DONE]\n\n']
    : [data({ choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }] }), 'data: [DONE]\n\n']));
  await t.rejects(streamRequest(`${url}/v1/completions`, { prompt: 'x' }), /no usage\.completion_tokens/);
  await t.rejects(streamRequest(`${url}/v1/completions`, { prompt: 'err' }), /boom/);
});

t.test('request bodies: Sprig speculation extension, server default, chat messages', async (t) => {
  const item = { id: 'i', suite: 's', category: 'c', format: 'chat' as const, turns: ['Q1', 'Q2'] };
  const o = { endpoint: 'chat' as const, model: undefined, maxTokens: 9 };
  const none = requestBody(o, { drafters: 'none', treeBudget: null, temperature: 0, concurrency: 1 }, item, ['A1'], 1, 42);
  t.same(none.speculation, { enabled: false });
  t.same(none.messages, [{ role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }]);
  t.equal(none.seed, undefined, 'greedy sends no seed');
  const spec = requestBody({ ...o, endpoint: 'completions' }, { drafters: 'recycling+lookup', treeBudget: 16, temperature: 0.8, concurrency: 1 }, item, [], 0, 42);
  t.same(spec.speculation, { drafters: ['recycling', 'lookup'], max_tree_tokens: 16 });
  t.equal(spec.prompt, 'User: Q1\nAssistant:');
  t.equal(spec.seed, 42);
  t.notOk('speculation' in requestBody(o, { drafters: 'server', treeBudget: null, temperature: 0, concurrency: 1 }, item, [], 0, 1));
  const schema = { type: 'object', properties: { a: { type: 'integer' } } };
  const constrained = requestBody(o, { drafters: 'none', treeBudget: null, temperature: 0, concurrency: 1, constrained: true }, { ...item, schema }, [], 0, 1);
  t.same(constrained.response_format, { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } }, 'a constrained config asks for the item\'s schema');
  t.notOk('response_format' in none);
  t.equal(normalizeBaseUrl('http://h:1/v1/'), 'http://h:1');
  t.equal(normalizeBaseUrl('http://h:1'), 'http://h:1');
});

t.test('sseData handles CRLF framing and multi-line data', async (t) => {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode('data: a\r\n\r\n: comment\r\n\r\ndata: b\ndata: c\n\n'));
      c.enqueue(enc.encode('data: [DONE]\n\ndata: after\n\n'));
      c.close();
    },
  });
  const out: string[] = [];
  for await (const d of sseData(stream)) out.push(d);
  t.same(out, ['a', 'b\nc']);
});

t.test('a prompt longer than the Sprig server\'s context window is skipped in every configuration, the others measured', async (t) => {
  const { url, tokenizer } = await sprigServer(t, 2);
  const dir = t.testdir();
  const prompts = path.join(dir, 'p.jsonl');
  const long = 'one two three four five six seven eight nine ten '.repeat(120);
  t.ok(tokenizer.encode(long).length > 512, 'the long prompt alone is past the 512-token window');
  fs.writeFileSync(prompts, [
    // First, so the warm-up meets it too (and warms up on the next item instead).
    { id: 'long', category: 'copy', format: 'text', turns: [long] },
    { id: 'a', category: 'copy', format: 'text', turns: ['one two three one two three one two three one two'] },
    { id: 'b', category: 'copy', format: 'text', turns: ['x y z x y z x y'] },
  ].map((r) => JSON.stringify(r)).join('\n'));
  const stderr = sink();
  const o = await runBench({
    baseUrl: url, endpoint: 'completions', drafters: ['lookup'], treeBudgets: [8], temperatures: [0], concurrency: [1, 2],
    suite: 'auto', prompts: [prompts], maxTokens: 16, repeats: 1, warmup: 1, seed: 0, threads: 1, out: path.join(dir, 'out'),
    runId: 'http-overflow', command: 'sprig bench --base-url (test)',
  }, { stdout: sink(), stderr });
  t.equal(o.exitCode, 0, stderr.text);
  // 2 configs × 2 concurrency levels × the 2 items that fit.
  t.equal(o.result.samples.length, 8);
  t.same([...new Set(o.result.samples.map((s) => s.itemId))].sort(), ['a', 'b'], 'the long item is measured nowhere');
  for (const config of new Set(o.result.samples.map((s) => s.config))) {
    t.same(o.result.samples.filter((s) => s.config === config).map((s) => s.itemId).sort(), ['a', 'b'], `${config}: the same items`);
  }
  t.same(o.result.items.map((it) => it.id), ['a', 'b']);
  const warning = o.result.warnings.find((w) => w.startsWith('skipped 1 prompt'));
  t.match(warning, /would not fit the server's context window with --max-tokens 16: long \(every configuration skips them; the server said, turn 1: This model's context window is 512 tokens/);
  t.notMatch(warning, /dropped/, 'found before any of its responses was measured');
  t.match(stderr.text, /\[bench\] skipped 1 prompt/);
  t.equal(o.result.mismatches.length, 0);
});

/** A fake server that answers every request with `text` and a usage count, or with `refuse(body)` when it says so. */
async function refusingServer(t: Test, refuse: (body: Record<string, unknown>) => { status: number; body: string } | null) {
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      if (req.url === '/v1/models') return void res.end(JSON.stringify({ data: [{ id: 'fake' }] }));
      const body = JSON.parse(raw) as Record<string, unknown>;
      const no = refuse(body);
      if (no) {
        res.writeHead(no.status, { 'content-type': 'application/json' });
        return void res.end(no.body);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(data({ choices: [{ index: 0, text: ' ok', finish_reason: 'length' }], usage: { completion_tokens: 1 } }) + data({ choices: [], usage: { completion_tokens: 1 } }) + 'data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('a refusal found only under a later configuration drops the item from the earlier ones too; other errors still end the run', async (t) => {
  const dir = t.testdir();
  const prompts = path.join(dir, 'p.jsonl');
  const vllm = JSON.stringify({ object: 'error', message: 'This model\'s maximum context length is 64 tokens. However, you requested 80 tokens (16 in the messages, 64 in the completion).', type: 'BadRequestError', code: 400 });
  const bench = (url: string, only: string[]) => {
    fs.writeFileSync(prompts, only.map((id) => JSON.stringify({ id, category: 'c', format: 'text', turns: [id] })).join('\n'));
    return runBench({
      baseUrl: url, endpoint: 'completions', drafters: ['lookup'], treeBudgets: [8], temperatures: [0], concurrency: [1],
      suite: 'auto', prompts: [prompts], maxTokens: 16, repeats: 1, warmup: 0, seed: 0, threads: 1, out: path.join(dir, `out-${only.length}`),
      runId: 'http-late', command: 'sprig bench --base-url (test)',
    }, { stdout: sink(), stderr: sink() });
  };
  // 'none' runs first and gets an answer for 'late'; 'lookup' (the speculation extension) is refused it.
  const url = await refusingServer(t, (body) => {
    if (body.prompt === 'late' && body.speculation && 'drafters' in (body.speculation as object)) return { status: 400, body: vllm };
    if (body.prompt === 'bad') return { status: 400, body: JSON.stringify({ error: { message: 'temperature must be at most 2', type: 'invalid_request_error', code: 'SPRIG_ERR_INVALID_PARAM' } }) };
    return null;
  });
  const o = await bench(url, ['a', 'late', 'b']);
  t.same(o.result.samples.map((s) => `${s.config.split('|')[0]}:${s.itemId}`).sort(), ['lookup:a', 'lookup:b', 'none:a', 'none:b']);
  t.match(o.result.warnings.find((w) => w.startsWith('skipped')), /skipped 1 prompt\(s\) .*: late \(every configuration skips them; 1 response\(s\) measured before the refusal were dropped.*maximum context length is 64 tokens/);
  await t.rejects(bench(url, ['a', 'bad']), { message: /HTTP 400 .*temperature must be at most 2/ }, 'any other 400 still ends the run');
  await t.rejects(bench(url, ['late']), { message: /no prompt fits the server's context window with --max-tokens 16/ }, 'nothing left to compare');
});

t.test('contextOverflowMessage: Sprig, OpenAI/vLLM and llama-server refusals; nothing else', async (t) => {
  const e = (status: number, body: unknown) => new HttpError('x', status, typeof body === 'string' ? body : JSON.stringify(body));
  t.match(contextOverflowMessage(e(400, { error: { message: 'This model\'s context window is 512 tokens, but the prompt has 600 tokens', type: 'invalid_request_error', code: 'SPRIG_ERR_CONTEXT_OVERFLOW' } })), /context window is 512/);
  t.ok(contextOverflowMessage(e(400, { error: { message: 'too long', code: 'context_length_exceeded' } })), 'by code alone');
  t.ok(contextOverflowMessage(e(400, { error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error' } })), 'llama-server');
  t.ok(contextOverflowMessage(e(400, { object: 'error', message: 'This model\'s maximum context length is 2048 tokens.', type: 'BadRequestError', code: 400 })), 'vLLM');
  t.ok(contextOverflowMessage(e(400, 'prompt exceeds context length')), 'a plain-text body');
  t.equal(contextOverflowMessage(e(400, { error: { message: 'temperature must be at most 2', code: 'SPRIG_ERR_INVALID_PARAM' } })), null);
  t.equal(contextOverflowMessage(e(500, { error: { message: 'context blew up', code: 'context_length_exceeded' } })), null, 'only a 400');
  t.equal(contextOverflowMessage(new Error('context')), null, 'only an HTTP refusal');
});
