// The request's `tools` and `tool_choice` → a ToolPlan: the tools as the chat template gets them, the format the
// template speaks (grammar/tool-formats.ts), whether the output is read for calls, and for `required` or a named
// function the grammar the output is constrained to (the format's wrapper around arguments valid against the
// function's parameter schema; an alternation over the functions for `required`). 400s name the offending param.
import { errors } from '../common/errors.ts';
import { unsupportedKeywords } from './spec.ts';
import { callShapes, detectToolFormat, templateHasTools, type ToolFormat } from './tool-formats.ts';
import type { GrammarSpec } from './xgrammar.ts';

export interface ToolFunction {
  name: string;
  description?: string;
  /** The parameters' JSON Schema (an empty object schema when the tool gives none). */
  parameters: object;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ToolPlan {
  /** The tools as the request gave them, for the chat template ({type: 'function', function: {...}}). */
  tools: unknown[];
  functions: ToolFunction[];
  choice: ToolChoice;
  format: ToolFormat;
  /** Read the output for calls (every choice but `none`). */
  parse: boolean;
  /** `required` or a named function: the constraint; null for auto and none. */
  grammar: GrammarSpec | null;
}

export interface ToolFields {
  tools?: unknown[];
  tool_choice?: unknown;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function readTool(tool: unknown, i: number): ToolFunction {
  const at = `tools[${i}]`;
  if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function)) {
    throw errors.invalidParam(`${at} must be {"type": "function", "function": {"name", "parameters"}}`, 'tools');
  }
  const fn = tool.function;
  if (typeof fn.name !== 'string' || !NAME.test(fn.name)) {
    throw errors.invalidParam(`${at}.function.name must be 1–64 letters, digits, '_' or '-', got ${JSON.stringify(fn.name)}`, 'tools');
  }
  const parameters = fn.parameters ?? { type: 'object', properties: {} };
  if (!isObject(parameters)) throw errors.invalidParam(`${at}.function.parameters must be a JSON Schema object`, 'tools');
  const bad = unsupportedKeywords(parameters, `${at}.function.parameters`);
  if (bad.length > 0) throw errors.invalidParam(`tools use JSON Schema features Sprig cannot enforce: ${bad.join(', ')}`, 'tools');
  return { name: fn.name, ...(typeof fn.description === 'string' ? { description: fn.description } : {}), parameters };
}

function readChoice(choice: unknown, names: readonly string[]): ToolChoice {
  if (choice === undefined || choice === null) return names.length > 0 ? 'auto' : 'none';
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string') {
    const name = choice.function.name;
    if (!names.includes(name)) throw errors.invalidParam(`tool_choice names the function ${JSON.stringify(name)}, which is not in tools (${names.map((n) => JSON.stringify(n)).join(', ') || 'none given'})`, 'tool_choice');
    return { name };
  }
  throw errors.invalidParam(`tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name"}}, got ${JSON.stringify(choice)}`, 'tool_choice');
}

/**
 * The request's tool plan, or null when it gives no tools. template: the model's chat template (null: none).
 * A template that does not reference `tools`, or speaks neither known format, is a 400 naming `tools`.
 */
export function toolPlanOf(body: ToolFields, template: string | null): ToolPlan | null {
  const tools = body.tools ?? [];
  const functions = tools.map(readTool);
  const names = functions.map((f) => f.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw errors.invalidParam(`tools name the function ${JSON.stringify(dup)} twice`, 'tools');
  const choice = readChoice(body.tool_choice, names);
  if (choice !== 'none' && choice !== 'auto' && functions.length === 0) throw errors.invalidParam('tool_choice asks for a tool call, but no tools were given', 'tool_choice');
  if (functions.length === 0) return null;
  if (template === null || !templateHasTools(template)) {
    throw errors.invalidParam("this model's chat template has no tool support (it never references `tools`), so it cannot be given tools; describe them in a message instead", 'tools');
  }
  const format = detectToolFormat(template);
  if (format === null) {
    throw errors.invalidParam("this model's chat template renders tools, but in a tool-call format Sprig does not read (known: Hermes/Qwen <tool_call>, Llama 3 JSON)", 'tools');
  }
  const constrained = choice === 'required' ? functions : typeof choice === 'object' ? functions.filter((f) => f.name === choice.name) : [];
  return {
    tools,
    functions,
    choice,
    format,
    parse: choice !== 'none',
    grammar: constrained.length > 0 ? { kind: 'tool_calls', calls: callShapes(format, constrained) } : null,
  };
}
