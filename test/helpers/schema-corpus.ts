// 32 JSON Schemas for structured-output tests: nested objects, arrays, enums, bounded numbers, optional fields,
// string patterns. Strings, arrays and integers are bounded (xgrammar cannot bound a non-integer number: 400) so a random-weight model's output ends within max_tokens.
// Bounded strings are ASCII patterns: a random model writes byte tokens that xgrammar accepts as characters but
// that do not decode as valid UTF-8, and then maxLength counts differ (see README, Structured output).
const str = (max = 8) => ({ type: 'string', pattern: `^[A-Za-z ]{0,${max}}$` });
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', properties, required, additionalProperties: false });

export const SCHEMAS: Record<string, Record<string, unknown>> = {
  flat: obj({ name: str(), age: { type: 'integer', minimum: 0, maximum: 120 } }),
  optional: obj({ name: str(), nickname: str() }, ['name']),
  allOptional: obj({ a: { type: 'boolean' }, b: { type: 'integer', minimum: 0, maximum: 9 } }, []),
  boolean: obj({ ok: { type: 'boolean' } }),
  nullable: obj({ v: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: -5, maximum: 5 }] } }),
  enumString: obj({ color: { enum: ['red', 'green', 'blue'] } }),
  enumMixed: obj({ v: { enum: ['x', 1, true, null] } }),
  constant: obj({ kind: { const: 'person' }, id: { type: 'integer', minimum: 1, maximum: 999 } }),
  intRange: obj({ n: { type: 'integer', minimum: 10, maximum: 99 } }),
  intExclusive: obj({ n: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 50 } }),
  negative: obj({ t: { type: 'integer', minimum: -40, maximum: -1 } }),
  twoInts: obj({ n: { type: 'integer', minimum: 0, maximum: 5 }, m: { type: 'integer', minimum: -3, maximum: 3 } }),
  pattern: obj({ code: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{2}$' } }),
  patternLower: obj({ slug: { type: 'string', pattern: '^[a-z]{2,6}$' } }),
  minMaxLength: obj({ s: { type: 'string', minLength: 2, maxLength: 4 } }),
  date: obj({ d: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } }),
  arrayInts: obj({ xs: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, maxItems: 4 } }),
  arrayMin: obj({ xs: { type: 'array', items: { enum: ['a', 'b'] }, minItems: 1, maxItems: 3 } }),
  arrayObjects: obj({ people: { type: 'array', items: obj({ name: str(5), age: { type: 'integer', minimum: 0, maximum: 99 } }), maxItems: 2 } }),
  tuple: obj({ pair: { type: 'array', prefixItems: [{ type: 'integer', minimum: 0, maximum: 9 }, str(4)], items: false } }),
  nested: obj({ user: obj({ name: str(), address: obj({ city: str(), zip: { type: 'string', pattern: '^[0-9]{5}$' } }) }) }),
  deep: obj({ a: obj({ b: obj({ c: obj({ d: { type: 'integer', minimum: 0, maximum: 3 } }) }) }) }),
  nestedOptional: obj({ meta: obj({ tag: str(4), note: str(6) }, ['tag']), id: { type: 'integer', minimum: 0, maximum: 9 } }, ['id']),
  anyOfTypes: obj({ v: { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'boolean' }, str(3)] } }),
  oneOfObjects: obj({ shape: { oneOf: [obj({ kind: { const: 'circle' }, r: { type: 'integer', minimum: 1, maximum: 9 } }), obj({ kind: { const: 'square' }, side: { type: 'integer', minimum: 1, maximum: 9 } })] } }),
  refs: { $defs: { point: obj({ x: { type: 'integer', minimum: 0, maximum: 9 }, y: { type: 'integer', minimum: 0, maximum: 9 } }) }, ...obj({ from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } }) },
  topArray: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 99 }, minItems: 1, maxItems: 3 },
  topEnum: { enum: ['yes', 'no', 'maybe'] },
  topString: { type: 'string', pattern: '^[a-z]{1,5}$' },
  topInteger: { type: 'integer', minimum: 100, maximum: 200 },
  extraction: obj({ title: str(10), year: { type: 'integer', minimum: 1900, maximum: 2030 }, genres: { type: 'array', items: { enum: ['drama', 'comedy', 'horror'] }, maxItems: 2 }, rating: { type: 'integer', minimum: 0, maximum: 10 } }),
  invoice: obj({ id: { type: 'string', pattern: '^INV-[0-9]{3}$' }, lines: { type: 'array', items: obj({ sku: { type: 'string', pattern: '^[A-Z]{2}[0-9]$' }, qty: { type: 'integer', minimum: 1, maximum: 9 } }), minItems: 1, maxItems: 2 }, paid: { type: 'boolean' } }),
};
