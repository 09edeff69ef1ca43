// The request's structured-output fields → one GrammarSpec: response_format ({type: "json_object"} or
// {type: "json_schema", json_schema: {name, schema, strict}}) and Sprig's `grammar` (GBNF/EBNF) and `regex`.
// JSON Schema keywords the grammar engine cannot enforce get a 400 naming them, so output always validates.
import { errors } from '../common/errors.ts';
import type { GrammarSpec } from './xgrammar.ts';

/** Keywords xgrammar enforces (or that do not constrain: annotations). */
const SUPPORTED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'minItems', 'maxItems',
  'enum', 'const', 'anyOf', 'oneOf', '$ref', '$defs', 'definitions', 'pattern', 'minLength', 'maxLength', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'strict',
]);
/** Keywords whose value is a map of subschemas, a subschema, or a list of subschemas. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions']);
const SCHEMA_ONE = new Set(['additionalProperties', 'items']);
const SCHEMA_LIST = new Set(['anyOf', 'oneOf', 'prefixItems']);
const NUMBER_BOUNDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const ANNOTATIONS = new Set(['default', 'examples', 'enum', 'const']);

/** Every unsupported keyword in `schema`, as JSON-pointer-ish paths ('#/properties/a/not'). */
export function unsupportedKeywords(schema: unknown, at = '#'): string[] {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return [];
  const out: string[] = [];
  const o = schema as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (!SUPPORTED.has(k) || (NUMBER_BOUNDS.has(k) && o.type !== 'integer')) out.push(`${at}/${k}`); // xgrammar bounds integers only
    else if (ANNOTATIONS.has(k)) continue;
    else if (SCHEMA_MAPS.has(k) && v && typeof v === 'object') for (const [name, sub] of Object.entries(v)) out.push(...unsupportedKeywords(sub, `${at}/${k}/${name}`));
    else if (SCHEMA_ONE.has(k)) out.push(...unsupportedKeywords(v, `${at}/${k}`));
    else if (SCHEMA_LIST.has(k) && Array.isArray(v)) v.forEach((sub, i) => out.push(...unsupportedKeywords(sub, `${at}/${k}/${i}`)));
  }
  return out;
}

export interface StructuredFields {
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean | null } };
  grammar?: string;
  regex?: string;
}

/** The constraint a request asks for, or null; 400 on a malformed or unsupported one. */
export function grammarSpecOf(body: StructuredFields): GrammarSpec | null {
  const given = [body.response_format && body.response_format.type !== 'text' ? 'response_format' : null, body.grammar !== undefined ? 'grammar' : null, body.regex !== undefined ? 'regex' : null].filter((x) => x !== null);
  if (given.length > 1) throw errors.invalidParam(`give one of response_format, grammar and regex, not ${given.join(' and ')}`, given[1]);
  if (body.grammar !== undefined) return { kind: 'ebnf', grammar: body.grammar };
  if (body.regex !== undefined) return { kind: 'regex', pattern: body.regex };
  const rf = body.response_format;
  if (!rf || rf.type === 'text') return null;
  if (rf.type === 'json_object') return { kind: 'json' };
  if (rf.type !== 'json_schema') throw errors.invalidParam(`response_format.type must be text, json_object or json_schema, got ${JSON.stringify(rf.type)}`, 'response_format');
  const schema = rf.json_schema?.schema;
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw errors.invalidParam('response_format.json_schema.schema must be a JSON Schema object', 'response_format');
  const bad = unsupportedKeywords(schema);
  if (bad.length > 0) throw errors.invalidParam(`response_format.json_schema.schema uses JSON Schema features Sprig cannot enforce: ${bad.join(', ')}`, 'response_format');
  return { kind: 'json_schema', schema: JSON.stringify(schema) };
}
