// The prefix cache through the API: a second request sharing a long system prompt reports
// usage.prompt_tokens_details.cached_tokens, writes the same text as a server without the cache, and moves
// sprig_prefix_cache_queries_total / sprig_prefix_cache_hits_total (in tokens).
import t from 'tap';
import { buildTestApp, MODEL_ID, parseSse } from './helpers.ts';

const SYSTEM = 'You are a helpful assistant for the village library. Answer briefly and kindly, and never invent book titles that the catalogue does not hold.';

interface Usage {
  prompt_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

const chat = (user: string) => ({ model: MODEL_ID, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }], max_tokens: 16, temperature: 0 });

t.test('chat: a shared system prompt is reused; same text as without the cache; metrics count tokens', async (t) => {
  const app = await buildTestApp(t);
  const off = await buildTestApp(t, { kvCacheMb: 0 });
  const first = (await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chat('Which books about owls do you have?') })).json();
  t.equal(first.usage.prompt_tokens_details.cached_tokens, 0, 'the first request finds nothing');
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chat('Is the library open on Sunday?') });
  t.equal(res.statusCode, 200);
  const second = res.json();
  const usage = second.usage as Usage;
  t.ok(usage.prompt_tokens_details.cached_tokens >= 64, `cached ${usage.prompt_tokens_details.cached_tokens} of ${usage.prompt_tokens} prompt tokens`);
  t.ok(usage.prompt_tokens_details.cached_tokens < usage.prompt_tokens);
  t.equal(usage.prompt_tokens_details.cached_tokens % 16, 0, 'whole blocks');

  const ref = (await off.inject({ method: 'POST', url: '/v1/chat/completions', payload: chat('Is the library open on Sunday?') })).json();
  t.equal(second.choices[0].message.content, ref.choices[0].message.content, 'same text as with --kv-cache-mb 0');
  t.equal(ref.usage.prompt_tokens_details.cached_tokens, 0, 'the cache off: nothing cached');

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).payload;
  t.equal(value(metrics, 'sprig_prefix_cache_queries_total'), first.usage.prompt_tokens + usage.prompt_tokens, 'queries: every prompt token looked up');
  t.equal(value(metrics, 'sprig_prefix_cache_hits_total'), usage.prompt_tokens_details.cached_tokens, 'hits: the cached tokens');
  const offMetrics = (await off.inject({ method: 'GET', url: '/metrics' })).payload;
  t.equal(value(offMetrics, 'sprig_prefix_cache_queries_total'), 0, 'the cache off: no queries counted');
});

t.test('completions: streamed usage carries cached_tokens, and the streamed text equals the plain one', async (t) => {
  const app = await buildTestApp(t);
  const payload = { model: MODEL_ID, prompt: `${SYSTEM}\nQ: Do you lend maps?\nA:`, max_tokens: 16, temperature: 0 };
  const plain = (await app.inject({ method: 'POST', url: '/v1/completions', payload })).json();
  t.equal(plain.usage.prompt_tokens_details.cached_tokens, 0);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...payload, stream: true, stream_options: { include_usage: true } } });
  const frames = parseSse(res.payload).filter((f) => f !== '[DONE]') as { choices: { text: string }[]; usage: Usage | null }[];
  const last = frames[frames.length - 1];
  t.equal(last.usage!.prompt_tokens, plain.usage.prompt_tokens);
  const cached = last.usage!.prompt_tokens_details.cached_tokens;
  t.ok(cached > 0 && cached < plain.usage.prompt_tokens, `the same prompt again: ${cached} of ${plain.usage.prompt_tokens} tokens cached`);
  t.equal(frames.slice(0, -1).map((f) => f.choices[0].text).join(''), plain.choices[0].text, 'same text from the cache');
});
