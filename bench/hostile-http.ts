// Hostile-input check against a real `sprig serve` (embedded default model) on 127.0.0.1 (issue #14): (1) the longest stall of a concurrent
// stream's next chunk while a 4 MB, a 1 MB and a context-sized prompt are handled; (2) RSS over 10,000 requests;
// (3) 50 trickling connections and the receive timeout. Run: node --import tsx bench/hostile-http.ts
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { defaultModelDir } from '../model/default-model.ts';
import { loadTokenizer } from '../model/tokenizer.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const child = spawn(process.execPath, [path.join(ROOT, 'bin/sprig.js'), 'serve', '--port', '0', '--receive-timeout-ms', '2000', '--max-queue', '256'], {
  cwd: ROOT, env: { ...process.env, SPRIG_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
});
let log = '';
child.stderr.on('data', (b: Buffer) => (log += b.toString()));
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUrl(): Promise<string> {
  // The warn level hides "listening"; find the port from /proc.
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    const inodes = new Set(fs.readdirSync(`/proc/${child.pid}/fd`).map((f) => { try { return /socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${child.pid}/fd/${f}`))?.[1]; } catch { return undefined; } }).filter(Boolean));
    for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9])) return `http://127.0.0.1:${parseInt(cols[1].split(':')[1], 16)}`;
    }
  }
  throw new Error(`no listener: ${log}`);
}

const base = await waitUrl();
while ((await fetch(`${base}/health`)).status !== 200) await sleep(100);
const ctx = ((await (await fetch(`${base}/v1/models`)).json()) as { data: { context_length: number }[] }).data[0].context_length;
console.log(`server ${base}, context ${ctx}, RSS at ready ${rss().toFixed(0)} MB`);
const post = (p: string, body: unknown) => fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** Streams a long greedy completion; returns chunk arrival times. */
async function stream(maxTokens: number, onFirst: () => void): Promise<number[]> {
  // Plain decoding, one chunk per token: the stream's gaps are the event loop's.
  const res = await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: maxTokens, temperature: 0, stream: true, speculation: { enabled: false } });
  const times: number[] = [];
  const reader = res.body!.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    times.push(performance.now());
    if (times.length === 20) onFirst();
  }
  return times;
}

const maxGap = (times: number[], from: number, to: number) => {
  let worst = 0;
  for (let i = 1; i < times.length; i++) if (times[i] >= from && times[i - 1] <= to) worst = Math.max(worst, times[i] - times[i - 1]);
  return worst;
};

const words = 'Once upon a time, there was a little fox named Pip who lived at the edge of a quiet wood. ';
const text = (bytes: number) => words.repeat(Math.ceil(bytes / words.length)).slice(0, bytes);
// Context-sized: as many bytes as fit the window at this tokenizer's ~2.94 bytes per token (then trimmed to fit).
let fitting = text(Math.floor((ctx - 8) * 2.9));
for (;;) {
  const r = await post('/v1/completions', { prompt: fitting, max_tokens: 1 });
  if (r.status === 200) break;
  fitting = fitting.slice(0, Math.floor(fitting.length * 0.97));
}
console.log(`context-sized prompt: ${fitting.length} bytes`);

// Bodies are serialized before the stream starts: this process is the client too, and a 4 MB
// JSON.stringify here would show up as a gap in the stream's arrival times.
const prompts: [string, string | null][] = [['none (baseline)', null], ['4 MB', text(4_000_000)], ['1 MB', text(1_000_000)], ['context-sized', fitting]];
const bodies = prompts.map(([n, b]) => [n, b === null ? null : JSON.stringify({ prompt: b, max_tokens: 1 })] as const);
// The same context-sized prompt as token ids: no tokenization at all, so what stalls then is the prefill.
const tokenizer = await loadTokenizer(defaultModelDir());
bodies.push(['context, as ids', JSON.stringify({ prompt: tokenizer.encode(fitting), max_tokens: 1 })]);
for (const [name, body] of bodies) {
  let sentAt = 0;
  let doneAt = 0;
  let status = 0;
  let big: Promise<void> = Promise.resolve();
  const times = await stream(1000, () => {
    sentAt = performance.now();
    if (body !== null) big = post('/v1/completions', body).then(async (r) => { status = r.status; await r.text(); doneAt = performance.now(); });
    else doneAt = sentAt + 2000;
  });
  await big;
  const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  console.log(`${name.padEnd(16)} big request: ${body === null ? '-' : `${status} in ${(doneAt - sentAt).toFixed(0)} ms`}; stream: ${times.length} chunks, median gap ${median.toFixed(1)} ms, longest gap while it was handled ${maxGap(times, sentAt, doneAt + 50).toFixed(1)} ms, longest overall ${gaps[gaps.length - 1].toFixed(1)} ms`);
}

// 50 connections trickling a body a byte at a time.
const trickle = await Promise.all(Array.from({ length: 50 }, () => new Promise<{ status: string; ms: number }>((resolve) => {
  const t0 = performance.now();
  const s = net.connect(Number(new URL(base).port), '127.0.0.1', () => s.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{'));
  const iv = setInterval(() => s.writable && s.write(' '), 100);
  let data = '';
  s.on('data', (b: Buffer) => (data += b.toString()));
  s.on('error', () => {});
  s.on('close', () => { clearInterval(iv); resolve({ status: data.slice(9, 12), ms: performance.now() - t0 }); });
})));
const statuses = [...new Set(trickle.map((x) => x.status))];
console.log(`50 trickled bodies (--receive-timeout-ms 2000): statuses ${statuses.join(',')}, closed after ${Math.min(...trickle.map((x) => x.ms)).toFixed(0)}–${Math.max(...trickle.map((x) => x.ms)).toFixed(0)} ms`);

// RSS over 10,000 requests, 8 at a time: 9 in 10 ordinary short completions, 1 in 10 hostile (bad JSON, 415, 405,
// 17 stops, a 1 MB prompt every 100th).
const N = Number(process.env.N ?? 10_000);
const hostile = [
  () => post('/v1/completions', '{"prompt":'),
  () => fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }),
  () => fetch(`${base}/v1/completions`),
  () => post('/v1/completions', { prompt: 'x', stop: Array(17).fill('a') }),
];
const mb = text(1_000_000);
let next = 0;
const counts: Record<string, number> = {};
const t0 = performance.now();
console.log(`RSS start ${rss().toFixed(0)} MB`);
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < N) {
    const i = next++;
    const r = i % 100 === 50 ? await post('/v1/completions', { prompt: mb, max_tokens: 1 }) : i % 10 === 5 ? await hostile[Math.floor(i / 10) % 4]() : await post('/v1/completions', { prompt: `Story ${i}: once upon a time`, max_tokens: 4, temperature: 0 });
    await r.arrayBuffer();
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if (i === N / 2) console.log(`RSS middle (${i} requests) ${rss().toFixed(0)} MB`);
  }
}));
console.log(`RSS end ${rss().toFixed(0)} MB after ${N} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s; statuses ${JSON.stringify(counts)}`);
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
