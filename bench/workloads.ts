// Workloads: the project's prompt suites (bench/prompts/*.jsonl), --prompts files such as Spec-Bench's
// question.jsonl and HumanEval, and how an item's turns become a prompt. Reads files; never runs a model.
import { errors } from '../common/errors.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkloadItem } from './types.ts';

export const PROMPTS_DIR = path.join(import.meta.dirname, 'prompts');

/** Suites written by the project. general: code, extraction (output copies input), qa, chat, multi-turn. */
export const SUITES: Record<string, string[]> = {
  general: ['code', 'extraction', 'qa', 'chat', 'multiturn'].map((f) => path.join(PROMPTS_DIR, `${f}.jsonl`)),
  /** Story-style prompts for children's-story models such as stories260K, by the same kinds of task. */
  stories: [path.join(PROMPTS_DIR, 'stories.jsonl')],
  // Workloads with repetition ACROSS requests, run in file order (each configuration keeps its own drafter
  // state from one request to the next): short enough for stories260K-scale contexts.
  /** One task template filled with different inputs, as an agent's repeated tool calls are. */
  agentic: [path.join(PROMPTS_DIR, 'agentic.jsonl')],
  /** Return the given code (or text) with one small change: the output copies the input. */
  'code-edit': [path.join(PROMPTS_DIR, 'code-edit.jsonl')],
  /** Four-turn conversations whose history grows with the model's own answers. */
  multiturn: [path.join(PROMPTS_DIR, 'multiturn-history.jsonl')],
  /** Short texts to turn into JSON of a given schema (each item's `schema`): structured output, --constrain. */
  extraction: [path.join(PROMPTS_DIR, 'json-extraction.jsonl')],
};

type Json = Record<string, unknown>;

/**
 * Reads one JSONL prompt file. Accepted records:
 * - {turns: string[], category?, id?|question_id?, format?}: Spec-Bench question.jsonl and the project suites;
 *   'chat' format unless format says 'text'.
 * - {prompt: string, task_id?|id?, category?}: HumanEval and plain completions ('text' format).
 * A missing category is the file's base name. Either may carry `schema` (a JSON Schema object for the answer).
 */
export function loadPromptFile(file: string, suite = path.basename(file, '.jsonl')): WorkloadItem[] {
  const base = path.basename(file, '.jsonl');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const items: WorkloadItem[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: Json;
    try {
      rec = JSON.parse(line) as Json;
    } catch (e) {
      throw errors.invalidParam(`${file}:${i + 1}: not JSON (${(e as Error).message})`, 'prompts', { cause: e });
    }
    const where = `${file}:${i + 1}`;
    let turns: string[];
    let format: WorkloadItem['format'];
    if (Array.isArray(rec.turns) && rec.turns.length > 0 && rec.turns.every((t) => typeof t === 'string')) {
      turns = rec.turns as string[];
      format = rec.format === 'text' ? 'text' : 'chat';
    } else if (typeof rec.prompt === 'string') {
      turns = [rec.prompt];
      format = rec.format === 'chat' ? 'chat' : 'text';
    } else {
      throw errors.invalidParam(`${where}: needs "turns" (non-empty array of strings) or "prompt" (string)`);
    }
    const id = rec.id ?? rec.question_id ?? rec.task_id ?? `${base}-${i + 1}`;
    const schema = rec.schema !== null && typeof rec.schema === 'object' && !Array.isArray(rec.schema) ? (rec.schema as Json) : undefined;
    if (rec.schema !== undefined && !schema) throw errors.invalidParam(`${where}: "schema" must be a JSON Schema object`);
    items.push({ id: `${String(id)}`, suite, category: typeof rec.category === 'string' ? rec.category : base, format, turns, ...(schema ? { schema } : {}) });
  });
  if (items.length === 0) throw errors.invalidParam(`${file}: no prompts`);
  return items;
}

export function loadSuite(name: string): WorkloadItem[] {
  const files = SUITES[name];
  if (!files) throw errors.invalidParam(`unknown suite ${JSON.stringify(name)} (known: ${Object.keys(SUITES).join(', ')})`);
  return files.flatMap((f) => loadPromptFile(f, name));
}

/** Keeps the given categories (all when empty) and the first `limit` items of each; ids made unique. */
export function selectItems(items: readonly WorkloadItem[], opts: { categories?: string[]; limit?: number }): WorkloadItem[] {
  const wanted = opts.categories?.length ? new Set(opts.categories) : null;
  const perCategory = new Map<string, number>();
  const seen = new Set<string>();
  const out: WorkloadItem[] = [];
  for (const item of items) {
    if (wanted && !wanted.has(item.category)) continue;
    const n = perCategory.get(item.category) ?? 0;
    if (opts.limit !== undefined && n >= opts.limit) continue;
    perCategory.set(item.category, n + 1);
    let id = item.id;
    for (let k = 2; seen.has(id); k++) id = `${item.id}~${k}`;
    seen.add(id);
    out.push({ ...item, id });
  }
  if (wanted) {
    const missing = [...wanted].filter((c) => !perCategory.has(c));
    if (missing.length) throw errors.invalidParam(`--categories: no prompts in ${missing.join(', ')} (have: ${[...new Set(items.map((i) => i.category))].join(', ')})`);
  }
  return out;
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** The conversation up to turn k: user turns interleaved with the model's earlier answers. */
export function chatMessages(item: WorkloadItem, answers: readonly string[], turn: number): ChatTurn[] {
  const out: ChatTurn[] = [];
  for (let k = 0; k <= turn; k++) {
    out.push({ role: 'user', content: item.turns[k] });
    if (k < turn) out.push({ role: 'assistant', content: answers[k] ?? '' });
  }
  return out;
}

/**
 * Turn k as plain text for models without a chat template (and for /v1/completions):
 * text format appends turns and answers verbatim; chat format uses a minimal "User:/Assistant:" transcript.
 */
export function plainPrompt(item: WorkloadItem, answers: readonly string[], turn: number): string {
  if (item.format === 'text') {
    let text = '';
    for (let k = 0; k <= turn; k++) text += item.turns[k] + (k < turn ? (answers[k] ?? '') : '');
    return text;
  }
  return chatMessages(item, answers, turn).map((m) => (m.role === 'user' ? `User: ${m.content}\nAssistant:` : ` ${m.content.trim()}\n`)).join('');
}
