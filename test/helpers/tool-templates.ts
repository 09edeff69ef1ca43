// Small chat templates with tool support, written after Qwen2.5's (Hermes <tool_call> blocks) and Llama 3.1's
// (JSON with "parameters"): the same jinja constructs (tojson, `is defined`, `set`, whitespace control).
export const HERMES_TEMPLATE = String.raw`{{- bos_token }}
{%- if tools %}
    {{- '<|system|>\nYou may call one or more functions. Function signatures are inside <tools></tools>:\n<tools>' }}
    {%- for tool in tools %}
        {{- '\n' }}{{- tool | tojson }}
    {%- endfor %}
    {{- '\n</tools>\nFor each call, return a JSON object with the function name and arguments within <tool_call></tool_call> tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>' + eos_token + '\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'assistant' and message.tool_calls %}
        {{- '<|assistant|>' }}
        {%- if message.content %}{{- '\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\n<tool_call>\n{"name": "' + tool_call.name + '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- eos_token + '\n' }}
    {%- elif message.role == 'tool' %}
        {{- '<|user|>\n<tool_response>\n' + message.content + '\n</tool_response>' + eos_token + '\n' }}
    {%- else %}
        {{- '<|' + message.role + '|>\n' + message.content + eos_token + '\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|assistant|>\n' }}{%- endif %}`;

export const LLAMA3_TEMPLATE = String.raw`{{- bos_token }}
{%- if tools is not none and tools is defined %}
    {{- '<|system|>\nEnvironment: ipython\nGiven the following functions, respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n' }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.\n\n' }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- '\n\n' }}
    {%- endfor %}
    {{- eos_token + '\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'assistant' and message.tool_calls %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|assistant|>\n{"name": "' + tool_call.name + '", "parameters": ' }}{{- tool_call.arguments | tojson }}{{- '}' + eos_token + '\n' }}
    {%- elif message.role == 'tool' or message.role == 'ipython' %}
        {{- '<|ipython|>\n' + message.content + eos_token + '\n' }}
    {%- else %}
        {{- '<|' + message.role + '|>\n' + message.content + eos_token + '\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|assistant|>\n' }}{%- endif %}`;
