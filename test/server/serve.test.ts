// `sprig serve` and server/main.ts: flags and SPRIG_* env vars, start-up failures, listen-then-load,
// graceful drain on shutdown, and the real CLI serving the embedded default model.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import t from 'tap';
import { registerServe, serveOptions, type ServeFlags } from '../../cli/serve.ts';
import { startServer } from '../../server/main.ts';
import { truncatedDraft } from '../helpers/models.ts';
import { greedyReference, parseSse, sleep, spyGenerate, testEngine, testModelDir } from './helpers.ts';

const silent = pino({ level: 'silent' });
const ROOT = path.resolve(import.meta.dirname, '../..');

function parseServe(argv: string[], env: Record<string, string> = {}): ServeFlags {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const program = new Command('sprig').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerServe(program);
    let flags: ServeFlags | null = null;
    program.commands.find((c) => c.name() === 'serve')!.action((f: ServeFlags) => {
      flags = f;
    });
    program.parse(['serve', ...argv], { from: 'user' });
    return flags!;
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

t.test('flags, SPRIG_* env vars and defaults', async (t) => {
  const d = serveOptions(parseServe([]));
  t.match(d, { host: '127.0.0.1', port: 8080, apiKey: null, treeBudget: 'auto', corsOrigins: [], drafters: [], model: undefined });
  const env = serveOptions(parseServe([], {
    SPRIG_DRAFT: '/d', SPRIG_DATASTORE: '/ds', SPRIG_MAX_TREE_TOKENS: '16', SPRIG_PORT: '9001', SPRIG_MAX_QUEUE: '3', SPRIG_MAX_CONCURRENT: '2', SPRIG_CORS: 'http://a.test, http://b.test',
    SPRIG_API_KEY: 'k', SPRIG_DRAFTERS: 'lookup,recycling', SPRIG_TREE_BUDGET: '12', SPRIG_REQUEST_TIMEOUT_MS: '500', SPRIG_THREADS: '2', SPRIG_MODEL: '/m',
  }));
  t.match(env, {
    port: 9001, maxQueue: 3, maxConcurrent: 2, corsOrigins: ['http://a.test', 'http://b.test'], apiKey: 'k',
    drafters: ['lookup', 'recycling'], treeBudget: 12, requestTimeoutMs: 500, threads: 2, model: '/m', draft: '/d', datastore: '/ds', maxTreeTokens: 16,
  });
  t.equal(serveOptions(parseServe(['--port', '1234'], { SPRIG_PORT: '9001' })).port, 1234, 'a flag beats the env var');
  t.match(d, { receiveTimeoutMs: 30_000, maxConnections: 1024 });
  t.match(serveOptions(parseServe([], { SPRIG_RECEIVE_TIMEOUT_MS: '5000', SPRIG_MAX_CONNECTIONS: '64' })), { receiveTimeoutMs: 5000, maxConnections: 64 });
  t.match(serveOptions(parseServe(['--receive-timeout-ms', '0', '--max-connections', '0'])), { receiveTimeoutMs: 0, maxConnections: 0 }, '0 = none');
  t.throws(() => parseServe(['--receive-timeout-ms', '-1']), { code: 'commander.invalidArgument' });
  t.match(d, { kvCacheMb: 256 });
  t.match(serveOptions(parseServe([], { SPRIG_KV_CACHE_MB: '8' })), { kvCacheMb: 8 });
  t.match(serveOptions(parseServe(['--kv-cache-mb', '0'])), { kvCacheMb: 0 }, '0 = the prefix cache off');
  t.throws(() => parseServe(['--kv-cache-mb', '-1']), { code: 'commander.invalidArgument' });
  t.match(d, { engineThread: true }, 'the engine runs in a worker thread by default');
  t.match(serveOptions(parseServe(['--engine-thread', 'off'])), { engineThread: false });
  t.match(serveOptions(parseServe([], { SPRIG_ENGINE_THREAD: 'off' })), { engineThread: false });
  t.throws(() => parseServe(['--engine-thread', 'yes']), { code: 'commander.invalidArgument' });
  t.match(d, { stateSaveIntervalMs: 300_000 }, 'drafter state saved every 300 s by default');
  t.match(serveOptions(parseServe([], { SPRIG_STATE_SAVE_INTERVAL: '0.5' })), { stateSaveIntervalMs: 500 }, 'seconds, fractions allowed');
  t.match(serveOptions(parseServe(['--state-save-interval', '0'])), { stateSaveIntervalMs: 0 }, '0 = only at shutdown');
  t.throws(() => parseServe(['--state-save-interval', '-1']), { code: 'commander.invalidArgument' });
  t.throws(() => parseServe(['--state-save-interval', 'often']), { code: 'commander.invalidArgument' });
  t.match(d, { batchSpeculation: true }, 'shared steps speculate, sized across the batch, unless --batch-speculation off');
  t.match(serveOptions(parseServe(['--batch-speculation', 'off'])), { batchSpeculation: false });
  t.match(serveOptions(parseServe([], { SPRIG_BATCH_SPECULATION: 'off' })), { batchSpeculation: false });
  t.throws(() => parseServe(['--max-concurrent', '0']), { code: 'commander.invalidArgument' });
  t.throws(() => parseServe(['--tree-budget', 'big']), { code: 'commander.invalidArgument' });
  t.throws(() => parseServe(['--port', 'x']), { code: 'commander.invalidArgument' });
});

t.test('start-up fails clearly on bad drafter flags and a bad --draft', async (t) => {
  await t.rejects(startServer({ drafters: ['warp'], port: 0 }, { log: silent }), { message: /unknown drafter "warp"/ });
  await t.rejects(startServer({ drafters: ['draft'], port: 0 }, { log: silent }), { message: /--drafters draft needs --draft PATH/ });
  await t.rejects(startServer({ model: testModelDir(), draft: '/no/such/draft', port: 0 }, { log: silent }), { code: 'SPRIG_ERR_CHECKPOINT_MISSING' });
});

t.test('--draft: the draft-model drafter serves greedy output equal to plain decoding', async (t) => {
  const dir = testModelDir();
  const server = await startServer({ model: dir, draft: truncatedDraft(dir, 1), drafters: ['draft'], treeBudget: 8, port: 0, threads: 1 }, { log: silent });
  t.teardown(() => server.shutdown());
  const ref = await greedyReference('Once upon a time', 32);
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 32, temperature: 0 }),
  });
  const body = (await res.json()) as { choices: { text: string }[]; speculation: { drafters: string[]; steps: number; accepted: number } };
  t.equal(body.choices[0].text, ref.text);
  t.same(body.speculation.drafters, ['draft']);
  t.ok(body.speculation.steps > 0 && body.speculation.steps <= 32);
});

t.test('shutdown drains: /health says draining, new generations get 503, running ones are cut honestly at the drain timeout', async (t) => {
  const spy = spyGenerate(10);
  const engine = await testEngine({ generate: spy.generate });
  const server = await startServer({ port: 0, drainTimeoutMs: 400 }, { log: silent, engine: Promise.resolve({ ...engine, dispose: async () => {} }) });
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal((await fetch(`${server.url}/health`)).status, 200);
  const long = { prompt: 'Once upon a time', max_tokens: 200, temperature: 0 };
  const post = (body: object) => fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const streaming = post({ ...long, stream: true }).then((r) => r.text());
  const plain = post(long);
  while (spy.records.length < 2) await sleep(2);
  const started = performance.now();
  const closed = server.shutdown();

  const health = await fetch(`${server.url}/health`);
  t.equal(health.status, 503, 'the listener is still open while draining');
  t.same(await health.json(), { status: 'draining' });
  const refused = await post({ prompt: 'hi', max_tokens: 2 });
  t.equal(refused.status, 503);
  t.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
  t.match(await refused.json(), { error: { code: 'SPRIG_ERR_DRAINING', type: 'server_error', message: /shutting down/ } });

  const frames = parseSse(await streaming);
  t.equal(frames[frames.length - 1], '[DONE]', 'the stream ended properly');
  t.match(frames[frames.length - 2], { error: { code: 'SPRIG_ERR_SHUTDOWN', type: 'server_error', message: /drain timeout/ } });
  const finishes = (frames.slice(0, -2) as { choices: { finish_reason: string | null }[] }[]).flatMap((f) => f.choices.map((c) => c.finish_reason));
  t.same(finishes.filter((f) => f !== null), [], 'never a plain finish_reason');
  const plainRes = await plain;
  t.equal(plainRes.status, 503, 'not streamed: 503');
  t.match(await plainRes.json(), { error: { code: 'SPRIG_ERR_SHUTDOWN' } });
  const cut = await server.app.sprig.metrics.registry.getSingleMetricAsString('sprig_requests_cut_total');
  t.match(cut, /sprig_requests_cut_total\{cause="shutdown"\} 2/);
  await closed;
  t.ok(performance.now() - started >= 300, 'waited for the drain timeout');
  await t.rejects(fetch(`${server.url}/health`), 'no longer listening');
});

t.test('shutdown with nothing running closes at once; a request that finishes in time is not cut', async (t) => {
  const spy = spyGenerate(5);
  const engine = await testEngine({ generate: spy.generate });
  const server = await startServer({ port: 0, drainTimeoutMs: 30_000 }, { log: silent, engine: Promise.resolve({ ...engine, dispose: async () => {} }) });
  const res = fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 }) });
  while (spy.records.length < 1) await sleep(2);
  const started = performance.now();
  await server.shutdown();
  t.ok(performance.now() - started < 10_000, 'did not wait for the drain timeout');
  const body = (await (await res).json()) as { choices: { text: string; finish_reason: string }[] };
  t.equal(body.choices[0].text, (await greedyReference('Once upon a time', 12)).text, 'finished in full');
});

t.test('`sprig serve` with no model flag serves the embedded default', async (t) => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/sprig.js'), 'serve', '--port', '0'], {
    cwd: ROOT, env: { ...process.env, SPRIG_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      log += b.toString();
      const m = /sprig listening on (http:\/\/[\d.]+:\d+)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
  });
  let health = 503;
  for (let i = 0; i < 200 && health !== 200; i++) {
    health = (await fetch(`${url}/health`)).status;
    if (health !== 200) await sleep(50);
  }
  t.equal(health, 200, 'ready');
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hello', max_tokens: 4 }) });
  t.equal(res.status, 200);
  const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
  t.equal(models.data[0].id, 'sprig-default-llama-v1');
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM exits cleanly');
  t.notMatch(log, /Hello/, 'no prompt text in the info log');
});
