// What Node's HTTP parser rejects before fastify sees a request, over raw sockets: oversized headers
// (431), a body shorter than its Content-Length (400), a request that arrives too slowly (408). Every
// one is answered in OpenAI's error shape, and the connection is closed.
import t, { type Test } from 'tap';
import { buildTestApp, listen, rawHttp, type RawResponse } from './helpers.ts';

function openAiError(t: Test, res: RawResponse, status: number, code: string) {
  t.equal(res.status, status, `status ${status}`);
  t.match(res.headers['content-type'], /^application\/json/);
  const body = JSON.parse(res.body) as { error: { message: string; type: string; param: string | null; code: string } };
  t.match(body, { error: { type: 'invalid_request_error', param: null, code, message: String } });
  t.same(Object.keys(body), ['error'], 'nothing beside error');
  return body.error;
}

t.test('431 for a 20 KB Authorization header', async (t) => {
  const base = await listen(await buildTestApp(t));
  const res = await rawHttp(base, (s) => s.write(`GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`));
  const e = openAiError(t, res, 431, 'SPRIG_ERR_HEADERS_TOO_LARGE');
  t.match(e.message, /header/i);
  t.equal((await fetch(`${base}/health`)).status, 200, 'still serving');
});

t.test('400 for a body shorter than its Content-Length', async (t) => {
  const base = await listen(await buildTestApp(t));
  const res = await rawHttp(base, (s) => {
    s.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prompt":');
    s.end();
  });
  const e = openAiError(t, res, 400, 'SPRIG_ERR_MALFORMED_REQUEST');
  t.match(e.message, /Content-Length|ended/);
});

t.test('400 for bytes that are not HTTP', async (t) => {
  const base = await listen(await buildTestApp(t));
  const res = await rawHttp(base, (s) => s.write('HELLO THERE\r\n\r\n'));
  openAiError(t, res, 400, 'SPRIG_ERR_MALFORMED_REQUEST');
});

t.test('408 for a body trickled slower than --receive-timeout-ms, and the connection is closed', async (t) => {
  const base = await listen(await buildTestApp(t, { receiveTimeoutMs: 400 }));
  let timer: NodeJS.Timeout | undefined;
  const res = await rawHttp(base, (s) => {
    s.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    timer = setInterval(() => s.writable && s.write(' '), 50);
  });
  clearInterval(timer);
  const e = openAiError(t, res, 408, 'SPRIG_ERR_RECEIVE_TIMEOUT');
  t.match(e.message, /400 ms/);
  t.ok(res.closedAfterMs >= 350, `closed after ${Math.round(res.closedAfterMs)} ms, not before the timeout`);
  const headersOnly = await rawHttp(base, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\n'));
  openAiError(t, headersOnly, 408, 'SPRIG_ERR_RECEIVE_TIMEOUT');
  t.equal((await fetch(`${base}/health`)).status, 200, 'still serving');
});

t.test('--max-connections: a socket beyond the limit is closed on arrival and counted; the others are served', async (t) => {
  const app = await buildTestApp(t, { maxConnections: 2 });
  const base = await listen(app);
  const { hostname, port } = new URL(base);
  const net = await import('node:net');
  const open = () => new Promise<import('node:net').Socket>((resolve) => {
    const s = net.connect(Number(port), hostname, () => resolve(s));
    s.on('error', () => {});
  });
  const held = [await open(), await open()];
  t.teardown(() => held.forEach((s) => s.destroy()));
  while (app.server.listening && (await new Promise<number>((r) => app.server.getConnections((_e, n) => r(n)))) < 2) await new Promise((r) => setTimeout(r, 5));
  const extra = await rawHttp(base, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
  t.equal(extra.status, 0, 'closed without an answer');
  t.match(await app.sprig.metrics.registry.getSingleMetricAsString('sprig_connections_dropped_total'), /sprig_connections_dropped_total 1/);
  const answered = new Promise<string>((resolve) => {
    let data = '';
    held[0].on('data', (b: Buffer) => {
      data += b.toString();
      if (data.includes('"status"')) resolve(data);
    });
  });
  held[0].write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(await answered, /^HTTP\/1\.1 200/, 'a held connection is served');
});
