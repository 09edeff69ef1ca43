// Corpus files → document texts for the retrieval datastore (.txt and other text: whole file, paragraphs or
// lines; .jsonl/.ndjson: chosen fields per record), and the tokenizer fingerprint stored in the datastore header.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errors } from '../common/errors.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

export type TextSplit = 'file' | 'paragraph' | 'line';

export interface CorpusOptions {
  /** How a plain-text file becomes documents (default 'file'). */
  split?: TextSplit;
  /** JSONL fields to read; default: AUTO_FIELDS. */
  fields?: readonly string[];
}

/**
 * JSONL fields read when none are named: `text` alone when a record has it; otherwise the completion-style
 * fields (concatenated, so prompt + completion read as one text) and the list fields (one document each).
 * Covers HumanEval (prompt + canonical_solution) and Spec-Bench (turns).
 */
export const AUTO_FIELDS = ['prompt', 'completion', 'canonical_solution', 'response', 'output', 'answer', 'turns', 'messages', 'conversations'];

/**
 * The documents of one corpus file.
 *
 * Example: a .jsonl line {"prompt": "def f():\n", "canonical_solution": "    return 1\n", "turns": ["Hi", "Bye"]} gives,
 * with default fields, ["def f():\n    return 1\n", "Hi", "Bye"]: string fields are joined into one document,
 * each element of a list field is its own document (a {content} object counts by its content).
 */
export function readCorpusFile(file: string, opts: CorpusOptions = {}): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw errors.invalidParam(`cannot read corpus file ${file}: ${(e as Error).message}`, 'input', { cause: e });
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return jsonlDocuments(text, file, opts.fields);
  return splitText(text, opts.split ?? 'file');
}

export function splitText(text: string, split: TextSplit): string[] {
  const parts = split === 'file' ? [text] : split === 'paragraph' ? text.split(/\r?\n[ \t]*\r?\n/) : text.split(/\r?\n/);
  return parts.filter((p) => p.trim().length > 0);
}

function jsonlDocuments(text: string, file: string, fields?: readonly string[]): string[] {
  const docs: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw errors.invalidParam(`${file}:${i + 1} is not valid JSON: ${(e as Error).message}`, 'input', { cause: e });
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw errors.invalidParam(`${file}:${i + 1} is not a JSON object`, 'input');
    const obj = record as Record<string, unknown>;
    const names = fields ?? (typeof obj.text === 'string' ? ['text'] : AUTO_FIELDS);
    let joined = '';
    const items: string[] = [];
    for (const name of names) {
      const value = obj[name];
      if (typeof value === 'string') joined += value;
      else if (Array.isArray(value)) {
        for (const item of value) {
          const s = typeof item === 'string' ? item : contentOf(item);
          if (s) items.push(s);
        }
      }
    }
    if (joined.trim()) docs.push(joined);
    docs.push(...items);
  });
  return docs;
}

function contentOf(item: unknown): string | null {
  if (item === null || typeof item !== 'object') return null;
  const o = item as Record<string, unknown>;
  const c = o.content ?? o.value ?? o.text;
  return typeof c === 'string' ? c : null;
}

/**
 * sha256 (hex) of the tokenizer's id → token-string table. Two tokenizers with the same fingerprint map every
 * id to the same string, so a datastore built with one is valid for the other.
 */
export function tokenizerFingerprint(tok: Tokenizer): string {
  const h = createHash('sha256');
  h.update(`vocab ${tok.vocabSize}\n`);
  for (let id = 0; id < tok.vocabSize; id++) {
    const s = tok.tokenString(id);
    h.update(`${Buffer.byteLength(s)}:`);
    h.update(s);
  }
  return h.digest('hex');
}
