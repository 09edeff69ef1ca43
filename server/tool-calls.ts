// Reads tool calls out of a chat reply as its text arrives (grammar/tool-formats.ts says what each format looks
// like): content goes out as soon as it cannot be the start of a call, each call as one delta once it is complete
// (index, id, type and name with the arguments whole). A whole reply is read by pushing it in one piece, so a
// plain response and a stream read the same calls. A call that does not parse stays text.
import { randomUUID } from 'node:crypto';
import { HERMES_CLOSE, HERMES_OPEN, PYTHON_TAG, type ToolFormat } from '../grammar/tool-formats.ts';
import type { ChoiceFinish } from './job.ts';

export interface ToolCallOut {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A streamed call: its position among the choice's calls, as OpenAI's delta.tool_calls carries it. */
export interface IndexedCall extends ToolCallOut {
  index: number;
}

export type ToolEvent = { content: string } | { call: IndexedCall };

/** finish_reason with tools: 'tool_calls' when the reply made calls and none was cut off. */
export type ReplyFinish = ChoiceFinish | 'tool_calls';

export class ToolCallReader {
  private buf = '';
  private state: 'start' | 'text' | 'call' | 'json' = 'start';
  /** Trailing whitespace held back: dropped when a call follows it or the reply made calls. */
  private ws = '';
  /** In a Hermes call: how much of `buf` is known to hold no closing tag (each push searches only past it). */
  private searched = 0;
  private calls = 0;
  /** A call was begun but could not be read (cut off or malformed), so it went out as text. */
  private broken = false;

  constructor(private readonly format: ToolFormat) {}

  finishReason(reason: ChoiceFinish): ReplyFinish {
    return this.calls > 0 && !this.broken && reason !== 'cancelled' ? 'tool_calls' : reason;
  }

  push(text: string): ToolEvent[] {
    this.buf += text;
    const out: ToolEvent[] = [];
    if (this.format.name === 'hermes') this.hermes(out);
    else this.llama(out);
    return out;
  }

  /** The end of the reply: what is held back, and a last call left open. */
  finish(): ToolEvent[] {
    const out: ToolEvent[] = [];
    if (this.state === 'call') {
      // The stop token may come before the closing tag: a complete JSON body still counts.
      const call = parseCall(this.buf, 'arguments');
      if (call) this.emitCall(out, call);
      else this.fail(out, HERMES_OPEN + this.buf);
    } else if (this.state === 'json' || (this.state === 'start' && this.buf.trim() !== '')) {
      const calls = this.state === 'json' ? parseJsonCalls(this.buf) : null;
      if (calls) for (const c of calls) this.emitCall(out, c);
      else if (this.state === 'json') this.fail(out, this.buf);
      else this.emitText(out, this.buf);
    } else this.emitText(out, this.buf);
    this.buf = '';
    if (this.calls === 0 && this.ws) out.push({ content: this.ws });
    this.ws = '';
    return out;
  }

  /** Hermes: text, `<tool_call>` body `</tool_call>`, text, … */
  private hermes(out: ToolEvent[]): void {
    for (;;) {
      if (this.state !== 'call') {
        const k = this.buf.indexOf(HERMES_OPEN);
        if (k >= 0) {
          this.emitText(out, this.buf.slice(0, k));
          this.buf = this.buf.slice(k + HERMES_OPEN.length);
          this.state = 'call';
          this.searched = 0;
          continue;
        }
        const keep = partialSuffix(this.buf, HERMES_OPEN);
        this.emitText(out, this.buf.slice(0, this.buf.length - keep));
        this.buf = this.buf.slice(this.buf.length - keep);
        return;
      }
      const k = this.buf.indexOf(HERMES_CLOSE, this.searched);
      if (k < 0) {
        this.searched = Math.max(0, this.buf.length - HERMES_CLOSE.length + 1); // a tag may straddle pushes
        return;
      }
      const body = this.buf.slice(0, k);
      this.buf = this.buf.slice(k + HERMES_CLOSE.length);
      this.state = 'text';
      const call = parseCall(body, 'arguments');
      if (call) this.emitCall(out, call);
      else this.fail(out, HERMES_OPEN + body + HERMES_CLOSE);
    }
  }

  /** Llama 3 JSON: a reply that opens with `{` (after `<|python_tag|>`) is read whole at the end; any other is text. */
  private llama(out: ToolEvent[]): void {
    if (this.state === 'start') {
      let t = this.buf.trimStart();
      if (t === '' || (PYTHON_TAG.startsWith(t) && t.length < PYTHON_TAG.length)) return;
      if (t.startsWith(PYTHON_TAG)) t = t.slice(PYTHON_TAG.length).trimStart();
      if (t === '') return;
      this.state = t.startsWith('{') ? 'json' : 'text';
    }
    if (this.state === 'text') {
      this.emitText(out, this.buf);
      this.buf = '';
    }
  }

  private emitText(out: ToolEvent[], s: string): void {
    if (s === '') return;
    const all = this.ws + s;
    const body = all.trimEnd();
    this.ws = all.slice(body.length);
    if (body !== '') out.push({ content: body });
  }

  private emitCall(out: ToolEvent[], call: { name: string; arguments: string }): void {
    this.ws = '';
    out.push({ call: { index: this.calls++, id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`, type: 'function', function: call } });
  }

  private fail(out: ToolEvent[], text: string): void {
    this.broken = true;
    this.emitText(out, text);
  }
}

/** A whole reply's content (null when empty) and calls. */
export function readToolCalls(format: ToolFormat, text: string, reason: ChoiceFinish): { content: string | null; calls: ToolCallOut[]; finishReason: ReplyFinish } {
  const reader = new ToolCallReader(format);
  const events = [...reader.push(text), ...reader.finish()];
  const content = events.map((e) => ('content' in e ? e.content : '')).join('');
  const calls = events.flatMap((e) => ('call' in e ? [{ id: e.call.id, type: e.call.type, function: e.call.function }] : []));
  return { content: calls.length > 0 && content === '' ? null : content, calls, finishReason: reader.finishReason(reason) };
}

/** Length of the longest suffix of s that is a proper prefix of tag (it may grow into the tag). */
function partialSuffix(s: string, tag: string): number {
  for (let n = Math.min(s.length, tag.length - 1); n > 0; n--) if (tag.startsWith(s.slice(s.length - n))) return n;
  return 0;
}

/** {"name": …, "arguments"|"parameters": {…}} → the call, arguments as JSON text; null when it is not one. */
function parseCall(body: string, key: 'arguments' | 'parameters'): { name: string; arguments: string } | null {
  let v: unknown;
  try {
    v = JSON.parse(body.trim());
  } catch {
    return null;
  }
  return callOf(v, key);
}

function callOf(v: unknown, key: 'arguments' | 'parameters'): { name: string; arguments: string } | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') return null;
  const args = o[key] ?? o.arguments ?? o.parameters ?? {};
  if (typeof args === 'string') return { name: o.name, arguments: args };
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return null;
  return { name: o.name, arguments: JSON.stringify(args) };
}

/** Llama 3: one or more call objects joined by `;` (or whitespace); null unless every piece is a call. */
function parseJsonCalls(text: string): { name: string; arguments: string }[] | null {
  let t = text.trim();
  if (t.startsWith(PYTHON_TAG)) t = t.slice(PYTHON_TAG.length);
  const calls: { name: string; arguments: string }[] = [];
  let i = 0;
  for (;;) {
    while (i < t.length && (t[i] === ';' || /\s/.test(t[i]))) i++;
    if (i >= t.length) break;
    const end = objectEnd(t, i);
    if (end < 0) return null;
    let v: unknown;
    try {
      v = JSON.parse(t.slice(i, end));
    } catch {
      return null;
    }
    const call = callOf(v, 'parameters');
    if (!call) return null;
    calls.push(call);
    i = end;
  }
  return calls.length > 0 ? calls : null;
}

/** The index just past the JSON object starting at t[start] ('{'), or -1 when it does not close. */
function objectEnd(t: string, start: number): number {
  if (t[start] !== '{') return -1;
  let depth = 0;
  let inString = false;
  for (let i = start; i < t.length; i++) {
    const c = t[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
