// Structured output over HTTP: response_format (json_schema, json_object), grammar and regex on both endpoints,
// speculation on; unsupported schema features are 400s naming them.
import t from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildTestApp } from './helpers.ts';
import { SCHEMAS } from '../helpers/schema-corpus.ts';

const MESSAGES = [{ role: 'user', content: 'Give me the data as JSON.' }];

t.test('chat and completions follow response_format, grammar and regex', async (t) => {
  const app = await buildTestApp(t);
  const ajv = new Ajv2020({ strict: false });
  for (const name of ['flat', 'nested', 'invoice']) {
    const schema = SCHEMAS[name];
    const response_format = { type: 'json_schema', json_schema: { name, schema, strict: true } };
    for (const temperature of [0, 1]) {
      const chat = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 180, temperature, seed: 3, response_format } });
      t.equal(chat.statusCode, 200, chat.body);
      const text = chat.json().choices[0].message.content;
      t.ok(ajv.validate(schema, JSON.parse(text)), `chat ${name} T=${temperature}: ${text}`);
      const comp = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'JSON:', max_tokens: 180, temperature, seed: 3, response_format } });
      t.ok(ajv.validate(schema, JSON.parse(comp.json().choices[0].text)), `completion ${name} T=${temperature}`);
    }
  }
  const regex = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Code:', max_tokens: 20, temperature: 0, regex: '[A-Z]{3}-[0-9]{2}' } });
  t.match(regex.json().choices[0].text, /^[A-Z]{3}-[0-9]{2}$/);
  const grammar = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Answer:', max_tokens: 20, temperature: 0, grammar: 'root ::= "yes" | "no"' } });
  t.match(grammar.json().choices[0].text, /^(yes|no)$/);
  const json = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, max_tokens: 180, temperature: 0, response_format: { type: 'json_object' } } });
  const content = json.json().choices[0].message.content;
  if (json.json().choices[0].finish_reason === 'stop') t.doesNotThrow(() => JSON.parse(content), content);
  else t.pass('json_object output ran to max_tokens (a random model may never close it)');
});

t.test('unsupported schema features and bad grammars are 400s that name them', async (t) => {
  const app = await buildTestApp(t);
  const schema = { type: 'object', properties: { tags: { type: 'array', uniqueItems: true } } };
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: MESSAGES, response_format: { type: 'json_schema', json_schema: { name: 's', schema } } } });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { error: { param: 'response_format', message: /#\/properties\/tags\/uniqueItems/ } });
  const bad = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', grammar: 'root ::= (' } });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { error: { param: 'grammar' } });
  const both = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', grammar: 'root ::= "a"', regex: 'a' } });
  t.equal(both.statusCode, 400);
});
