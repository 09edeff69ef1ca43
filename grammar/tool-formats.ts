// The tool-call formats Sprig reads and constrains, and which one a chat template speaks. A template supports tools
// when it references `tools` (HF's apply_chat_template passes them under that name); its format is told by the text
// it asks the model to write:
// - hermes: Hermes 2 Pro / Qwen2.5 / Qwen3: `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`, one block per
//   call, after any text. Detected by the template mentioning `<tool_call>`.
// - llama3_json: Llama 3.1/3.2/3.3: the whole reply is `{"name": …, "parameters": {…}}` (several joined by `;`),
//   maybe after `<|python_tag|>`. Detected by the template mentioning `"parameters"`.
import type { ToolCallShape } from './xgrammar.ts';

export type ToolFormatName = 'hermes' | 'llama3_json';

export interface ToolFormat {
  name: ToolFormatName;
  /** The text of one call of `fn` before its arguments and after them (what a required call is constrained to). */
  wrap(fn: string): { begin: string; end: string };
}

export const HERMES_OPEN = '<tool_call>';
export const HERMES_CLOSE = '</tool_call>';
export const PYTHON_TAG = '<|python_tag|>';

export const TOOL_FORMATS: Record<ToolFormatName, ToolFormat> = {
  hermes: { name: 'hermes', wrap: (fn) => ({ begin: `${HERMES_OPEN}\n{"name": ${JSON.stringify(fn)}, "arguments": `, end: `}\n${HERMES_CLOSE}` }) },
  llama3_json: { name: 'llama3_json', wrap: (fn) => ({ begin: `{"name": ${JSON.stringify(fn)}, "parameters": `, end: '}' }) },
};

/** Whether a chat template renders tools at all (mentions the `tools` variable). */
export function templateHasTools(template: string): boolean {
  return /\btools\b/.test(template);
}

/** The format a tool-aware template asks for; null when it has no tool support or speaks neither format. */
export function detectToolFormat(template: string): ToolFormat | null {
  if (!templateHasTools(template)) return null;
  if (template.includes(HERMES_OPEN)) return TOOL_FORMATS.hermes;
  if (/["']parameters["']|\\"parameters\\"/.test(template) || template.includes(PYTHON_TAG)) return TOOL_FORMATS.llama3_json;
  return null;
}

/** The grammar's calls: one per function, its format's wrapper around its parameters' schema. */
export function callShapes(format: ToolFormat, fns: readonly { name: string; parameters: object }[]): ToolCallShape[] {
  return fns.map((f) => ({ ...format.wrap(f.name), schema: JSON.stringify(f.parameters) }));
}
