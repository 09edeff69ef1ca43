// Loads a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) and its chat template, from a folder
// or from the same objects built in memory (GGUF files carry their tokenizer as metadata).
// The only module that imports @huggingface/tokenizers or @huggingface/jinja; it never touches model weights.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { errors } from '../common/errors.ts';

/** A chat message as templates read it; tool_calls, tool_call_id and name pass through (HF's message dicts). */
export interface ChatMessage { role: string; content: string; tool_calls?: unknown[]; tool_call_id?: string; name?: string }

export interface Tokenizer {
  /** Number of ids the tokenizer can produce (max id + 1). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  /** From generation_config.json eos_token_id if given, else tokenizer_config eos_token. */
  readonly eosIds: number[];
  readonly specialIds: ReadonlySet<number>;
  /** addSpecialTokens (default true) adds BOS etc. the way HF's tokenizer does. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** skipSpecialTokens defaults to true. Ids with no vocab entry decode to nothing, as in HF. */
  decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }): string;
  /** Raw vocab string of an id ('' for a hole in the vocab), for comparing two models' vocabularies. */
  tokenString(id: number): string;
  readonly hasChatTemplate: boolean;
  /** The chat template's source (null without one), e.g. to see whether it renders tools. */
  readonly chatTemplate: string | null;
  /**
   * Renders the chat template. The result already holds any BOS the template wants,
   * so encode it with { addSpecialTokens: false } (as HF's apply_chat_template does).
   */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean; tools?: unknown[] }): string;
}

/** A parsed JSON object (tokenizer.json, tokenizer_config.json). */
export type JsonObject = Record<string, unknown>;
type Json = JsonObject;

/** HF classes whose fast tokenizer rebuilds its post-processor from add_bos_token / add_eos_token. */
const BOS_FLAG_CLASSES = new Set([
  'LlamaTokenizer', 'LlamaTokenizerFast', 'CodeLlamaTokenizer', 'CodeLlamaTokenizerFast',
  'GemmaTokenizer', 'GemmaTokenizerFast', 'CohereTokenizerFast',
]);

const NAMED_SPECIALS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'];

function readJson(file: string): Json {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Json;
  } catch (e) {
    throw errors.badCheckpoint(`cannot read ${file}: ${(e as Error).message}`, null, { cause: e });
  }
}

/** A special token in tokenizer_config.json is a string or an AddedToken-like { content }. */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return null;
}

/** The template HF would use: chat_template.jinja, then chat_template.json, then tokenizer_config's own. */
function findChatTemplate(dir: string, config: Json): unknown {
  const jinjaFile = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinjaFile)) return fs.readFileSync(jinjaFile, 'utf8');
  const jsonFile = path.join(dir, 'chat_template.json');
  if (fs.existsSync(jsonFile)) {
    const tpl = readJson(jsonFile).chat_template;
    if (typeof tpl === 'string') return tpl;
  }
  return config.chat_template;
}

/** A tokenizer_config chat_template: a string, or the older [{ name, template }, ...] list where HF picks 'default'. */
export function chatTemplateOf(config: Json): string | null {
  const tpl = config.chat_template;
  if (typeof tpl === 'string') return tpl;
  if (Array.isArray(tpl)) {
    const named = tpl as { name?: string; template?: string }[];
    const chosen = named.find((x) => x.name === 'default') ?? named[0];
    return typeof chosen?.template === 'string' ? chosen.template : null;
  }
  return null;
}

function maxVocabId(json: Json): number {
  const model = (json.model ?? {}) as Json;
  let maxId = -1;
  if (Array.isArray(model.vocab)) maxId = model.vocab.length - 1;
  else if (model.vocab && typeof model.vocab === 'object') {
    for (const id of Object.values(model.vocab as Record<string, number>)) if (id > maxId) maxId = id;
  }
  for (const t of (json.added_tokens ?? []) as { id: number }[]) if (t.id > maxId) maxId = t.id;
  return maxId;
}

/** generation_config.json's fields that the tokenizer uses. */
export interface TokenizerGenerationConfig { eos_token_id?: number | number[]; bos_token_id?: number }

/**
 * Reads an HF tokenizer folder: tokenizer.json, tokenizer_config.json (or {}), with the config's chat_template
 * replaced by the one HF would use (chat_template.jinja or chat_template.json win over the config's own).
 */
export function readTokenizerFiles(dir: string): { json: Json; config: Json; jsonFile: string } {
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(jsonFile)) throw errors.checkpointMissing(`no tokenizer.json at ${jsonFile}`);
  const configFile = path.join(dir, 'tokenizer_config.json');
  const json = readJson(jsonFile);
  const config = fs.existsSync(configFile) ? readJson(configFile) : {};
  const chatTemplate = findChatTemplate(dir, config);
  const merged: Json = { ...config };
  if (chatTemplate === undefined) delete merged.chat_template;
  else merged.chat_template = chatTemplate;
  return { json, config: merged, jsonFile };
}

export async function loadTokenizer(dir: string, generationConfig?: TokenizerGenerationConfig): Promise<Tokenizer> {
  const { json, config, jsonFile } = readTokenizerFiles(dir);
  return tokenizerFromJson(json, config, generationConfig, jsonFile);
}

/**
 * Builds a Tokenizer from an in-memory tokenizer.json object and tokenizer_config object (its chat_template is
 * used as is). `source` names where they came from, for error messages.
 */
export function tokenizerFromJson(
  json: Json,
  config: Json,
  generationConfig: TokenizerGenerationConfig | undefined,
  source: string,
): Tokenizer {
  // NOTE(tokenizer): the library defaults clean_up_tokenization_spaces to true; transformers >= 4.45 defaults to false.
  const libConfig = { ...config, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces === true };
  const libJson = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(libJson, libConfig);
  } catch (e) {
    throw errors.unsupportedModel(`cannot build tokenizer from ${source}: ${(e as Error).message}`, null, { cause: e });
  }

  const idOf = (token: string | null): number | null => (token === null ? null : hf.token_to_id(token) ?? null);
  const bosId = idOf(tokenContent(config.bos_token)) ?? generationConfig?.bos_token_id ?? null;
  const configEosId = idOf(tokenContent(config.eos_token));
  const genEos = generationConfig?.eos_token_id;
  const eosIds = genEos !== undefined ? (Array.isArray(genEos) ? [...genEos] : [genEos]) : configEosId !== null ? [configEosId] : [];

  const specialIds = new Set<number>();
  for (const t of (libJson.added_tokens ?? []) as { id: number; special?: boolean }[]) if (t.special) specialIds.add(t.id);
  const namedSpecials = [...NAMED_SPECIALS.map((k) => config[k]), ...((config.additional_special_tokens ?? []) as unknown[])];
  for (const value of namedSpecials) {
    const id = idOf(tokenContent(value));
    if (id !== null) specialIds.add(id);
  }

  const vocabSize = maxVocabId(json) + 1;
  const usesBosFlags = BOS_FLAG_CLASSES.has(String(config.tokenizer_class))
    && (typeof config.add_bos_token === 'boolean' || typeof config.add_eos_token === 'boolean');
  const chatTemplate = chatTemplateOf(config);
  let template: Template | null = null;

  return {
    vocabSize,
    bosId,
    eosIds,
    specialIds,
    hasChatTemplate: chatTemplate !== null,
    chatTemplate,

    encode(text, opts) {
      const addSpecialTokens = opts?.addSpecialTokens ?? true;
      let ids: number[];
      if (usesBosFlags) {
        ids = hf.encode(text, { add_special_tokens: false }).ids;
        if (addSpecialTokens && config.add_bos_token === true && bosId !== null) ids.unshift(bosId);
        if (addSpecialTokens && config.add_eos_token === true && configEosId !== null) ids.push(configEosId);
      } else {
        ids = hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
      }
      // A piece with no vocab entry and no unk token comes back undefined; HF drops it.
      return ids.filter((id) => typeof id === 'number');
    },

    decode(ids, opts) {
      const skip = opts?.skipSpecialTokens ?? true;
      const kept: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (hf.id_to_token(id) === undefined) continue;
        if (skip && specialIds.has(id)) continue;
        kept.push(id);
      }
      // The library throws on an empty list.
      return kept.length === 0 ? '' : hf.decode(kept, { skip_special_tokens: false });
    },

    tokenString(id) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw errors.invalidParam(`token id ${id} is outside the vocabulary [0, ${vocabSize})`, 'token');
      }
      return hf.id_to_token(id) ?? '';
    },

    applyChatTemplate(messages, opts) {
      if (chatTemplate === null) throw errors.invalidParam('model has no chat_template', 'messages');
      if (template === null) {
        try {
          template = new Template(chatTemplate);
        } catch (e) {
          throw errors.unsupportedModel(`cannot parse the chat_template of ${source}: ${(e as Error).message}`, null, { cause: e });
        }
      }
      const specials: Record<string, string> = {};
      for (const key of NAMED_SPECIALS) {
        const content = tokenContent(config[key]);
        if (content !== null) specials[key] = content;
      }
      try {
        return template.render({
          ...specials,
          messages: messages.map(({ role, content, tool_calls, tool_call_id, name }) => ({
            role, content, ...(tool_calls ? { tool_calls } : {}), ...(tool_call_id !== undefined ? { tool_call_id } : {}), ...(name !== undefined ? { name } : {}),
          })),
          add_generation_prompt: opts?.addGenerationPrompt ?? false,
          // As HF's apply_chat_template: the tools go to the template as `tools` (left out when there are none).
          ...(opts?.tools?.length ? { tools: opts.tools } : {}),
        });
      } catch (e) {
        throw errors.invalidParam(`chat template failed: ${(e as Error).message}`, 'messages', { cause: e });
      }
    },
  };
}
