// Benchmark (not a test): how much a long prompt arriving mid-run raises the other streams' inter-token latency.
// N streaming clients decode; after a warm-up window, one request with a ~L-token prompt arrives. Reports the
// others' p50/p99 inter-token latency before it arrived and while it was being prefilled, and its own TTFT.
//   npx tsx bench/long-prompt-itl.ts http://127.0.0.1:8080 [clients=4] [promptTokens=2000]
import { percentile } from './metrics.ts';
import { sseData } from './run-http.ts';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const clients = Number(process.argv[3] ?? 4);
const promptTokens = Number(process.argv[4] ?? 2000);

interface Arrival {
  at: number;
  gap: number;
}

async function stream(body: object, onChunk: (now: number) => void): Promise<void> {
  const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  if (!res.ok || !res.body) throw new Error(`status ${res.status}: ${await res.text()}`);
  for await (const data of sseData(res.body)) {
    const f = JSON.parse(data) as { choices?: { text?: string }[] };
    if (f.choices?.[0]?.text) onChunk(performance.now());
  }
}

const arrivals: Arrival[] = [];
const others = Array.from({ length: clients }, (_, i) => {
  let last: number | null = null;
  return stream({ prompt: `Once upon a time, there was a little ${['cat', 'dog', 'bird', 'fox', 'bear', 'frog', 'duck', 'owl'][i % 8]}`, max_tokens: 400, temperature: 0 }, (now) => {
    if (last !== null) arrivals.push({ at: now, gap: now - last });
    last = now;
  });
});
await new Promise((r) => setTimeout(r, 3000));
const sent = performance.now();
let firstToken = 0;
// A prompt of about promptTokens tokens (stories260K: ~1.46 tokens per word of this text).
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'saw', 'big', 'red', 'ball'];
const long = Array.from({ length: Math.round(promptTokens / 1.46) }, (_, i) => words[(i * 7) % words.length]).join(' ');
await stream({ prompt: long, max_tokens: 4, temperature: 0 }, (now) => (firstToken ||= now));
await Promise.all(others);
const before = arrivals.filter((a) => a.at < sent && a.at > sent - 2500).map((a) => a.gap);
const during = arrivals.filter((a) => a.at >= sent && a.at <= firstToken).map((a) => a.gap);
console.log(JSON.stringify({
  clients,
  promptTokens,
  ttftLongMs: Math.round(firstToken - sent),
  before: { n: before.length, p50: percentile(before, 50), p99: percentile(before, 99) },
  during: { n: during.length, p50: percentile(during, 50), p99: percentile(during, 99) },
}));
