// Reading tool calls out of replies: Hermes <tool_call> blocks and Llama 3 JSON, whole and streamed in every
// split, content kept or dropped as it should be, calls that do not parse left as text.
import t from 'tap';
import { TOOL_FORMATS } from '../../grammar/tool-formats.ts';
import { readToolCalls, ToolCallReader, type ToolEvent } from '../../server/tool-calls.ts';

const hermes = TOOL_FORMATS.hermes;
const llama = TOOL_FORMATS.llama3_json;

/** Streams `text` in pieces of `size` characters; returns content, calls (ids left out) and finish_reason. */
function stream(format: typeof hermes, text: string, size: number) {
  const r = new ToolCallReader(format);
  const events: ToolEvent[] = [];
  for (let i = 0; i < text.length; i += size) events.push(...r.push(text.slice(i, i + size)));
  events.push(...r.finish());
  return {
    content: events.map((e) => ('content' in e ? e.content : '')).join(''),
    calls: events.flatMap((e) => ('call' in e ? [{ index: e.call.index, name: e.call.function.name, arguments: e.call.function.arguments }] : [])),
    finish: r.finishReason('stop'),
  };
}

function whole(format: typeof hermes, text: string) {
  const r = readToolCalls(format, text, 'stop');
  return { content: r.content, calls: r.calls.map((c) => ({ name: c.function.name, arguments: c.function.arguments })), finish: r.finishReason };
}

t.test('hermes: content, then calls; streamed in any split equals whole', async (t) => {
  const text = 'Let me check.\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "set_alarm", "arguments": {"hour": 7}}\n</tool_call>';
  const w = whole(hermes, text);
  t.same(w, {
    content: 'Let me check.',
    calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }, { name: 'set_alarm', arguments: '{"hour":7}' }],
    finish: 'tool_calls',
  });
  for (const size of [1, 2, 3, 5, 11, 1000]) {
    const s = stream(hermes, text, size);
    t.equal(s.content, w.content, `split ${size}: content`);
    t.same(s.calls.map((c) => c.index), [0, 1]);
    t.same(s.calls.map(({ name, arguments: a }) => ({ name, arguments: a })), w.calls, `split ${size}: calls`);
  }
  const ids = readToolCalls(hermes, text, 'stop').calls.map((c) => c.id);
  t.ok(ids.every((id) => /^call_[0-9a-f]{24}$/.test(id)) && new Set(ids).size === 2, 'distinct ids');
});

t.test('hermes: only calls → content null; no calls → the text as is', async (t) => {
  t.same(whole(hermes, '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>'), { content: null, calls: [{ name: 'f', arguments: '{}' }], finish: 'tool_calls' });
  const plain = 'A tool_call <tool is not here.  \n';
  t.same(whole(hermes, plain), { content: plain, calls: [], finish: 'stop' });
  for (const size of [1, 4]) t.equal(stream(hermes, plain, size).content, plain, 'held-back text and whitespace come out at the end');
  t.same(whole(hermes, '<tool_call>\n{"name": "f", "arguments": {"a": 1}}'), { content: null, calls: [{ name: 'f', arguments: '{"a":1}' }], finish: 'tool_calls' }, 'the stop token before </tool_call>');
  t.same(whole(hermes, '<tool_call>\n{"name": "f", "arguments": "{\\"a\\": 1}"}\n</tool_call>').calls, [{ name: 'f', arguments: '{"a": 1}' }], 'string arguments pass as they are');
});

t.test('hermes: a call that does not parse stays text, and the finish is not tool_calls', async (t) => {
  const cut = '<tool_call>\n{"name": "f", "arguments": {"a": ';
  t.same(whole(hermes, cut), { content: cut, calls: [], finish: 'stop' });
  const bad = '<tool_call>\nnot json\n</tool_call>';
  t.same(whole(hermes, bad), { content: bad, calls: [], finish: 'stop' });
  const mixed = stream(hermes, '<tool_call>{"name": "f", "arguments": {}}</tool_call><tool_call>{"name": "g", "arguments": {', 3);
  t.same(mixed.calls.map((c) => c.name), ['f']);
  t.equal(mixed.finish, 'stop', 'a cut second call: not tool_calls');
  t.equal(new ToolCallReader(hermes).finishReason('length'), 'length');
});

t.test('llama3_json: a reply that is a call (or several), with or without <|python_tag|>', async (t) => {
  const one = '{"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}';
  const w = whole(llama, one);
  t.same(w, { content: null, calls: [{ name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }], finish: 'tool_calls' });
  for (const size of [1, 3, 1000]) t.same(stream(llama, one, size).calls.map((c) => c.name), ['get_weather'], `split ${size}`);
  t.same(whole(llama, `<|python_tag|>${one}`).calls.map((c) => c.name), ['get_weather']);
  t.same(whole(llama, `\n ${one}; {"name": "set_alarm", "parameters": {"note": "a}b\\"c"}}`).calls, [
    { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
    { name: 'set_alarm', arguments: '{"note":"a}b\\"c"}' },
  ], 'two calls joined by ;, braces and quotes inside strings');
  t.same(whole(llama, '{"name": "f", "arguments": {"x": 1}}').calls, [{ name: 'f', arguments: '{"x":1}' }], '"arguments" read too');
});

t.test('llama3_json: text, and JSON that is not a call, stay text', async (t) => {
  const text = 'The weather is {"nice": true}.';
  t.same(whole(llama, text), { content: text, calls: [], finish: 'stop' });
  const s = new ToolCallReader(llama);
  t.same(s.push('The'), [{ content: 'The' }], 'text streams as soon as it cannot be a call');
  const json = '{"city": "Paris"}';
  t.same(whole(llama, json), { content: json, calls: [], finish: 'stop' });
  const cut = '{"name": "f", "parameters": {"a"';
  t.same(whole(llama, cut), { content: cut, calls: [], finish: 'stop' });
});
