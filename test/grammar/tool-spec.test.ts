// tools + tool_choice → the tool plan: the template's format, which choices parse and which are constrained
// (and to what), and the 400s that name the param.
import t, { type Test } from 'tap';
import { toolPlanOf } from '../../grammar/tool-spec.ts';
import { SprigError } from '../../common/errors.ts';
import { HERMES_TEMPLATE, LLAMA3_TEMPLATE } from '../helpers/tool-templates.ts';

const fn = (name: string, parameters?: object) => ({ type: 'function', function: { name, ...(parameters ? { parameters } : {}) } });
const TOOLS = [fn('get_weather', { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), fn('ping')];

function fails(t: Test, f: () => unknown, param: string, message: RegExp) {
  try {
    f();
    t.fail('expected a 400');
  } catch (e) {
    t.ok(e instanceof SprigError && e.statusCode === 400, String(e));
    t.match(e, { param, message });
  }
}

t.test('choices: auto and none parse or not, required and named are constrained', async (t) => {
  t.equal(toolPlanOf({}, HERMES_TEMPLATE), null, 'no tools, no plan');
  const auto = toolPlanOf({ tools: TOOLS }, HERMES_TEMPLATE)!;
  t.match(auto, { choice: 'auto', parse: true, grammar: null, format: { name: 'hermes' } });
  t.same(auto.functions[1], { name: 'ping', parameters: { type: 'object', properties: {} } }, 'no parameters: an empty object schema');
  t.match(toolPlanOf({ tools: TOOLS, tool_choice: 'none' }, HERMES_TEMPLATE), { parse: false, grammar: null });
  const required = toolPlanOf({ tools: TOOLS, tool_choice: 'required' }, LLAMA3_TEMPLATE)!;
  t.equal(required.format.name, 'llama3_json');
  t.same(required.grammar, {
    kind: 'tool_calls',
    calls: [
      { begin: '{"name": "get_weather", "parameters": ', end: '}', schema: JSON.stringify(TOOLS[0].function.parameters) },
      { begin: '{"name": "ping", "parameters": ', end: '}', schema: '{"type":"object","properties":{}}' },
    ],
  });
  const named = toolPlanOf({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'ping' } } }, HERMES_TEMPLATE)!;
  t.same(named.choice, { name: 'ping' });
  t.same(named.grammar, { kind: 'tool_calls', calls: [{ begin: '<tool_call>\n{"name": "ping", "arguments": ', end: '}\n</tool_call>', schema: '{"type":"object","properties":{}}' }] });
});

t.test('400s name the param', async (t) => {
  fails(t, () => toolPlanOf({ tools: TOOLS }, '{{ messages }}'), 'tools', /no tool support/);
  fails(t, () => toolPlanOf({ tools: TOOLS }, null), 'tools', /no tool support/);
  fails(t, () => toolPlanOf({ tools: TOOLS }, '{% if tools %}[TOOLS]{% endif %}'), 'tools', /format Sprig does not read/);
  fails(t, () => toolPlanOf({ tools: [{ type: 'retrieval' }] }, HERMES_TEMPLATE), 'tools', /tools\[0\] must be/);
  fails(t, () => toolPlanOf({ tools: [fn('bad name')] }, HERMES_TEMPLATE), 'tools', /name must be/);
  fails(t, () => toolPlanOf({ tools: [fn('f'), fn('f')] }, HERMES_TEMPLATE), 'tools', /twice/);
  fails(t, () => toolPlanOf({ tools: [fn('f', { type: 'object', properties: { a: { type: 'array', uniqueItems: true } } })] }, HERMES_TEMPLATE), 'tools', /tools\[0\]\.function\.parameters\/properties\/a\/uniqueItems/);
  fails(t, () => toolPlanOf({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }, HERMES_TEMPLATE), 'tool_choice', /not in tools/);
  fails(t, () => toolPlanOf({ tools: TOOLS, tool_choice: 'any' }, HERMES_TEMPLATE), 'tool_choice', /must be "auto"/);
  fails(t, () => toolPlanOf({ tool_choice: 'required' }, HERMES_TEMPLATE), 'tool_choice', /no tools were given/);
});
