// Request prompts → token ids: completions' four prompt forms, and chat messages through the
// checkpoint's chat template. Every failure is a 400 that names the offending param.
import { errors } from '../common/errors.ts';
import type { ChatMessage, Tokenizer } from '../model/tokenizer.ts';
import type { ChatMessageBody, CompletionBody } from './schemas/openai.ts';

export interface Prompt {
  tokens: number[];
  /** The prompt as text, for `echo`. */
  text: string;
}

function checkIds(ids: number[], vocabSize: number, param: string): number[] {
  for (const id of ids) {
    if (id >= vocabSize) throw errors.invalidParam(`token id ${id} in '${param}' is outside the vocabulary of ${vocabSize} tokens`, param);
  }
  return ids;
}

function fromText(text: string, tokenizer: Tokenizer, param: string): Prompt {
  const tokens = tokenizer.encode(text);
  if (tokens.length === 0) throw errors.invalidParam(`'${param}' encodes to no tokens; give a non-empty prompt`, param);
  return { tokens, text };
}

/** string | string[] | number[] | number[][] → one Prompt per prompt. */
export function completionPrompts(prompt: CompletionBody['prompt'], tokenizer: Tokenizer, vocabSize: number): Prompt[] {
  if (typeof prompt === 'string') return [fromText(prompt, tokenizer, 'prompt')];
  if (prompt.every((p) => typeof p === 'string')) return (prompt as string[]).map((p, i) => fromText(p, tokenizer, `prompt[${i}]`));
  if (prompt.every((p) => typeof p === 'number')) {
    const ids = checkIds(prompt as number[], vocabSize, 'prompt');
    return [{ tokens: ids, text: tokenizer.decode(ids) }];
  }
  return (prompt as number[][]).map((ids, i) => {
    checkIds(ids, vocabSize, `prompt[${i}]`);
    return { tokens: ids, text: tokenizer.decode(ids) };
  });
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

/** Renders messages with the model's chat template and encodes them (the template holds any BOS). */
export function chatPrompt(messages: ChatMessageBody[], tokenizer: Tokenizer): Prompt {
  if (!tokenizer.hasChatTemplate) {
    throw errors.invalidParam('this model has no chat_template, so /v1/chat/completions cannot format messages; use /v1/completions with a prompt', 'messages');
  }
  const rendered: ChatMessage[] = messages.map((m, i) => ({ role: m.role, content: messageText(m, i) }));
  const text = tokenizer.applyChatTemplate(rendered, { addGenerationPrompt: true });
  const tokens = tokenizer.encode(text, { addSpecialTokens: false });
  if (tokens.length === 0) throw errors.invalidParam('the rendered chat has no tokens', 'messages');
  return { tokens, text };
}
