// The official `openai` npm client against a real socket: completions, chat, streaming with
// include_usage, stop strings, seeds, the speculation extension, and each error status.
import OpenAI from 'openai';
import t, { type Test } from 'tap';
import type { ServerConfig } from '../../server/config.ts';
import { buildTestApp, greedyReference, listen, MODEL_ID, sleep, spyGenerate, testEngine } from './helpers.ts';

const PROMPT = 'Once upon a time';

async function client(t: Test, config: Partial<ServerConfig> = {}, engine?: ReturnType<typeof testEngine>) {
  const app = await buildTestApp(t, { apiKey: 'test-key', ...config }, engine);
  const base = await listen(app);
  return { app, openai: new OpenAI({ baseURL: `${base}/v1`, apiKey: 'test-key', maxRetries: 0 }), base };
}

t.test('completions and chat, plain and streamed', async (t) => {
  const { openai } = await client(t);
  const ref = await greedyReference(PROMPT, 20);
  const c = await openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 20, temperature: 0 });
  t.equal(c.object, 'text_completion');
  t.equal(c.choices[0].text, ref.text);
  t.equal(c.usage?.completion_tokens, ref.tokens.length);

  const models = await openai.models.list();
  t.same(models.data.map((m) => m.id), [MODEL_ID]);

  const chat = await openai.chat.completions.create({ model: MODEL_ID, messages: [{ role: 'user', content: 'Hello' }], max_completion_tokens: 12, temperature: 0 });
  t.equal(chat.choices[0].message.role, 'assistant');
  t.equal(typeof chat.choices[0].message.content, 'string');

  const stream = await openai.chat.completions.create({
    model: MODEL_ID, messages: [{ role: 'user', content: 'Hello' }], max_completion_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let role: string | undefined;
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    role ??= chunk.choices[0]?.delta.role;
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  t.equal(role, 'assistant');
  t.equal(text, chat.choices[0].message.content, 'stream equals the plain reply');
  t.equal(finish, chat.choices[0].finish_reason);
  // The same prompt again: its whole blocks come from the prefix cache, everything else is as before.
  t.same({ ...usage, prompt_tokens_details: undefined }, { ...chat.usage, prompt_tokens_details: undefined });
  t.equal(chat.usage?.prompt_tokens_details?.cached_tokens, 0);
  t.ok(usage?.prompt_tokens_details?.cached_tokens, 'the repeated prompt reports cached_tokens');

  const cstream = await openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 20, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let ctext = '';
  let cusage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of cstream) {
    ctext += chunk.choices[0]?.text ?? '';
    if (chunk.usage) cusage = chunk.usage;
  }
  t.equal(ctext, ref.text);
  t.equal(cusage?.completion_tokens, ref.tokens.length);
});

t.test('stop strings across chunk boundaries, seeds, speculation', async (t) => {
  const { openai } = await client(t);
  const ref = await greedyReference(PROMPT, 40);
  const stop = ref.text.slice(10, 14);
  const expected = ref.text.slice(0, ref.text.indexOf(stop));
  const stream = await openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0, stop: [stop], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  t.equal(text, expected, 'streamed text stops before the stop string');

  const sample = (seed: number) => openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 16, temperature: 1.2, top_p: 0.95, seed });
  const [a, b] = [await sample(123), await sample(123)];
  t.equal(a.choices[0].text, b.choices[0].text, 'same seed, same text');

  // The speculation extension travels as an extra body field.
  const spec = await openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 40, temperature: 0, speculation: { drafters: ['lookup', 'recycling'], max_tree_tokens: 6 } } as OpenAI.CompletionCreateParamsNonStreaming);
  const stats = (spec as unknown as { speculation: { drafters: string[]; steps: number; per_drafter: Record<string, unknown> } }).speculation;
  t.equal(spec.choices[0].text, ref.text, 'greedy speculation is lossless');
  t.same(stats.drafters, ['lookup', 'recycling']);
  t.ok(stats.steps > 0);
  t.ok(stats.per_drafter.lookup);
});

t.test('error statuses as the client sees them', async (t) => {
  const spy = spyGenerate(10);
  const { openai, base, app } = await client(t, { maxConcurrent: 1, maxQueue: 0, bodyLimitBytes: 4096 }, testEngine({ generate: spy.generate }));
  const expectStatus = async (p: Promise<unknown>, status: number, param?: string) => {
    try {
      await p;
      t.fail(`expected ${status}`);
    } catch (e) {
      t.ok(e instanceof OpenAI.APIError, 'APIError');
      const err = e as InstanceType<typeof OpenAI.APIError>;
      t.equal(err.status, status);
      if (param) t.equal(err.param, param);
      t.equal(typeof err.message, 'string');
    }
  };
  await expectStatus(openai.completions.create({ model: MODEL_ID, prompt: PROMPT, temperature: 5 }), 400, 'temperature');
  await expectStatus(openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 100_000 }), 400, 'max_tokens');
  await expectStatus(openai.completions.create({ model: 'nope', prompt: PROMPT }), 404, 'model');
  await expectStatus(openai.completions.create({ model: MODEL_ID, prompt: 'x'.repeat(10_000) }), 413);
  await expectStatus(openai.chat.completions.create({ model: MODEL_ID, messages: [] }), 400, 'messages');
  const wrongKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await expectStatus(wrongKey.models.list(), 401);
  t.equal((await fetch(`${base}/health`)).status, 200, 'health needs no key');

  const busy = openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 30, temperature: 0 });
  while (spy.records.length < 1) await sleep(2);
  await expectStatus(openai.completions.create({ model: MODEL_ID, prompt: PROMPT, max_tokens: 2 }), 429);
  t.equal((await busy).choices.length, 1, 'the running request was unaffected');
  t.equal(app.sprig.scheduler.running, 0);
});
