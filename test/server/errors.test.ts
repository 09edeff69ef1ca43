// Every error status in OpenAI's shape: 400 (validation, context overflow), 401, 404, 413, 429; bad
// input of every kind gets a 4xx and the server keeps serving. Also CORS.
import t from 'tap';
import { buildTestApp, MODEL_ID, sleep, spyGenerate, testEngine } from './helpers.ts';

const OK_BODY = { prompt: 'hello', max_tokens: 2 };

function errorOf(res: { json(): unknown }) {
  return (res.json() as { error: { message: string; type: string; param: string | null; code: string } }).error;
}

t.test('bad requests are 4xx that name the param, and the server keeps serving', async (t) => {
  const app = await buildTestApp(t);
  const cases: { url: string; payload: unknown; status: number; param: string | null; message?: RegExp }[] = [
    { url: '/v1/completions', payload: { prompt: 'x', max_tokens: '5' }, status: 400, param: 'max_tokens', message: /Invalid type for 'max_tokens'/ },
    { url: '/v1/completions', payload: { prompt: 'x', temperature: 3 }, status: 400, param: 'temperature' },
    { url: '/v1/completions', payload: { prompt: 'x', top_p: 0 }, status: 400, param: 'top_p' },
    { url: '/v1/completions', payload: { prompt: 'x', n: 0 }, status: 400, param: 'n' },
    { url: '/v1/completions', payload: { prompt: 'x', max_tokens: 0 }, status: 400, param: 'max_tokens' },
    { url: '/v1/completions', payload: { prompt: 'x', stop: [''] }, status: 400, param: 'stop' },
    { url: '/v1/completions', payload: { prompt: 'x', seed: 1.5 }, status: 400, param: 'seed' },
    { url: '/v1/completions', payload: { prompt: 'x', stream: 'yes' }, status: 400, param: 'stream' },
    { url: '/v1/completions', payload: { prompt: 'x', foo: 1 }, status: 400, param: 'foo', message: /Unrecognized request argument supplied: foo/ },
    { url: '/v1/completions', payload: { prompt: 'x', speculation: { turbo: true } }, status: 400, param: 'speculation.turbo' },
    { url: '/v1/completions', payload: { max_tokens: 3 }, status: 400, param: 'prompt', message: /Missing required parameter: 'prompt'/ },
    { url: '/v1/completions', payload: { prompt: { text: 'x' } }, status: 400, param: 'prompt' },
    { url: '/v1/chat/completions', payload: { messages: [] }, status: 400, param: 'messages' },
    { url: '/v1/chat/completions', payload: { messages: [{ role: 'wizard', content: 'x' }] }, status: 400, param: 'messages[0].role' },
    { url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 5 }] }, status: 400, param: 'messages[0].content' },
    { url: '/v1/chat/completions', payload: { messages: 'hello' }, status: 400, param: 'messages' },
    { url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'x' }], echo: true }, status: 400, param: 'echo' },
  ];
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: c.url, payload: c.payload as object });
    t.equal(res.statusCode, c.status, JSON.stringify(c.payload));
    const e = errorOf(res);
    t.match(e, { type: 'invalid_request_error', param: c.param, code: 'SPRIG_ERR_INVALID_PARAM' }, JSON.stringify(c.payload));
    if (c.message) t.match(e.message, c.message);
  }
  const raw = [
    { payload: '{"prompt": "x",', type: 'application/json' },
    { payload: '', type: 'application/json' },
    { payload: 'prompt=x', type: 'text/plain' },
    { payload: '[1, 2]', type: 'application/json' },
  ];
  for (const r of raw) {
    const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: r.payload, headers: { 'content-type': r.type } });
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${r.payload}: ${res.statusCode}`);
    t.equal(errorOf(res).type, 'invalid_request_error');
  }
  t.equal((await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY })).statusCode, 200, 'still serving');
});

t.test('400 context overflow names both numbers', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'hello', max_tokens: 1_000_000 } });
  t.equal(res.statusCode, 400);
  const e = errorOf(res);
  t.match(e, { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: 'max_tokens', type: 'invalid_request_error' });
  t.match(e.message, /256 tokens/);
  t.match(e.message, /1000000/);
  t.match(e.message, /prompt has \d+ tokens/);
  const long = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: Array(300).fill(5), max_tokens: 1 } });
  t.equal(long.statusCode, 400, 'a prompt longer than the window');
  t.match(errorOf(long), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: 'prompt', message: /prompt has 300 tokens/ });
  // Text under the byte bound's reach is counted exactly once tokenized: the same rule for the param.
  const text = 'x '.repeat(400);
  const longText = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: text, max_tokens: 1 } });
  t.match(errorOf(longText), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: 'prompt', message: /the prompt has \d+ tokens and max_tokens \(1\) was requested/ });
  const chat = (content: string, extra: object) => app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content }], ...extra } });
  const chatLong = await chat(text, {});
  t.equal(chatLong.statusCode, 400);
  t.match(errorOf(chatLong), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: 'messages', message: /the rendered chat has \d+ tokens and at least 1 new token was requested/ });
  const chatMax = await chat('hello', { max_tokens: 1_000_000 });
  t.match(errorOf(chatMax), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: 'max_tokens', message: /max_tokens \(1000000\)/ });
});

t.test('404: unknown model, unknown route', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...OK_BODY, model: 'gpt-9' } });
  t.equal(res.statusCode, 404);
  t.match(errorOf(res), { type: 'not_found_error', param: 'model', code: 'SPRIG_ERR_NOT_FOUND', message: /gpt-9/ });
  t.equal((await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...OK_BODY, model: MODEL_ID } })).statusCode, 200);
  const route = await app.inject({ method: 'GET', url: '/v1/nothing' });
  t.equal(route.statusCode, 404);
  t.match(errorOf(route), { type: 'not_found_error', message: /GET \/v1\/nothing/ });
  const badUrl = await app.inject({ method: 'GET', url: '/v1/%zz' });
  t.equal(badUrl.statusCode, 400, 'a path that is not valid percent-encoding');
  t.match(errorOf(badUrl), { type: 'invalid_request_error', code: 'SPRIG_ERR_MALFORMED_REQUEST', message: /%zz/ });
});

t.test('413 when the body is over the limit', async (t) => {
  const app = await buildTestApp(t, { bodyLimitBytes: 1024 });
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x'.repeat(5000) } });
  t.equal(res.statusCode, 413);
  t.match(errorOf(res), { code: 'SPRIG_ERR_BODY_TOO_LARGE', type: 'invalid_request_error' });
  t.equal((await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY })).statusCode, 200);
});

t.test('401 with --api-key; /health stays open', async (t) => {
  const app = await buildTestApp(t, { apiKey: 'sekret' });
  const none = await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY });
  t.equal(none.statusCode, 401);
  t.match(errorOf(none), { type: 'authentication_error', code: 'SPRIG_ERR_UNAUTHORIZED', message: /Missing API key/ });
  const wrong = await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY, headers: { authorization: 'Bearer nope' } });
  t.equal(wrong.statusCode, 401);
  t.match(errorOf(wrong).message, /Incorrect API key/);
  t.equal((await app.inject({ method: 'GET', url: '/v1/models' })).statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'health is open');
  const right = await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY, headers: { authorization: 'Bearer sekret' } });
  t.equal(right.statusCode, 200);
});

t.test('429 with Retry-After when the queue is full', async (t) => {
  const spy = spyGenerate(10);
  const app = await buildTestApp(t, { maxConcurrent: 1, maxQueue: 1 }, testEngine({ generate: spy.generate }));
  const running = app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Once upon a time', max_tokens: 40, temperature: 0 } });
  while (spy.records.length < 1) await sleep(2);
  const queued = app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'b', max_tokens: 2 } });
  while (app.sprig.scheduler.waiting < 1) await sleep(2);
  const rejected = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'c', max_tokens: 2 } });
  t.equal(rejected.statusCode, 429);
  t.equal(rejected.headers['retry-after'], '1');
  t.match(errorOf(rejected), { type: 'rate_limit_error', code: 'SPRIG_ERR_QUEUE_FULL' });
  const n2 = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'c', max_tokens: 2, n: 2 } });
  t.equal(n2.statusCode, 429, 'n choices are admitted all or none');
  t.equal((await running).statusCode, 200);
  t.equal((await queued).statusCode, 200, 'the queued request ran after the first');
  t.equal(app.sprig.scheduler.running, 0);
  t.equal((await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY })).statusCode, 200);
});

t.test('CORS: configured origins only; preflight needs no key', async (t) => {
  const app = await buildTestApp(t, { corsOrigins: ['http://ui.test'], apiKey: 'k' });
  const pre = await app.inject({
    method: 'OPTIONS', url: '/v1/chat/completions',
    headers: { origin: 'http://ui.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
  t.equal(pre.statusCode, 204);
  t.equal(pre.headers['access-control-allow-origin'], 'http://ui.test');
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY, headers: { origin: 'http://ui.test', authorization: 'Bearer k' } });
  t.equal(res.headers['access-control-allow-origin'], 'http://ui.test');
  const stream = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...OK_BODY, stream: true }, headers: { origin: 'http://ui.test', authorization: 'Bearer k' } });
  t.equal(stream.headers['access-control-allow-origin'], 'http://ui.test', 'streams carry CORS headers too');
  const other = await app.inject({ method: 'POST', url: '/v1/completions', payload: OK_BODY, headers: { origin: 'http://evil.test', authorization: 'Bearer k' } });
  t.notOk(other.headers['access-control-allow-origin']);
  const noCors = await buildTestApp(t);
  t.notOk((await noCors.inject({ method: 'GET', url: '/health', headers: { origin: 'http://ui.test' } })).headers['access-control-allow-origin'], 'no CORS unless configured');
});

t.test('415: a body that is not JSON, or has no content type, names the type and what is accepted', async (t) => {
  const app = await buildTestApp(t);
  const plain = await app.inject({ method: 'POST', url: '/v1/completions', payload: 'hello', headers: { 'content-type': 'text/plain' } });
  t.equal(plain.statusCode, 415);
  t.match(errorOf(plain), { type: 'invalid_request_error', code: 'SPRIG_ERR_UNSUPPORTED_MEDIA_TYPE', param: null });
  t.match(errorOf(plain).message, /text\/plain/);
  t.match(errorOf(plain).message, /application\/json/);
  const none = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: '{"messages":[]}', headers: { 'content-type': '' } });
  t.equal(none.statusCode, 415, 'no content type');
  t.match(errorOf(none), { code: 'SPRIG_ERR_UNSUPPORTED_MEDIA_TYPE', message: /no Content-Type/ });
  const charset = await app.inject({ method: 'POST', url: '/v1/completions', payload: JSON.stringify(OK_BODY), headers: { 'content-type': 'application/json; charset=utf-8' } });
  t.equal(charset.statusCode, 200, 'application/json with a charset is fine');
});

t.test('405: a known path with the wrong method, with Allow', async (t) => {
  const app = await buildTestApp(t);
  const get = await app.inject({ method: 'GET', url: '/v1/completions' });
  t.equal(get.statusCode, 405);
  t.equal(get.headers.allow, 'POST');
  t.match(errorOf(get), { type: 'invalid_request_error', code: 'SPRIG_ERR_METHOD_NOT_ALLOWED', message: /GET .*\/v1\/completions.*POST/ });
  const put = await app.inject({ method: 'PUT', url: '/health?x=1' });
  t.equal(put.statusCode, 405);
  t.match(put.headers.allow, /GET/);
  t.equal((await app.inject({ method: 'GET', url: '/v1/nothing' })).statusCode, 404, 'an unknown path is still 404');
});

t.test('messages name the real cause', async (t) => {
  const app = await buildTestApp(t);
  const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/completions', payload, headers: { 'content-type': 'application/json' } });
  const stops = await post(JSON.stringify({ prompt: 'x', stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }));
  t.equal(stops.statusCode, 400);
  t.match(errorOf(stops), { param: 'stop', message: /at most 16/ });
  t.notMatch(errorOf(stops).message, /non-empty/);
  const proto = await post('{"prompt": "x", "__proto__": {"polluted": true}}');
  t.equal(proto.statusCode, 400);
  t.match(errorOf(proto), { code: 'SPRIG_ERR_INVALID_PARAM', param: '__proto__', message: /"__proto__"/ });
  t.notMatch(errorOf(proto).message, /not valid JSON/);
  const ctor = await post('{"prompt": "x", "constructor": {"prototype": {"polluted": true}}}');
  t.equal(ctor.statusCode, 400);
  t.match(errorOf(ctor).message, /"constructor"/);
  const broken = await post('{"prompt": "x",');
  t.equal(broken.statusCode, 400);
  t.match(errorOf(broken), { code: 'SPRIG_ERR_MALFORMED_REQUEST', message: /not valid JSON/ });
  const empty = await post('');
  t.equal(empty.statusCode, 400);
  t.match(errorOf(empty).message, /empty/i);
});
