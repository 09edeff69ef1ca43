// Request prompts → token ids: completions' four prompt forms, and chat messages through the
// checkpoint's chat template. Every failure is a 400 that names the offending param. A prompt that cannot
// fit the context window is refused BEFORE it is tokenized (the byte bound) or decoded (token ids), and a
// tokenized one by its exact count: every context check a request gets is checkCount's.
import { errors } from '../common/errors.ts';
import type { ChatMessage, Tokenizer } from '../model/tokenizer.ts';
import { minTokens } from './prompt-bound.ts';
import { INLINE_BYTES, type PromptEncoder } from './prompt-encoder.ts';
import type { ChatMessageBody, CompletionBody } from './schemas/openai.ts';

export interface Prompt {
  tokens: number[];
  /** The prompt as text, for `echo`. */
  text: string;
}

/** What a prompt must leave room for in the context window. */
export interface PromptRoom {
  contextLength: number;
  /** Tokens that must fit after the prompt: max_tokens, or 1 when it is left open (0 for echo-only). */
  minNew: number;
  /** How the request asked for them, for the message: 'max_tokens (16)' or 'at least 1 new token'. */
  asked: string;
  /** The param an overflow names when the prompt alone fits: max_tokens when the request set it, else the prompt's. */
  param: string;
  /** 'prompt' or 'messages'. */
  promptParam: string;
}

/** The room a plan asks for: max_tokens, or (left open) 1 new token, or none for echo with max_tokens 0. */
export function promptRoom(contextLength: number, maxTokens: number | null, promptParam: string): PromptRoom {
  const minNew = maxTokens ?? 1;
  const asked = maxTokens === null ? 'at least 1 new token' : `max_tokens (${maxTokens})`;
  return { contextLength, minNew, asked, param: maxTokens === null ? promptParam : 'max_tokens', promptParam };
}

/**
 * Refuses a prompt of `count` tokens (at least, for a bound) that leaves no room for what the request asks after
 * it. The error names the prompt's param when the prompt alone cannot fit (whatever max_tokens says), else room.param.
 * tokens: the count as the message gives it.
 */
function checkCount(count: number, room: PromptRoom, what: string, tokens: () => string = () => `${count} tokens`): void {
  if (count + room.minNew <= room.contextLength) return;
  throw errors.contextOverflow(
    `This model's context window is ${room.contextLength} tokens, but ${what} has ${tokens()} and ${room.asked} was requested, ${count + room.minNew} in all; shorten the prompt or lower max_tokens`,
    count > room.contextLength ? room.promptParam : room.param,
  );
}

/** Refuses, without tokenizing, a text whose fewest possible tokens cannot fit. */
function checkBound(text: string, encoder: PromptEncoder, room: PromptRoom, what: string): void {
  const perToken = encoder.bound.maxTokenBytes;
  if (perToken === null) return;
  const bytes = Buffer.byteLength(text);
  // A short text is cheap to count exactly, and then the message gives the exact count.
  if (bytes <= INLINE_BYTES) return;
  const least = minTokens(bytes, perToken);
  checkCount(least, room, what, () => `at least ${least} tokens (${bytes} bytes of UTF-8, and no token of this model stands for more than ${perToken} bytes)`);
}

function checkIds(ids: number[], vocabSize: number, param: string, room: PromptRoom, what: string): number[] {
  checkCount(ids.length, room, what);
  for (const id of ids) {
    if (id >= vocabSize) throw errors.invalidParam(`token id ${id} in '${param}' is outside the vocabulary of ${vocabSize} tokens`, param);
  }
  return ids;
}

async function fromText(text: string, encoder: PromptEncoder, param: string, room: PromptRoom, what: string): Promise<Prompt> {
  checkBound(text, encoder, room, what);
  const tokens = await encoder.encode(text);
  if (tokens.length === 0) throw errors.invalidParam(`'${param}' encodes to no tokens; give a non-empty prompt`, param);
  checkCount(tokens.length, room, what);
  return { tokens, text };
}

/** Where a prompt is, for messages: 'the prompt' or 'the prompt (prompt 2)'. */
const which = (i: number, many: boolean) => (many ? `the prompt (prompt ${i})` : 'the prompt');

/** string | string[] | number[] | number[][] → one Prompt per prompt. */
export async function completionPrompts(prompt: CompletionBody['prompt'], encoder: PromptEncoder, tokenizer: Tokenizer, vocabSize: number, room: PromptRoom): Promise<Prompt[]> {
  if (typeof prompt === 'string') return [await fromText(prompt, encoder, 'prompt', room, which(0, false))];
  const many = prompt.length > 1;
  if (prompt.every((p) => typeof p === 'string')) {
    const texts = prompt as string[];
    // Every prompt is bounded before any is tokenized: one hopeless prompt fails the request at once.
    texts.forEach((p, i) => checkBound(p, encoder, room, which(i, many)));
    const out: Prompt[] = [];
    for (let i = 0; i < texts.length; i++) out.push(await fromText(texts[i], encoder, `prompt[${i}]`, room, which(i, many)));
    return out;
  }
  if (prompt.every((p) => typeof p === 'number')) {
    const ids = checkIds(prompt as number[], vocabSize, 'prompt', room, which(0, false));
    return [{ tokens: ids, text: tokenizer.decode(ids) }];
  }
  const lists = prompt as number[][];
  lists.forEach((ids, i) => checkIds(ids, vocabSize, `prompt[${i}]`, room, which(i, many)));
  return lists.map((ids) => ({ tokens: ids, text: tokenizer.decode(ids) }));
}

function messageText(m: ChatMessageBody, i: number): string {
  if (m.content === undefined || m.content === null) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content.map((part, j) => {
    if (part.type !== 'text' || typeof part.text !== 'string') {
      throw errors.invalidParam(`only text content parts are supported, got type '${part.type}' in messages[${i}].content[${j}]`, `messages[${i}].content`);
    }
    return part.text;
  }).join('\n');
}

/**
 * An assistant message's tool_calls as templates read them: OpenAI sends `arguments` as a JSON string, templates
 * (Qwen's `arguments | tojson`, Llama's) expect the object, so it is parsed (as vLLM does).
 */
function templateToolCalls(calls: unknown[], i: number): unknown[] {
  return calls.map((c, j) => {
    const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    if (!fn || typeof fn.name !== 'string') throw errors.invalidParam(`messages[${i}].tool_calls[${j}] must be {"id", "type": "function", "function": {"name", "arguments"}}`, `messages[${i}].tool_calls`);
    const raw = fn.arguments ?? {};
    let args: unknown = raw;
    if (typeof raw === 'string') {
      try {
        args = JSON.parse(raw);
      } catch {
        throw errors.invalidParam(`messages[${i}].tool_calls[${j}].function.arguments is not JSON: ${JSON.stringify(raw.slice(0, 80))}`, `messages[${i}].tool_calls`);
      }
    }
    return { ...(c as object), function: { ...fn, arguments: args } };
  });
}

/**
 * Renders messages with the model's chat template and encodes them (the template holds any BOS). The
 * rendered text is bounded like a completion prompt before it is tokenized. tools: the request's, passed to the
 * template as HF's apply_chat_template passes them.
 */
export async function chatPrompt(messages: ChatMessageBody[], encoder: PromptEncoder, tokenizer: Tokenizer, room: PromptRoom, tools?: unknown[]): Promise<Prompt> {
  if (!tokenizer.hasChatTemplate) {
    throw errors.invalidParam('this model has no chat_template, so /v1/chat/completions cannot format messages; use /v1/completions with a prompt', 'messages');
  }
  const rendered: ChatMessage[] = messages.map((m, i) => ({
    role: m.role,
    content: messageText(m, i),
    ...(m.tool_calls?.length ? { tool_calls: templateToolCalls(m.tool_calls, i) } : {}),
    ...(m.tool_call_id !== undefined ? { tool_call_id: m.tool_call_id } : {}),
    ...(m.name !== undefined ? { name: m.name } : {}),
  }));
  const text = tokenizer.applyChatTemplate(rendered, { addGenerationPrompt: true, tools });
  checkBound(text, encoder, room, 'the rendered chat');
  const tokens = await encoder.encode(text, { addSpecialTokens: false });
  if (tokens.length === 0) throw errors.invalidParam('the rendered chat has no tokens', 'messages');
  checkCount(tokens.length, room, 'the rendered chat');
  return { tokens, text };
}
