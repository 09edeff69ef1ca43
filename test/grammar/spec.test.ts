// Request fields → grammar spec; unsupported JSON Schema features are named in the 400.
import t from 'tap';
import { grammarSpecOf, unsupportedKeywords } from '../../grammar/spec.ts';
import { SCHEMAS } from '../helpers/schema-corpus.ts';

t.test('every corpus schema is supported', async (t) => {
  for (const [name, schema] of Object.entries(SCHEMAS)) t.same(unsupportedKeywords(schema), [], name);
});

t.test('unsupported keywords are named with their path', async (t) => {
  const schema = { type: 'object', properties: { a: { type: 'array', uniqueItems: true }, b: { not: { type: 'null' } } }, minProperties: 1 };
  t.same(unsupportedKeywords(schema).sort(), ['#/minProperties', '#/properties/a/uniqueItems', '#/properties/b/not']);
  t.same(unsupportedKeywords({ type: 'number', maximum: 1 }), ['#/maximum'], 'bounds on a non-integer number are not enforced by xgrammar');
  t.same(unsupportedKeywords({ type: 'integer', maximum: 1 }), []);
  t.throws(() => grammarSpecOf({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }), { statusCode: 400, message: /#\/properties\/a\/uniqueItems/ });
});

t.test('the request fields map to one spec', async (t) => {
  t.equal(grammarSpecOf({}), null);
  t.equal(grammarSpecOf({ response_format: { type: 'text' } }), null);
  t.same(grammarSpecOf({ response_format: { type: 'json_object' } }), { kind: 'json' });
  t.same(grammarSpecOf({ response_format: { type: 'json_schema', json_schema: { name: 'p', schema: { type: 'integer' }, strict: true } } }), { kind: 'json_schema', schema: '{"type":"integer"}' });
  t.same(grammarSpecOf({ grammar: 'root ::= "a"' }), { kind: 'ebnf', grammar: 'root ::= "a"' });
  t.same(grammarSpecOf({ regex: '[0-9]+' }), { kind: 'regex', pattern: '[0-9]+' });
  t.throws(() => grammarSpecOf({ grammar: 'root ::= "a"', regex: 'a' }), { statusCode: 400, message: /not grammar and regex/ });
  t.throws(() => grammarSpecOf({ response_format: { type: 'xml' } }), { statusCode: 400, message: /response_format/ });
  t.throws(() => grammarSpecOf({ response_format: { type: 'json_schema' } }), { statusCode: 400, message: /response_format/ });
});
