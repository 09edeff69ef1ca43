// Prompt size is bounded before tokenization, and tokenization never holds the event loop: a 4 MB prompt
// is refused at once while a short request runs beside it; a prompt too long for the window is refused
// with both numbers, for text, chat and token-id prompts; long prompts are encoded in the worker thread
// to exactly the ids the engine's own tokenizer gives.
import t from 'tap';
import { buildTestApp, greedyReference, listen, loadTestModel } from './helpers.ts';

const SHORT = { prompt: 'Once upon a time', max_tokens: 8, temperature: 0 };

function post(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

t.test('while a 4 MB prompt is handled, a short greedy request completes within 1 s with the same text', async (t) => {
  const app = await buildTestApp(t);
  const base = await listen(app);
  const idle = (await (await post(base, '/v1/completions', SHORT)).json()) as { choices: { text: string }[] };
  t.equal(idle.choices[0].text, (await greedyReference(SHORT.prompt, 8)).text, 'idle server: the reference text');

  const words = 'Once upon a time, there was a little fox named Pip who lived at the edge of a quiet wood. ';
  const bigBody = JSON.stringify({ prompt: words.repeat(Math.ceil(4_000_000 / words.length)).slice(0, 4_000_000), max_tokens: 4 });
  // The short request starts once the server has the big one's headers, so the two overlap.
  const arrived = new Promise<void>((resolve) => app.server.once('request', () => resolve()));
  const big = post(base, '/v1/completions', bigBody);
  await arrived;
  const started = performance.now();
  const short = (await (await post(base, '/v1/completions', SHORT)).json()) as { choices: { text: string }[] };
  const shortMs = performance.now() - started;
  t.equal(short.choices[0].text, idle.choices[0].text, 'the same text as on an idle server');
  t.ok(shortMs < 1000, `the short request took ${Math.round(shortMs)} ms`);
  const res = await big;
  t.equal(res.status, 400);
  const e = ((await res.json()) as { error: { code: string; param: string; message: string } }).error;
  t.match(e, { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: 'prompt' });
  t.match(e.message, /context window is 256 tokens/);
  t.match(e.message, /at least \d+ tokens \(4000000 bytes of UTF-8, and no token of this model stands for more than \d+ bytes\)/);
});

t.test('a prompt that cannot fit is refused before tokenization, with both numbers: text, chat, token ids', async (t) => {
  const { tokenizer } = await loadTestModel();
  let encoded = 0;
  let decoded = 0;
  const spy = { ...tokenizer, encode: (...a: Parameters<typeof tokenizer.encode>) => (encoded++, tokenizer.encode(...a)), decode: (...a: Parameters<typeof tokenizer.decode>) => (decoded++, tokenizer.decode(...a)) };
  const { testEngine } = await import('./helpers.ts');
  const app = await buildTestApp(t, {}, testEngine({ tokenizer: spy }));
  await app.sprig.getEncoder();
  encoded = 0; // the bound's start-up probes are not requests
  const text = 'fox '.repeat(20_000);
  const cases = [
    { url: '/v1/completions', payload: { prompt: text }, param: 'prompt' },
    { url: '/v1/completions', payload: { prompt: ['short', text] }, param: 'prompt' },
    { url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: text }] }, param: 'messages' },
  ];
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: c.url, payload: c.payload });
    t.equal(res.statusCode, 400, c.url);
    const e = (res.json() as { error: { code: string; param: string; message: string } }).error;
    t.match(e, { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', param: c.param });
    t.match(e.message, /context window is 256 tokens, but the (prompt|rendered chat)( \(prompt 1\))? has at least \d+ tokens/);
  }
  t.equal(encoded, 0, 'nothing was tokenized');
  const ids = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: Array(1_000_000).fill(5) } });
  t.equal(ids.statusCode, 400);
  t.match(ids.json(), { error: { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', message: /prompt has 1000000 tokens/ } });
  t.equal(decoded, 0, 'token ids that cannot fit are never decoded');
});

t.test('long prompts are encoded in the worker thread, to the same ids', async (t) => {
  const app = await buildTestApp(t);
  const { tokenizer } = await loadTestModel();
  const encoder = await app.sprig.getEncoder();
  t.ok(encoder.threaded, 'the test engine has a tokenizer path');
  // Past the inline limit, inside the bound, too many tokens: the exact count comes from the worker.
  const long = 'Pip saw a shiny red stone in the water. '.repeat(40);
  const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: long, max_tokens: 1 } });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { error: { param: 'prompt', message: new RegExp(`prompt has ${tokenizer.encode(long).length} tokens and`) } });
  // One that fits: the same completion as the in-process reference.
  let word = '';
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const w = tokenizer.decode([5, id]).slice(tokenizer.decode([5]).length);
    if (/^ \w+$/.test(w) && w.length > word.length) word = w;
  }
  const fits = word.repeat(Math.ceil(1100 / word.length));
  t.ok(Buffer.byteLength(fits) > 1024 && tokenizer.encode(fits).length < 200, `long enough for the worker, short enough to fit: ${JSON.stringify(word)}`);
  const ok = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: fits, max_tokens: 6, temperature: 0 } });
  t.equal(ok.statusCode, 200, ok.body);
  t.equal((ok.json() as { choices: { text: string }[] }).choices[0].text, (await greedyReference(fits, 6)).text);
  t.same(await encoder.encode(long), tokenizer.encode(long), 'worker ids = event-loop ids');
});

t.test('chat with tools: the template gets tools, an assistant\'s tool_calls (arguments as objects) and tool results', async (t) => {
  const { readTokenizerFiles, tokenizerFromJson } = await import('../../model/tokenizer.ts');
  const { chatPrompt, promptRoom } = await import('../../server/prompts.ts');
  const { PromptEncoder } = await import('../../server/prompt-encoder.ts');
  const { HERMES_TEMPLATE } = await import('../helpers/tool-templates.ts');
  const { testModelDir } = await import('./helpers.ts');
  const { json, config } = readTokenizerFiles(testModelDir());
  const tokenizer = tokenizerFromJson(json, { ...config, chat_template: HERMES_TEMPLATE }, undefined, 'test');
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const messages = [
    { role: 'user' as const, content: 'Weather in Paris?' },
    { role: 'assistant' as const, content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
    { role: 'tool' as const, tool_call_id: 'call_1', content: '{"temperature": 21}' },
  ];
  const p = await chatPrompt(messages, new PromptEncoder(tokenizer, undefined), tokenizer, promptRoom(100_000, 10, 'messages'), tools);
  t.match(p.text, '<tools>\n{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}\n</tools>');
  t.match(p.text, '<|assistant|>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call></s>');
  t.match(p.text, '<tool_response>\n{"temperature": 21}\n</tool_response>');
  t.ok(p.text.endsWith('<|assistant|>\n'));
  t.same(p.tokens, tokenizer.encode(p.text, { addSpecialTokens: false }));
  const noTools = await chatPrompt(messages.slice(0, 1), new PromptEncoder(tokenizer, undefined), tokenizer, promptRoom(100_000, 10, 'messages'));
  t.notMatch(noTools.text, '<tools>', 'without tools the template leaves them out');
  const bad = [{ role: 'assistant' as const, content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }];
  await t.rejects(chatPrompt(bad, new PromptEncoder(tokenizer, undefined), tokenizer, promptRoom(100_000, 10, 'messages')), { param: 'messages[0].tool_calls', message: /not JSON/ });
});
