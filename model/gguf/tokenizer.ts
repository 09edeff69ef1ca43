// Builds a Tokenizer from a GGUF file's tokenizer metadata, the way llama.cpp tokenizes with it.
// It writes the equivalent Hugging Face tokenizer.json and tokenizer_config.json objects in memory and hands them
// to model/tokenizer.ts, so one library does all tokenizing.
//   llama (SentencePiece): a BPE model with byte fallback whose merges are derived from the vocabulary, ranked by the
//     merged piece's score (llama.cpp's SPM merges the adjacent pair whose concatenation is in the vocabulary with the
//     highest score, leftmost first); '▁' prepend + space replacement normalizer; the llama decoder. A file that also
//     has tokenizer.ggml.merges (Sprig writes them when scores cannot say them) uses those merges instead.
//   gpt2 (byte-level BPE): tokens + merges, the split regex named by tokenizer.ggml.pre, the ByteLevel decoder.
import { errors } from '../../common/errors.ts';
import { tokenizerFromJson, type JsonObject, type Tokenizer, type TokenizerGenerationConfig } from '../tokenizer.ts';
import type { GgufMetadata } from './metadata.ts';

/** tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export const SUPPORTED_TOKENIZER_MODELS = ['llama', 'gpt2'] as const;

/** The HF split regex of each supported tokenizer.ggml.pre value (null: the plain GPT-2 ByteLevel regex). */
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
  + '|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
  + '|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
/** llama.cpp's 'default' pre-tokenizer: these regexes applied in turn, each splitting the pieces of the last. */
const DEFAULT_REGEXES = ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2_REGEX, '\\p{N}+', '[0-9][0-9][0-9]'];

interface PreTokenizerSpec { regexes: string[] | null; ignoreMerges: boolean }

/** tokenizer.ggml.pre → split regexes, with llama.cpp's names (and 'gpt2' as an alias of 'gpt-2'). */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = {
  'llama-bpe': { regexes: [LLAMA3_REGEX], ignoreMerges: true },
  'llama3': { regexes: [LLAMA3_REGEX], ignoreMerges: true },
  'qwen2': { regexes: [QWEN2_REGEX], ignoreMerges: false },
  'gpt-2': { regexes: null, ignoreMerges: false },
  'gpt2': { regexes: null, ignoreMerges: false },
  'default': { regexes: DEFAULT_REGEXES, ignoreMerges: false },
};

/** The HF regex of a pre value, for the reverse direction (tokenizer-metadata.ts). */
export const PRE_TOKENIZER_REGEXES: Readonly<Record<string, string>> = { 'llama-bpe': LLAMA3_REGEX, 'qwen2': QWEN2_REGEX };

const addedToken = (id: number, content: string, special: boolean) =>
  ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });

function fail(source: string, what: string): never {
  throw errors.badCheckpoint(`${source}: ${what}`);
}

function stringArray(metadata: GgufMetadata, key: string, source: string): string[] {
  const value = metadata[key];
  if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) fail(source, `${key} is missing or not a string array`);
  return value as string[];
}

function numberArray(metadata: GgufMetadata, key: string, length: number, source: string): number[] | null {
  const value = metadata[key];
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length !== length) fail(source, `${key} must be an array of ${length} numbers`);
  return value.map((x) => (typeof x === 'bigint' ? Number(x) : typeof x === 'number' ? x : fail(source, `${key} holds a non-number`)));
}

/**
 * A token id key. Absent, or outside the vocabulary (-1 is stored as u32 4294967295), it gives `fallback`, as
 * llama.cpp keeps its default id for a bad one.
 */
function tokenId(metadata: GgufMetadata, key: string, vocabSize: number, fallback: number | null): number | null {
  const raw = metadata[`tokenizer.ggml.${key}`];
  const id = typeof raw === 'bigint' ? Number(raw) : raw;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < vocabSize ? id : fallback;
}

/**
 * BOS and the ids that end generation (EOS, then EOT and EOM: llama.cpp stops on all three; Llama 3 chat models end
 * turns with <|eot_id|>), as llama.cpp reads them: a SentencePiece ('llama') vocabulary defaults to BOS 1, EOS 2.
 * The tokenizer and the model spec (model/gguf/checkpoint.ts) both take them from here.
 */
export function ggufSpecialIds(metadata: GgufMetadata, vocabSize: number): { bos: number | null; eos: number | null; eosIds: number[] } {
  const llama = metadata['tokenizer.ggml.model'] === 'llama';
  const bos = tokenId(metadata, 'bos_token_id', vocabSize, llama ? 1 : null);
  const eos = tokenId(metadata, 'eos_token_id', vocabSize, llama ? 2 : null);
  const eosIds: number[] = [];
  for (const id of [eos, tokenId(metadata, 'eot_token_id', vocabSize, null), tokenId(metadata, 'eom_token_id', vocabSize, null)]) {
    if (id !== null && !eosIds.includes(id)) eosIds.push(id);
  }
  return { bos, eos, eosIds };
}

function flag(metadata: GgufMetadata, key: string, fallback: boolean): boolean {
  const raw = metadata[`tokenizer.ggml.${key}`];
  return typeof raw === 'boolean' ? raw : fallback;
}

/**
 * SentencePiece merges as HF BPE merges: every split of a piece into two pieces that are both in the vocabulary,
 * best merged-piece score first (ties: lower merged id, then lower left id). Splits fall on code points.
 */
export function deriveSpmMerges(tokens: readonly string[], scores: readonly number[]): [string, string][] {
  const idOf = new Map<string, number>();
  tokens.forEach((t, i) => { if (!idOf.has(t)) idOf.set(t, i); });
  const found: { left: string; right: string; id: number; leftId: number }[] = [];
  tokens.forEach((piece, id) => {
    if (idOf.get(piece) !== id) return;
    const cps = Array.from(piece);
    let left = '';
    for (let k = 1; k < cps.length; k++) {
      left += cps[k - 1];
      const right = piece.slice(left.length);
      const leftId = idOf.get(left);
      if (leftId !== undefined && idOf.has(right)) found.push({ left, right, id, leftId });
    }
  });
  found.sort((a, b) => scores[b.id] - scores[a.id] || a.id - b.id || a.leftId - b.leftId);
  return found.map((m) => [m.left, m.right]);
}

/** tokenizer.ggml.merges ('left right' strings) as pairs. */
function mergesOf(metadata: GgufMetadata, source: string): [string, string][] {
  return stringArray(metadata, 'tokenizer.ggml.merges', source).map((m) => {
    const at = m.indexOf(' ', 1);
    return at < 0 ? fail(source, `tokenizer.ggml.merges entry '${m}' is not 'left right'`) : [m.slice(0, at), m.slice(at + 1)];
  });
}

interface Vocab {
  tokens: string[];
  types: number[];
  vocab: Record<string, number>;
  added: ReturnType<typeof addedToken>[];
}

function readVocab(metadata: GgufMetadata, source: string, addedTypes: ReadonlySet<number>): Vocab {
  const tokens = stringArray(metadata, 'tokenizer.ggml.tokens', source);
  const types = numberArray(metadata, 'tokenizer.ggml.token_type', tokens.length, source) ?? tokens.map(() => TOKEN_TYPE.normal);
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  const added: ReturnType<typeof addedToken>[] = [];
  tokens.forEach((t, i) => {
    // llama.cpp's text → id map keeps the last id of a repeated piece.
    vocab[t] = i;
    if (addedTypes.has(types[i])) added.push(addedToken(i, t, types[i] !== TOKEN_TYPE.userDefined));
  });
  return { tokens, types, vocab, added };
}

interface Parts { json: JsonObject; defaultAddBos: boolean; defaults: { unk: number | null } }

function llamaParts(metadata: GgufMetadata, source: string): Parts {
  // Unknown and control tokens are matched in text as specials (llama.cpp with parse_special); user-defined always.
  const v = readVocab(metadata, source, new Set([TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.userDefined]));
  const scores = numberArray(metadata, 'tokenizer.ggml.scores', v.tokens.length, source) ?? v.tokens.map(() => 0);
  // llama.cpp ignores merges for SentencePiece; Sprig's own writer adds them only for a BPE vocabulary whose merges
  // the scores cannot express (see tokenizer-metadata.ts), and then they are the tokenizer's truth.
  const merges = metadata['tokenizer.ggml.merges'] === undefined ? deriveSpmMerges(v.tokens, scores) : mergesOf(metadata, source);
  const spacePrefix = flag(metadata, 'add_space_prefix', true);
  const unkId = tokenId(metadata, 'unknown_token_id', v.tokens.length, 0);
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
  const json: JsonObject = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: v.added,
    normalizer: spacePrefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replaceSpace] }
      : replaceSpace,
    pre_tokenizer: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
        ...(spacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: unkId === null ? null : v.tokens[unkId],
      continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false,
      vocab: v.vocab, merges,
    },
  };
  return { json, defaultAddBos: true, defaults: { unk: 0 } };
}

function byteLevelPreTokenizer(pre: string, source: string) {
  const spec = Object.hasOwn(PRE_TOKENIZERS, pre) ? PRE_TOKENIZERS[pre] : undefined;
  if (spec === undefined) {
    throw errors.unsupportedModel(
      `${source}: tokenizer.ggml.pre '${pre}' is not supported (supported: ${Object.keys(PRE_TOKENIZERS).join(', ')})`);
  }
  if (spec.regexes === null) {
    return { spec, preTokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } };
  }
  const splits = spec.regexes.map((regex) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  return { spec, preTokenizer: { type: 'Sequence', pretokenizers: [...splits, byteLevel] } };
}

function gpt2Parts(metadata: GgufMetadata, source: string): Parts {
  const v = readVocab(metadata, source, new Set([TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.userDefined]));
  const merges = mergesOf(metadata, source);
  const rawPre = metadata['tokenizer.ggml.pre'];
  const { spec, preTokenizer } = byteLevelPreTokenizer(typeof rawPre === 'string' && rawPre !== '' ? rawPre : 'default', source);
  const json: JsonObject = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: v.added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: spec.ignoreMerges, vocab: v.vocab, merges,
    },
  };
  return { json, defaultAddBos: false, defaults: { unk: null } };
}

/**
 * A Tokenizer from a GGUF file's metadata (key → plain value, as the GGUF reader returns it).
 * `source` names the file in errors. Fails with errors.unsupportedModel for a tokenizer model or pre-tokenizer it
 * does not know, and errors.badCheckpoint for missing or malformed tokenizer keys.
 */
export function tokenizerFromGguf(metadata: GgufMetadata, source: string): Tokenizer {
  const model = metadata['tokenizer.ggml.model'];
  if (model !== 'llama' && model !== 'gpt2') {
    throw errors.unsupportedModel(typeof model === 'string'
      ? `${source}: tokenizer.ggml.model '${model}' is not supported (supported: ${SUPPORTED_TOKENIZER_MODELS.join(', ')})`
      : `${source}: no tokenizer.ggml.model (supported: ${SUPPORTED_TOKENIZER_MODELS.join(', ')})`);
  }
  const { json, defaultAddBos, defaults } = model === 'llama' ? llamaParts(metadata, source) : gpt2Parts(metadata, source);
  const tokens = (metadata['tokenizer.ggml.tokens'] as string[]);
  const n = tokens.length;
  const { bos, eos, eosIds } = ggufSpecialIds(metadata, n);
  const unk = tokenId(metadata, 'unknown_token_id', n, defaults.unk);
  const pad = tokenId(metadata, 'padding_token_id', n, null);
  const addBos = flag(metadata, 'add_bos_token', defaultAddBos) && bos !== null;
  const addEos = flag(metadata, 'add_eos_token', false) && eos !== null;

  const name = (id: number | null) => (id === null ? undefined : tokens[id]);
  const config: JsonObject = {
    // The class whose add_bos_token / add_eos_token flags model/tokenizer.ts honours.
    tokenizer_class: 'LlamaTokenizerFast',
    add_bos_token: addBos, add_eos_token: addEos,
    bos_token: name(bos), eos_token: name(eos), unk_token: name(unk), pad_token: name(pad),
    clean_up_tokenization_spaces: false,
  };
  const template = metadata['tokenizer.chat_template'];
  if (typeof template === 'string') config.chat_template = template;

  const generationConfig: TokenizerGenerationConfig = { eos_token_id: eosIds, ...(bos === null ? {} : { bos_token_id: bos }) };
  return tokenizerFromJson(json, config, generationConfig, source);
}
