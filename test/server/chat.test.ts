// /v1/chat/completions through app.inject: the chat template, content parts, max_completion_tokens,
// a model without a template, and the OpenAI parameters that are rejected for now.
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { buildTestApp, loadTestModel, MODEL_ID, testEngine } from './helpers.ts';

const MESSAGES = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me a story.' }];

async function chatReference(messages: { role: string; content: string }[], maxTokens: number) {
  const { runner, tokenizer } = await loadTestModel();
  const promptTokens = tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
  const res = await generate(runner, { promptTokens, maxTokens, sampling: { temperature: 0, topK: 0, topP: 1 }, eosIds: tokenizer.eosIds });
  return { text: tokenizer.decode(res.tokens), numPrompt: promptTokens.length, numTokens: res.tokens.length };
}

t.test('messages are rendered with the chat template; greedy equals in-process', async (t) => {
  const app = await buildTestApp(t);
  const ref = await chatReference(MESSAGES, 20);
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: MODEL_ID, messages: MESSAGES, max_tokens: 20, temperature: 0 } });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.match(body, {
    id: /^chatcmpl-/,
    object: 'chat.completion',
    model: MODEL_ID,
    choices: [{ index: 0, message: { role: 'assistant', content: ref.text }, logprobs: null }],
    usage: { prompt_tokens: ref.numPrompt, completion_tokens: ref.numTokens, total_tokens: ref.numPrompt + ref.numTokens },
  });
});

t.test('max_completion_tokens wins over max_tokens; text content parts are joined', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 30, max_completion_tokens: 3, temperature: 0 } });
  t.equal(res.json().usage.completion_tokens, 3);
  const parts = await app.inject({
    method: 'POST', url: '/v1/chat/completions',
    payload: { messages: [{ role: 'user', content: [{ type: 'text', text: 'Tell me' }, { type: 'text', text: 'a story.' }] }], max_tokens: 8, temperature: 0 },
  });
  const ref = await chatReference([{ role: 'user', content: 'Tell me\na story.' }], 8);
  t.equal(parts.json().choices[0].message.content, ref.text);
  const image = await app.inject({
    method: 'POST', url: '/v1/chat/completions',
    payload: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
  });
  t.equal(image.statusCode, 400);
  t.match(image.json(), { error: { param: 'messages[0].content', message: /only text content parts/ } });
});

t.test('without max_tokens the reply may fill the context window', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, temperature: 0, stop: ['\u0000'] } });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.ok(body.usage.total_tokens <= 256);
  if (body.choices[0].finish_reason === 'length') t.equal(body.usage.total_tokens, 256);
});

t.test('a model without a chat template: 400 that says so', async (t) => {
  const { tokenizer } = await loadTestModel();
  const engine = await testEngine({ tokenizer: { ...tokenizer, hasChatTemplate: false } });
  const app = await buildTestApp(t, {}, engine);
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES } });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { error: { type: 'invalid_request_error', param: 'messages', message: /no chat_template/ } });
  t.equal((await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'hi', max_tokens: 2 } })).statusCode, 200, 'completions still work');
});

t.test('unsupported parameters are 400s that name the param', async (t) => {
  const app = await buildTestApp(t);
  // The test model's template never references `tools` (tool calls themselves: openai-tools.test.ts).
  const tools = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 2, tools: [{ type: 'function', function: { name: 'f' } }] } });
  t.equal(tools.statusCode, 400, 'tools');
  t.match(tools.json(), { error: { param: 'tools', message: /chat template has no tool support/ } }, 'tools');
  const zeros = await app.inject({
    method: 'POST', url: '/v1/chat/completions',
    payload: { messages: MESSAGES, max_tokens: 2, presence_penalty: 0, frequency_penalty: 0, logit_bias: {}, logprobs: false, response_format: { type: 'text' }, user: 'u1' },
  });
  t.equal(zeros.statusCode, 200, 'neutral values are accepted');
  const bias = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 3, temperature: 0, logit_bias: { 42: 100 } } });
  t.equal(bias.statusCode, 200, 'logit_bias is supported');
  const badBias = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 2, logit_bias: { 999999: 5 } } });
  t.match(badBias.json(), { error: { param: 'logit_bias', message: /token ids in \[0, / } }, 'out-of-vocabulary key');
  const topOnly = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 2, top_logprobs: 3 } });
  t.match(topOnly.json(), { error: { param: 'top_logprobs', message: /needs logprobs: true/ } }, 'top_logprobs alone');
});
