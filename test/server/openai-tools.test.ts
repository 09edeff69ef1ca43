// Tool calls through the official `openai` client on a real socket, on the test model with a Hermes-style and a
// Llama-3-style chat template: required and named calls are constrained to the function's schema (speculation on),
// plain and streamed; none and auto give text; multi-turn with a tool message; a template without tools is a 400.
import OpenAI from 'openai';
import t, { type Test } from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildTestApp, listen, MODEL_ID } from './helpers.ts';
import { HERMES_TEMPLATE, LLAMA3_TEMPLATE } from '../helpers/tool-templates.ts';
import { toolEngine } from '../helpers/tool-model.ts';

type Tool = OpenAI.Chat.Completions.ChatCompletionTool;

const WEATHER = {
  type: 'object',
  properties: {
    city: { type: 'string', maxLength: 12 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const ALARM = {
  type: 'object',
  properties: { hour: { type: 'integer', minimum: 0, maximum: 23 }, loud: { type: 'boolean' } },
  required: ['hour', 'loud'],
  additionalProperties: false,
};
const SCHEMAS: Record<string, object> = { get_weather: WEATHER, set_alarm: ALARM };
const TOOLS: Tool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: WEATHER } },
  { type: 'function', function: { name: 'set_alarm', description: 'Set an alarm', parameters: ALARM } },
];
const MESSAGES: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
const ajv = new Ajv2020({ strict: false });
/** Sprig's extension, as an extra body field. */
const SPECULATION = { speculation: { drafters: ['lookup', 'recycling'] } } as object;

async function client(t: Test, name: string, template: string) {
  const app = await buildTestApp(t, {}, toolEngine(name, template));
  return new OpenAI({ baseURL: `${await listen(app)}/v1`, apiKey: 'none', maxRetries: 0 });
}

function checkCall(t: Test, call: { id?: string; type?: string; function?: { name?: string; arguments?: string } } | undefined, names: string[], what: string) {
  t.ok(call?.id?.startsWith('call_'), `${what}: id`);
  t.equal(call?.type, 'function', `${what}: type`);
  const name = call?.function?.name ?? '';
  t.ok(names.includes(name), `${what}: name ${name}`);
  const args = JSON.parse(call?.function?.arguments ?? 'null');
  t.ok(ajv.validate(SCHEMAS[name] ?? false, args), `${what}: arguments ${call?.function?.arguments} validate`);
}

/** A streamed chat, its deltas gathered as an OpenAI client would (tool call pieces joined by index). */
async function streamed(openai: OpenAI, body: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming) {
  let content = '';
  let finish: string | null = null;
  const calls: { id?: string; type?: string; function: { name?: string; arguments: string } }[] = [];
  const firsts: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
  for await (const chunk of await openai.chat.completions.create(body)) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta.content ?? '';
    for (const d of choice.delta.tool_calls ?? []) {
      if (!calls[d.index]) {
        firsts.push(d);
        calls[d.index] = { id: d.id, type: d.type, function: { name: d.function?.name, arguments: '' } };
      }
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { content, finish, calls, firsts };
}

for (const [style, template] of [['hermes', HERMES_TEMPLATE], ['llama3', LLAMA3_TEMPLATE]] as const) {
  t.test(`${style}: required and named calls follow the function's schema, plain and streamed`, async (t) => {
    const openai = await client(t, style, template);
    for (const temperature of [0, 1]) {
      const res = await openai.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, tool_choice: 'required', max_completion_tokens: 120, temperature, seed: 5, ...SPECULATION });
      const choice = res.choices[0];
      t.equal(choice.finish_reason, 'tool_calls', `required T=${temperature}`);
      t.equal(choice.message.tool_calls?.length, 1);
      checkCall(t, choice.message.tool_calls?.[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall, ['get_weather', 'set_alarm'], `required T=${temperature}`);
      const spec = (res as unknown as { speculation: { drafters: string[]; constraint?: object } }).speculation;
      t.ok(spec.constraint, 'the call was constrained, speculation on');
      t.same(spec.drafters, ['lookup', 'recycling']);

      for (const name of ['get_weather', 'set_alarm']) {
        const named = await openai.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, tool_choice: { type: 'function', function: { name } }, max_completion_tokens: 120, temperature, seed: 7 });
        t.equal(named.choices[0].finish_reason, 'tool_calls');
        checkCall(t, named.choices[0].message.tool_calls?.[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall, [name], `named ${name} T=${temperature}`);
      }
    }

    const body = { model: MODEL_ID, messages: MESSAGES, tools: TOOLS, tool_choice: 'required' as const, max_completion_tokens: 120, temperature: 0 };
    const plain = await openai.chat.completions.create(body);
    const s = await streamed(openai, { ...body, stream: true });
    t.equal(s.finish, 'tool_calls', 'streamed finish_reason');
    t.equal(s.calls.length, 1);
    checkCall(t, s.calls[0], ['get_weather', 'set_alarm'], 'streamed');
    t.ok(s.firsts[0].id && s.firsts[0].function?.name && s.firsts[0].index === 0, 'the first delta has index, id and name');
    const p = plain.choices[0].message.tool_calls?.[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    t.same(s.calls[0].function, p.function, 'streamed call equals the plain one (greedy)');
    t.equal(s.content, '', 'no content beside the call');
    t.equal(plain.choices[0].message.content, null);
  });

  t.test(`${style}: none gives text, auto is not constrained`, async (t) => {
    const openai = await client(t, style, template);
    const none = await openai.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, tool_choice: 'none', max_completion_tokens: 24, temperature: 0 });
    t.equal(typeof none.choices[0].message.content, 'string');
    t.notOk(none.choices[0].message.tool_calls, 'no calls');
    t.match(none.choices[0].finish_reason, /^(stop|length)$/);
    const auto = await openai.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, max_completion_tokens: 24, temperature: 0 });
    t.notOk((auto as unknown as { speculation: { constraint?: object } }).speculation.constraint, 'auto is not constrained');
    // A random model writes no call, so auto's reply is its text; parsing a real call is tested in tool-calls.test.ts.
    t.equal(auto.choices[0].message.content, none.choices[0].message.content, 'the same prompt (tools rendered either way), the same greedy text');
    const s = await streamed(openai, { model: MODEL_ID, messages: MESSAGES, tools: TOOLS, max_completion_tokens: 24, temperature: 0, stream: true });
    t.equal(s.content, auto.choices[0].message.content, 'streamed auto equals plain');
  });

  t.test(`${style}: a multi-turn conversation with a tool result`, async (t) => {
    const openai = await client(t, style, template);
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      ...MESSAGES,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 21}' },
    ];
    const res = await openai.chat.completions.create({ model: MODEL_ID, messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'set_alarm' } }, max_completion_tokens: 120, temperature: 0 });
    checkCall(t, res.choices[0].message.tool_calls?.[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall, ['set_alarm'], 'after a tool result');
    const plainPrompt = await openai.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, max_completion_tokens: 1 });
    t.ok((res.usage?.prompt_tokens ?? 0) > (plainPrompt.usage?.prompt_tokens ?? 0) + 20, 'the call and its result are in the prompt');
  });
}

t.test('tools on a template without tool support, and bad tool requests, are 400s', async (t) => {
  const app = await buildTestApp(t);
  const openai = new OpenAI({ baseURL: `${await listen(app)}/v1`, apiKey: 'none', maxRetries: 0 });
  const status = async (p: Promise<unknown>, param: string, message: RegExp) => {
    try {
      await p;
      t.fail('expected a 400');
    } catch (e) {
      const err = e as InstanceType<typeof OpenAI.APIError>;
      t.equal(err.status, 400);
      t.equal(err.param, param);
      t.match(err.message, message);
    }
  };
  await status(openai.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS }), 'tools', /chat template has no tool support/);
  const hermes = await client(t, 'hermes', HERMES_TEMPLATE);
  await status(hermes.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }), 'tool_choice', /"nope", which is not in tools/);
  await status(hermes.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tool_choice: 'required' }), 'tool_choice', /no tools were given/);
  const bad: Tool[] = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { not: { type: 'string' } } } } } }];
  await status(hermes.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: bad, tool_choice: 'required' }), 'tools', /tools\[0\]\.function\.parameters\/properties\/x\/not/);
  await status(hermes.chat.completions.create({ model: MODEL_ID, messages: MESSAGES, tools: TOOLS, tool_choice: 'required', response_format: { type: 'json_object' } }), 'tool_choice', /cannot also follow response_format/);
});
