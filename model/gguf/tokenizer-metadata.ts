// GGUF tokenizer metadata from a Hugging Face tokenizer folder, for the GGUF writer (the reverse of ./tokenizer.ts).
// Two kinds, as llama.cpp's convert_hf_to_gguf writes them:
//   BPE with byte fallback and '▁' spaces → model 'llama' (SentencePiece): tokens, scores, token types. llama.cpp
//     rebuilds the merges from the scores, so a piece's score is minus the rank of the first merge that makes it;
//     when that cannot give the tokenizer's own merges, they are written too (tokenizer.ggml.merges).
//   byte-level BPE → model 'gpt2': tokens, token types, merges, and the pre-tokenizer's llama.cpp name.
import { errors } from '../../common/errors.ts';
import { chatTemplateOf, readTokenizerFiles, tokenizerFromJson, type JsonObject } from '../tokenizer.ts';
import type { GgufKv } from './metadata.ts';
import { deriveSpmMerges, PRE_TOKENIZER_REGEXES, TOKEN_TYPE } from './tokenizer.ts';

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

interface AddedToken { id: number; content: string; special?: boolean }

const isObject = (x: unknown): x is JsonObject => x !== null && typeof x === 'object' && !Array.isArray(x);

const describe = (x: unknown): string => (isObject(x) && typeof x.type === 'string' ? x.type : JSON.stringify(x) ?? 'none');

/** Every id's piece: the model's vocab plus added tokens; holes become '[PAD<id>]' (llama.cpp's filler). */
function pieces(model: JsonObject, added: AddedToken[], source: string): { tokens: string[]; filled: Set<number> } {
  const vocab = model.vocab;
  if (!isObject(vocab)) throw errors.unsupportedModel(`${source}: the BPE model has no vocab object`);
  const byId = new Map<number, string>();
  for (const [piece, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw errors.badCheckpoint(`${source}: vocab id of '${piece}' is ${String(id)}`);
    byId.set(id, piece);
  }
  for (const t of added) byId.set(t.id, t.content);
  const size = Math.max(-1, ...byId.keys()) + 1;
  const tokens: string[] = [];
  const filled = new Set<number>();
  for (let id = 0; id < size; id++) {
    const piece = byId.get(id);
    if (piece === undefined) filled.add(id);
    tokens.push(piece ?? `[PAD${id}]`);
  }
  return { tokens, filled };
}

function mergePairs(model: JsonObject, source: string): [string, string][] {
  const merges = Array.isArray(model.merges) ? model.merges as unknown[] : [];
  return merges.map((m) => {
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    if (typeof m === 'string') {
      const at = m.indexOf(' ', 1);
      if (at > 0) return [m.slice(0, at), m.slice(at + 1)];
    }
    throw errors.badCheckpoint(`${source}: merge ${JSON.stringify(m)} is not a pair`);
  });
}

const isMetaspaceReplace = (n: unknown): boolean =>
  isObject(n) && n.type === 'Replace' && isObject(n.pattern) && n.pattern.String === ' ' && n.content === '▁';
const isPrepend = (n: unknown): boolean => isObject(n) && n.type === 'Prepend' && n.prepend === '▁';

/** Whether a SentencePiece-style tokenizer prepends '▁' (null: its spaces are not SentencePiece's). */
function spmSpacePrefix(json: JsonObject): boolean | null {
  const { normalizer, pre_tokenizer: pre } = json;
  if (isObject(pre) && pre.type === 'Metaspace' && pre.replacement === '▁' && (normalizer === null || normalizer === undefined)) {
    if (typeof pre.prepend_scheme === 'string') return pre.prepend_scheme !== 'never';
    return pre.add_prefix_space !== false;
  }
  if (pre !== null && pre !== undefined) return null;
  if (isMetaspaceReplace(normalizer)) return false;
  if (isObject(normalizer) && normalizer.type === 'Sequence' && Array.isArray(normalizer.normalizers)) {
    const list = normalizer.normalizers as unknown[];
    if (list.length === 2 && isPrepend(list[0]) && isMetaspaceReplace(list[1])) return true;
    if (list.length === 1 && isMetaspaceReplace(list[0])) return false;
  }
  return null;
}

/** llama.cpp's name for a byte-level tokenizer's pre-tokenizer, or null when it has none. */
function byteLevelPre(json: JsonObject): string | null {
  const pre = json.pre_tokenizer;
  if (!isObject(pre) || !isObject(json.decoder) || json.decoder.type !== 'ByteLevel') return null;
  if (json.normalizer !== null && json.normalizer !== undefined) return null;
  if (pre.type === 'ByteLevel' && pre.use_regex !== false && pre.add_prefix_space !== true) return 'gpt-2';
  if (pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers) || pre.pretokenizers.length !== 2) return null;
  const [split, byteLevel] = pre.pretokenizers as unknown[];
  if (!isObject(byteLevel) || byteLevel.type !== 'ByteLevel' || byteLevel.use_regex !== false || byteLevel.add_prefix_space === true) return null;
  if (!isObject(split) || split.type !== 'Split' || !isObject(split.pattern) || split.invert === true) return null;
  if (typeof split.behavior === 'string' && split.behavior.toLowerCase() !== 'isolated') return null;
  const regex = split.pattern.Regex;
  return Object.entries(PRE_TOKENIZER_REGEXES).find(([, r]) => r === regex)?.[0] ?? null;
}

const samePairs = (a: [string, string][], b: [string, string][]): boolean =>
  a.length === b.length && a.every(([l, r], i) => l === b[i][0] && r === b[i][1]);

/** SentencePiece scores that make llama.cpp derive the same merge order: minus the first rank that builds a piece. */
function spmScores(tokens: string[], types: number[], merges: [string, string][]): number[] {
  const firstRank = new Map<string, number>();
  merges.forEach(([l, r], rank) => { if (!firstRank.has(l + r)) firstRank.set(l + r, rank); });
  return tokens.map((piece, id) => {
    if (types[id] !== TOKEN_TYPE.normal) return 0;
    // A piece no merge builds (a single character, mostly) ranks after every merge.
    return -(firstRank.get(piece) ?? merges.length + id);
  });
}

/** The ids a tokenizer adds around text: only a leading BOS and a trailing EOS can be said in GGUF flags. */
function specialFlags(json: JsonObject, config: JsonObject, source: string) {
  const tok = tokenizerFromJson(json, config, undefined, source);
  const bare = tok.encode('a', { addSpecialTokens: false });
  const full = tok.encode('a');
  const at = full.findIndex((_, i) => full.slice(i, i + bare.length).every((x, k) => x === bare[k]));
  const before = at < 0 ? full : full.slice(0, at);
  const after = at < 0 ? [] : full.slice(at + bare.length);
  const addBos = before.length === 1 && before[0] === tok.bosId;
  const addEos = after.length === 1 && after[0] === tok.eosIds[0];
  if ((before.length > 0 && !addBos) || (after.length > 0 && !addEos)) {
    throw errors.unsupportedModel(`${source}: the tokenizer adds ids [${before}] before and [${after}] after the text;`
      + ' GGUF can only say "add BOS" and "add EOS"');
  }
  return { addBos, addEos };
}

/**
 * GGUF tokenizer.* metadata for the HF tokenizer in `dir` (tokenizer.json, tokenizer_config.json, chat template).
 * Fails with errors.unsupportedModel naming the model type, pre-tokenizer or normalizer it cannot express.
 */
export function tokenizerMetadataFromHf(dir: string): GgufKv[] {
  const { json, config, jsonFile: source } = readTokenizerFiles(dir);
  const model = isObject(json.model) ? json.model : {};
  if (model.type !== 'BPE') {
    throw errors.unsupportedModel(`${source}: tokenizer model '${String(model.type ?? 'none')}' is not supported`
      + ' (supported: BPE with byte fallback and ▁ spaces → GGUF llama; byte-level BPE → GGUF gpt2)');
  }
  const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []) as AddedToken[];
  const { tokens, filled } = pieces(model, added, source);
  const addedById = new Map(added.map((t) => [t.id, t]));
  const merges = mergePairs(model, source);

  const spacePrefix = model.byte_fallback === true ? spmSpacePrefix(json) : null;
  const pre = model.byte_fallback === true ? null : byteLevelPre(json);
  if (spacePrefix === null && pre === null) {
    throw errors.unsupportedModel(`${source}: a BPE tokenizer with byte_fallback ${String(model.byte_fallback ?? false)},`
      + ` normalizer ${describe(json.normalizer)}, pre_tokenizer ${describe(json.pre_tokenizer)} and decoder ${describe(json.decoder)}`
      + ` is not supported (supported: byte fallback with ▁ spaces → llama; ByteLevel with pre-tokenizer gpt-2,`
      + ` ${Object.keys(PRE_TOKENIZER_REGEXES).join(', ')} → gpt2)`);
  }

  const unkPiece = typeof model.unk_token === 'string' ? model.unk_token : null;
  const types = tokens.map((piece, id) => {
    if (filled.has(id)) return TOKEN_TYPE.unused;
    const a = addedById.get(id);
    if (spacePrefix !== null && piece === unkPiece) return TOKEN_TYPE.unknown;
    if (a !== undefined) return a.special === true ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
    if (spacePrefix !== null && BYTE_PIECE.test(piece)) return TOKEN_TYPE.byte;
    return TOKEN_TYPE.normal;
  });

  const kv: GgufKv[] = [];
  if (spacePrefix !== null) {
    kv.push({ key: 'tokenizer.ggml.model', type: 'string', value: 'llama' });
    kv.push({ key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens });
    const scores = spmScores(tokens, types, merges);
    kv.push({ key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', value: scores });
    kv.push({ key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types });
    kv.push({ key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: spacePrefix });
    // A vocabulary converted from SentencePiece (Llama 2, Mistral, stories260K) has every split of every piece as a
    // merge, which the scores reproduce. A BPE-trained one may lack some; llama.cpp would then merge pairs it never
    // would, so the merges go in too (llama.cpp ignores them for 'llama'; Sprig's reader uses them).
    if (!samePairs(deriveSpmMerges(tokens, scores), merges)) {
      kv.push({ key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: merges.map(([l, r]) => `${l} ${r}`) });
    }
  } else {
    kv.push({ key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' });
    kv.push({ key: 'tokenizer.ggml.pre', type: 'string', value: pre! });
    kv.push({ key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens });
    kv.push({ key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types });
    kv.push({ key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: merges.map(([l, r]) => `${l} ${r}`) });
  }

  const idOf = new Map<string, number>();
  tokens.forEach((piece, id) => { if (!filled.has(id)) idOf.set(piece, id); });
  const content = (x: unknown) => (typeof x === 'string' ? x : isObject(x) && typeof x.content === 'string' ? x.content : null);
  for (const [field, key] of [['bos_token', 'bos'], ['eos_token', 'eos'], ['unk_token', 'unknown'], ['pad_token', 'padding']]) {
    const piece = content(config[field]);
    const id = piece === null ? undefined : idOf.get(piece);
    if (id !== undefined) kv.push({ key: `tokenizer.ggml.${key}_token_id`, type: 'u32', value: id });
  }
  const { addBos, addEos } = specialFlags(json, config, source);
  kv.push({ key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: addBos });
  kv.push({ key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: addEos });
  const template = chatTemplateOf(config);
  if (template !== null) kv.push({ key: 'tokenizer.chat_template', type: 'string', value: template });
  return kv;
}
