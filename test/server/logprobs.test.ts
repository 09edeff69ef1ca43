// logprobs over HTTP: completions (logprobs: k) and chat (logprobs + top_logprobs), plain and streamed;
// the token strings add up to the text, and the logprob of each token is its top alternative's under greedy.
import t from 'tap';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';
import { createEngine } from '../../server/engine.ts';
import { hasStories, STORIES } from '../helpers/models.ts';
import { buildTestApp, loadTestModel, MODEL_ID, parseSse } from './helpers.ts';

t.test('completions: parallel arrays whose tokens add up to the text', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: MODEL_ID, prompt: 'The little dog', max_tokens: 12, temperature: 0, logprobs: 3 } });
  t.equal(res.statusCode, 200);
  const body = res.json();
  const lp = body.choices[0].logprobs;
  t.equal(lp.tokens.length, body.usage.completion_tokens);
  t.ok(lp.token_logprobs.every((x: number) => x <= 0));
  t.ok(lp.top_logprobs.every((o: Record<string, number>) => Object.keys(o).length >= 1 && Object.keys(o).length <= 3));
  t.same(lp.text_offset[0], 0);
  for (let i = 0; i < lp.tokens.length; i++) {
    const best = Math.max(...Object.values(lp.top_logprobs[i] as Record<string, number>));
    t.ok(Math.abs(best - lp.token_logprobs[i]) < 1e-9, `greedy token ${i} is the most likely`);
  }
  const without = (await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: MODEL_ID, prompt: 'The little dog', max_tokens: 4, temperature: 0 } })).json();
  t.equal(without.choices[0].logprobs, null);
});

t.test('stories260K: the token strings add up to the text exactly', { skip: !hasStories && 'no ../shared/models' }, async (t) => {
  const runner = await ModelRunner.load(STORIES, { threads: 1 });
  const tokenizer = await loadTokenizer(STORIES, runner.source.generationConfig);
  const app = await buildTestApp(t, {}, createEngine({ runner, tokenizer, modelId: 'stories' }));
  for (const stream of [false, true]) {
    const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Once upon a time', max_tokens: 40, temperature: 0, logprobs: 1, stream } });
    let text: string;
    let tokens: string[];
    if (stream) {
      const chunks = parseSse(res.payload).filter((f) => f !== '[DONE]') as { choices: { text: string; logprobs: { tokens: string[] } | null }[] }[];
      text = chunks.map((c) => c.choices[0].text).join('');
      tokens = chunks.flatMap((c) => c.choices[0].logprobs?.tokens ?? []);
    } else {
      const body = res.json();
      text = body.choices[0].text;
      tokens = body.choices[0].logprobs.tokens;
    }
    t.equal(tokens.join(''), text, stream ? 'streamed' : 'plain');
  }
});

t.test('chat: content entries with bytes and top_logprobs; streamed chunks carry their tokens', async (t) => {
  const app = await buildTestApp(t);
  const payload = { model: MODEL_ID, messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 2 };
  const body = (await app.inject({ method: 'POST', url: '/v1/chat/completions', payload })).json();
  const content = body.choices[0].logprobs.content;
  t.equal(content.length, body.usage.completion_tokens);
  t.ok(content.every((c: { bytes: number[]; top_logprobs: unknown[] }) => Array.isArray(c.bytes) && c.top_logprobs.length === 2));
  const streamed = parseSse((await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { ...payload, stream: true } })).payload)
    .filter((f) => f !== '[DONE]') as { choices: { logprobs: { content: { token: string }[] } | null }[] }[];
  const tokens = streamed.flatMap((c) => c.choices[0]?.logprobs?.content ?? []).map((c) => c.token);
  t.same(tokens, content.map((c: { token: string }) => c.token), 'streamed logprobs cover the same tokens');
});

t.test('echo + logprobs scores the prompt (max_tokens 0: the prompt alone), as evaluation harnesses ask', async (t) => {
  const app = await buildTestApp(t);
  const m = await loadTestModel();
  const prompt = 'The little dog ran';
  const ids = m.tokenizer.encode(prompt);
  const only = (await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt, max_tokens: 0, echo: true, logprobs: 1, temperature: 0 } })).json();
  t.equal(only.choices[0].text, prompt);
  const lp = only.choices[0].logprobs;
  t.equal(lp.tokens.length, ids.length, 'one entry per prompt token');
  t.equal(lp.token_logprobs[0], null, 'the first token has no context');
  t.equal(lp.top_logprobs[0], null);
  t.ok(lp.token_logprobs.slice(1).every((x: number) => x <= 0));
  // The same numbers as the engine's generation logprobs for the next token after each prefix.
  const { generate } = await import('../../engine/generate.ts');
  const { GREEDY } = await import('../../common/sampling.ts');
  const direct = await generate(m.runner, { promptTokens: ids.slice(0, -1), maxTokens: 1, sampling: GREEDY, eosIds: [], logprobs: 1 });
  const { tokenLogprob } = await import('../../engine/logprobs.ts');
  const logits = await m.runner.prefill(m.runner.newCache(), ids.slice(0, -1));
  t.ok(Math.abs(tokenLogprob(logits, 0, m.runner.vocab, ids[ids.length - 1], 1).logprob - lp.token_logprobs[ids.length - 1]) < 1e-4, 'last prompt token scored by its prefix');
  t.ok(direct.logprobs!.length === 1);
  const more = (await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt, max_tokens: 3, echo: true, logprobs: 1, temperature: 0 } })).json();
  t.equal(more.choices[0].logprobs.tokens.length, ids.length + more.usage.completion_tokens, 'prompt then completion');
  t.ok(more.choices[0].text.startsWith(prompt));
});

t.test('bad combinations are 400s naming the param', async (t) => {
  const app = await buildTestApp(t);
  const zero = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', max_tokens: 0 } });
  t.equal(zero.statusCode, 400);
  t.equal(zero.json().error.param, 'max_tokens');
  const top = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'x' }], max_tokens: 2, top_logprobs: 2 } });
  t.equal(top.statusCode, 400);
  t.equal(top.json().error.param, 'top_logprobs');
  const many = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', max_tokens: 2, logprobs: 6 } });
  t.equal(many.statusCode, 400);
});
