// Which tool-call format a chat template speaks, and the text of one call in each.
import t from 'tap';
import { callShapes, detectToolFormat, templateHasTools, TOOL_FORMATS } from '../../grammar/tool-formats.ts';
import { HERMES_TEMPLATE, LLAMA3_TEMPLATE } from '../helpers/tool-templates.ts';

t.test('templates: tool support and format', async (t) => {
  t.equal(detectToolFormat(HERMES_TEMPLATE)?.name, 'hermes');
  t.equal(detectToolFormat(LLAMA3_TEMPLATE)?.name, 'llama3_json');
  const plain = "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{% endfor %}";
  t.notOk(templateHasTools(plain));
  t.equal(detectToolFormat(plain), null, 'no tools: no format');
  t.equal(detectToolFormat('{% if tools %}[AVAILABLE_TOOLS]{{ tools | tojson }}{% endif %}'), null, 'tools in an unknown format');
  t.notOk(templateHasTools('{{ mytools }}'), 'a word that only contains "tools"');
});

t.test('one call as text: wrapper around the arguments', async (t) => {
  const args = '{"city": "Paris"}';
  const [h] = callShapes(TOOL_FORMATS.hermes, [{ name: 'get_weather', parameters: { type: 'object' } }]);
  t.equal(h.begin + args + h.end, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>');
  t.equal(h.schema, '{"type":"object"}');
  const [l] = callShapes(TOOL_FORMATS.llama3_json, [{ name: 'get_weather', parameters: {} }]);
  t.equal(l.begin + args + l.end, '{"name": "get_weather", "parameters": {"city": "Paris"}}');
});
