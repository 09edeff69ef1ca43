// /v1/completions through app.inject: the four prompt forms, echo, n, stop strings, seeds, speculation.
import t from 'tap';
import type { Engine } from '../../server/engine.ts';
import { buildTestApp, greedyReference, loadTestModel, MODEL_ID, testEngine } from './helpers.ts';

const PROMPT = 'Once upon a time';

interface Completion {
  id: string;
  object: string;
  model: string;
  choices: { index: number; text: string; finish_reason: string; logprobs: null }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  speculation?: Record<string, unknown> & { drafters: string[]; steps: number; drafted: number; accepted: number };
}

t.test('string prompt: greedy output equals in-process generate', async (t) => {
  const app = await buildTestApp(t);
  const ref = await greedyReference(PROMPT, 24);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: MODEL_ID, prompt: PROMPT, max_tokens: 24, temperature: 0 } });
  t.equal(res.statusCode, 200);
  t.ok(res.headers['x-request-id'], 'request id header');
  const body = res.json() as Completion;
  t.match(body, { object: 'text_completion', model: MODEL_ID, choices: [{ index: 0, text: ref.text, logprobs: null }] });
  t.match(body.id, /^cmpl-/);
  const { tokenizer } = await loadTestModel();
  const numPrompt = tokenizer.encode(PROMPT).length;
  t.same(body.usage, { prompt_tokens: numPrompt, completion_tokens: ref.tokens.length, total_tokens: numPrompt + ref.tokens.length, prompt_tokens_details: { cached_tokens: 0 } });
  t.equal(body.choices[0].finish_reason, ref.tokens.length === 24 ? 'length' : 'stop');
});

t.test('prompt forms: string[], token ids, token id arrays', async (t) => {
  const app = await buildTestApp(t);
  const { tokenizer } = await loadTestModel();
  const a = await greedyReference('alpha', 8);
  const b = await greedyReference('beta', 8);
  const post = (prompt: unknown) => app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt, max_tokens: 8, temperature: 0 } });

  const many = (await post(['alpha', 'beta'])).json() as Completion;
  t.same(many.choices.map((c) => [c.index, c.text]), [[0, a.text], [1, b.text]]);
  const ids = (await post(tokenizer.encode('alpha'))).json() as Completion;
  t.equal(ids.choices[0].text, a.text);
  const idArrays = (await post([tokenizer.encode('alpha'), tokenizer.encode('beta')])).json() as Completion;
  t.same(idArrays.choices.map((c) => c.text), [a.text, b.text]);
  t.equal(idArrays.usage.prompt_tokens, tokenizer.encode('alpha').length + tokenizer.encode('beta').length);

  const outside = await post([1, 2, 99999]);
  t.equal(outside.statusCode, 400);
  t.match(outside.json(), { error: { param: 'prompt', message: /99999.*vocabulary/ } });
  const empty = await post([]);
  t.equal(empty.statusCode, 400);
});

t.test('echo prepends the prompt; suffix is rejected clearly', async (t) => {
  const app = await buildTestApp(t);
  const ref = await greedyReference(PROMPT, 6);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 6, temperature: 0, echo: true } });
  t.equal((res.json() as Completion).choices[0].text, PROMPT + ref.text);
  const sfx = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, suffix: 'the end' } });
  t.equal(sfx.statusCode, 400);
  t.match(sfx.json(), { error: { param: 'suffix', type: 'invalid_request_error', message: /suffix is not supported/ } });
});

t.test('n > 1 runs n generations; seeds make sampling reproducible', async (t) => {
  const app = await buildTestApp(t);
  const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 12, temperature: 1, ...payload } });
  const a = (await post({ seed: 42 })).json() as Completion;
  const b = (await post({ seed: 42 })).json() as Completion;
  t.equal(a.choices[0].text, b.choices[0].text, 'same seed, same text');
  const others = await Promise.all([1, 2, 3, 4].map(async (seed) => ((await post({ seed })).json() as Completion).choices[0].text));
  t.ok(others.some((x) => x !== a.choices[0].text), 'other seeds give other text');

  const n3 = (await post({ seed: 42, n: 3 })).json() as Completion;
  t.equal(n3.choices.length, 3);
  t.same(n3.choices.map((c) => c.index), [0, 1, 2]);
  t.equal(n3.choices[0].text, a.choices[0].text, 'choice 0 uses the seed itself');
  t.ok(n3.usage.completion_tokens > 0 && n3.usage.completion_tokens <= 3 * 12, 'usage sums the choices');
  const n3again = (await post({ seed: 42, n: 3 })).json() as Completion;
  t.same(n3again.choices.map((c) => c.text), n3.choices.map((c) => c.text));
});

t.test('stop strings end the text before the stop, across token boundaries', async (t) => {
  const app = await buildTestApp(t);
  const { tokenizer } = await loadTestModel();
  const ref = await greedyReference(PROMPT, 40);
  // Pick a stop string that straddles the boundary between two tokens.
  const first = tokenizer.decode(ref.tokens.slice(0, 6));
  const stop = ref.text.slice(first.length - 2, first.length + 2);
  t.ok(stop.length === 4 && ref.text.includes(stop), `stop ${JSON.stringify(stop)} is in the text`);
  const expected = ref.text.slice(0, ref.text.indexOf(stop));
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 40, temperature: 0, stop: [stop, '\u0000never'] } });
  const body = res.json() as Completion;
  t.equal(body.choices[0].text, expected);
  t.equal(body.choices[0].finish_reason, 'stop');
  t.ok(body.usage.completion_tokens < 40, 'generation stopped early');
  const single = (await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 40, temperature: 0, stop } })).json() as Completion;
  t.equal(single.choices[0].text, expected, 'stop as a plain string');
});

t.test('speculation: per-request drafters and stats in the response', async (t) => {
  const app = await buildTestApp(t);
  const ref = await greedyReference(PROMPT, 48);
  const post = (speculation: object) => app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 48, temperature: 0, speculation } });
  const spec = (await post({ drafters: ['lookup'], max_tree_tokens: 8 })).json() as Completion;
  t.equal(spec.choices[0].text, ref.text, 'greedy speculation is lossless');
  t.ok(spec.speculation, 'speculation object');
  const s = spec.speculation!;
  t.same(s.drafters, ['lookup']);
  t.ok(s.steps > 0 && s.steps <= 48);
  t.ok(s.accepted <= s.drafted);
  t.match(s, { mean_accepted_length: Number, acceptance_by_depth: Array, per_drafter: Object });

  const off = (await post({ enabled: false })).json() as Completion;
  t.equal(off.choices[0].text, ref.text);
  t.same(off.speculation?.drafters, ['none']);
  t.equal(off.speculation?.drafted, 0);

  const bad = await post({ drafters: ['nope'] });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { error: { param: 'speculation.drafters', message: /unknown drafter/ } });
  const noDraft = await post({ drafters: ['draft'] });
  t.equal(noDraft.statusCode, 400);
  t.match(noDraft.json(), { error: { param: 'speculation.drafters', message: /started without --draft/ } });
  const tooBig = await post({ drafters: ['lookup'], max_tree_tokens: 100_000 });
  t.equal(tooBig.statusCode, 400);
  t.match(tooBig.json(), { error: { param: 'speculation.max_tree_tokens', message: /at most \d+ draft tokens/ } });
});

t.test('/v1/models and /health', async (t) => {
  const app = await buildTestApp(t);
  const models = await app.inject({ method: 'GET', url: '/v1/models' });
  t.match(models.json(), { object: 'list', data: [{ id: MODEL_ID, object: 'model', owned_by: 'sprig', context_length: 256 }] });
  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
});

t.test('/health is 503 until the engine is ready; requests wait for it', async (t) => {
  let resolve!: (e: Engine) => void;
  const pending = new Promise<Engine>((r) => (resolve = r));
  const app = await buildTestApp(t, {}, pending);
  const before = await app.inject({ method: 'GET', url: '/health' });
  t.equal(before.statusCode, 503);
  t.same(before.json(), { status: 'loading' });
  const waiting = app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: PROMPT, max_tokens: 2 } });
  resolve(await testEngine());
  t.equal((await waiting).statusCode, 200, 'a request made while loading is served once ready');
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});
