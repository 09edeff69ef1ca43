// SSE streaming through app.inject: chunk order and shape, include_usage, stop strings that straddle
// chunks, n > 1, speculation on the usage chunk, and an engine error after the headers.
import t from 'tap';
import { errors } from '../../common/errors.ts';
import { generate } from '../../engine/generate.ts';
import type { GenerateFn } from '../../server/engine.ts';
import { buildTestApp, greedyReference, loadTestModel, MODEL_ID, parseSse, testEngine } from './helpers.ts';

const PROMPT = 'The little dog';
type Chunk = Record<string, unknown> & { id: string; created: number; choices: Record<string, unknown>[]; usage?: unknown };

function chunksOf(payload: string): { chunks: Chunk[]; done: boolean } {
  const frames = parseSse(payload);
  const done = frames[frames.length - 1] === '[DONE]';
  return { chunks: frames.filter((f) => f !== '[DONE]') as Chunk[], done };
}

t.test('completions stream: deltas add up to the non-streamed text; usage chunk last', async (t) => {
  const app = await buildTestApp(t);
  const payload = { model: MODEL_ID, prompt: PROMPT, max_tokens: 48, temperature: 0 };
  const plain = (await app.inject({ method: 'POST', url: '/v1/completions', payload })).json();
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...payload, stream: true, stream_options: { include_usage: true } } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/event-stream/);
  const { chunks, done } = chunksOf(res.payload);
  t.ok(done, 'ends with [DONE]');
  t.ok(chunks.length > 3);
  t.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id');
  t.equal(new Set(chunks.map((c) => c.created)).size, 1, 'one created');
  const last = chunks[chunks.length - 1];
  t.same(last.choices, [], 'usage chunk has empty choices');
  t.same(last.usage, plain.usage);
  const body = chunks.slice(0, -1);
  t.ok(body.every((c) => c.usage === null && c.object === 'text_completion'), 'other chunks carry usage: null');
  t.equal(body.map((c) => c.choices[0].text).join(''), plain.choices[0].text);
  t.ok(body.slice(0, -1).every((c) => c.choices[0].finish_reason === null && c.choices[0].text !== ''));
  t.match(body[body.length - 1].choices[0], { text: '', finish_reason: plain.choices[0].finish_reason });
});

t.test('continuous_usage_stats: every text chunk carries the running usage', async (t) => {
  const app = await buildTestApp(t, { streamIntervalMs: 0 });
  const payload = { model: MODEL_ID, prompt: PROMPT, max_tokens: 24, temperature: 0, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } };
  const { chunks } = chunksOf((await app.inject({ method: 'POST', url: '/v1/completions', payload })).payload);
  const final = chunks[chunks.length - 1].usage as { prompt_tokens: number; completion_tokens: number };
  const text = chunks.filter((c) => c.choices.length > 0 && c.choices[0].text !== '');
  const counts = text.map((c) => (c.usage as { completion_tokens: number; prompt_tokens: number; total_tokens: number }));
  t.ok(counts.length > 3 && counts.every((u) => u && u.prompt_tokens === final.prompt_tokens && u.total_tokens === u.prompt_tokens + u.completion_tokens), 'usage on every text chunk');
  t.ok(counts.every((u, i) => i === 0 || u.completion_tokens >= counts[i - 1].completion_tokens), 'running counts never go down');
  t.ok(counts[counts.length - 1].completion_tokens <= final.completion_tokens && counts[counts.length - 1].completion_tokens >= final.completion_tokens - 2, 'the last count is (about) the final one');
  const plainUsage = chunksOf((await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...payload, stream_options: { include_usage: true } } })).payload).chunks;
  t.ok(plainUsage.slice(0, -1).every((c) => c.usage === null), 'without it, text chunks carry usage: null');
});

t.test('chat stream: role first, content deltas, finish_reason, no usage unless asked', async (t) => {
  const app = await buildTestApp(t);
  const payload = { messages: [{ role: 'user', content: 'Hi there' }], max_tokens: 24, temperature: 0 };
  const plain = (await app.inject({ method: 'POST', url: '/v1/chat/completions', payload })).json();
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { ...payload, stream: true } });
  const { chunks, done } = chunksOf(res.payload);
  t.ok(done);
  t.match(chunks[0], { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  t.ok(chunks.every((c) => !('usage' in c)), 'no usage field without include_usage');
  const deltas = chunks.slice(1, -1).map((c) => (c.choices[0].delta as { content: string }).content);
  t.equal(deltas.join(''), plain.choices[0].message.content);
  t.match(chunks[chunks.length - 1].choices[0], { delta: {}, finish_reason: plain.choices[0].finish_reason });
});

t.test('a stop string is never partly streamed, even across chunks', async (t) => {
  const app = await buildTestApp(t);
  const { tokenizer } = await loadTestModel();
  const ref = await greedyReference(PROMPT, 60);
  for (const at of [5, 11, 17]) {
    const head = tokenizer.decode(ref.tokens.slice(0, at)).length;
    const stop = ref.text.slice(head - 3, head + 3); // straddles tokens at-1 and at
    const expected = ref.text.slice(0, ref.text.indexOf(stop));
    const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 60, temperature: 0, stop, stream: true } });
    const { chunks } = chunksOf(res.payload);
    const texts = chunks.map((c) => c.choices[0].text as string);
    t.equal(texts.join(''), expected, `stop ${JSON.stringify(stop)}: text before it, nothing of it`);
    t.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'stop');
  }
});

t.test('n = 2 streams both choices by index', async (t) => {
  const app = await buildTestApp(t);
  const payload = { prompt: PROMPT, max_tokens: 16, temperature: 0.8, seed: 7, n: 2 };
  const plain = (await app.inject({ method: 'POST', url: '/v1/completions', payload })).json();
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...payload, stream: true } });
  const { chunks } = chunksOf(res.payload);
  for (const i of [0, 1]) {
    const mine = chunks.filter((c) => c.choices[0].index === i);
    t.equal(mine.map((c) => c.choices[0].text).join(''), plain.choices[i].text, `choice ${i}`);
    t.equal(mine.filter((c) => c.choices[0].finish_reason !== null).length, 1);
  }
});

t.test('speculation stats ride on the usage chunk', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({
    method: 'POST', url: '/v1/completions',
    payload: { prompt: PROMPT, max_tokens: 32, temperature: 0, stream: true, stream_options: { include_usage: true }, speculation: { drafters: ['lookup'] } },
  });
  const { chunks } = chunksOf(res.payload);
  t.match(chunks[chunks.length - 1], { choices: [], usage: { completion_tokens: Number }, speculation: { drafters: ['lookup'], steps: Number, drafted: Number, accepted: Number } });
});

t.test('an engine error after the headers: error chunk, then [DONE]', async (t) => {
  const failing: GenerateFn = async (runner, req, onTokens) => generate(runner, { ...req, maxTokens: 8 }, (toks) => {
    onTokens?.(toks);
    if (toks.length) throw errors.internal('kaboom in step');
  });
  const app = await buildTestApp(t, {}, testEngine({ generate: failing }));
  // Greedy, so a token certainly comes (a sampled end-of-sequence first token would leave nothing to fail on).
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 8, temperature: 0, stream: true } });
  t.equal(res.statusCode, 200);
  const frames = parseSse(res.payload);
  t.equal(frames[frames.length - 1], '[DONE]');
  t.same(frames[frames.length - 2], { error: { message: 'internal server error', type: 'server_error', param: null, code: 'SPRIG_ERR_INTERNAL' } }, '5xx details are hidden');
  const after = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 8, temperature: 0 } });
  t.equal(after.statusCode, 500, 'non-streamed: a plain 500');
  t.match(after.json(), { error: { type: 'server_error' } });
});
