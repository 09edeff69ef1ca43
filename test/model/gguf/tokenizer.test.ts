// Tests model/gguf/tokenizer.ts: stories260K.gguf (and the llama.cpp-written files in gguf/) tokenize exactly as
// stories260K-hf does and as llama.cpp did; llama.cpp's defaults and flags; hand-built gpt2-kind vocabularies split
// text as the llama-bpe, qwen2, gpt-2 and default pre-tokenizers do; unknown models and pre-tokenizers fail by name.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { gguf } from '@huggingface/gguf';
import { tokenizerFromGguf, deriveSpmMerges, ggufSpecialIds } from '../../../model/gguf/tokenizer.ts';
import { loadTokenizer } from '../../../model/tokenizer.ts';
import type { GgufMetadata } from '../../../model/gguf/metadata.ts';
import { TOKENIZER_PROMPTS as PROMPTS } from '../../helpers/tokenizer-prompts.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../../shared/models');
const STORIES_GGUF = path.join(MODELS, 'stories260K.gguf');
const STORIES_HF = path.join(MODELS, 'stories260K-hf');
const GGUF_DIR = path.join(MODELS, 'gguf');
const skipStories = fs.existsSync(STORIES_GGUF) && fs.existsSync(path.join(STORIES_HF, 'tokenizer.json'))
  ? false : `no stories260K.gguf / stories260K-hf under ${MODELS}`;
const skipGgufDir = fs.existsSync(path.join(GGUF_DIR, 'reference-greedy.json')) ? false : `no ${GGUF_DIR}`;

async function metadataOf(file: string): Promise<GgufMetadata> {
  return (await gguf(file, { allowLocalFile: true })).metadata as unknown as GgufMetadata;
}

t.test('stories260K.gguf tokenizes as stories260K-hf does', { skip: skipStories }, async (t) => {
  const tok = tokenizerFromGguf(await metadataOf(STORIES_GGUF), STORIES_GGUF);
  const ref = await loadTokenizer(STORIES_HF);
  t.same(tok.encode('Once upon a time'), [1, 403, 407, 261, 378], 'the llama.cpp reference ids');
  for (const p of PROMPTS) {
    const ids = tok.encode(p);
    t.same(ids, ref.encode(p), `encode ${JSON.stringify(p)}`);
    t.same(tok.encode(p, { addSpecialTokens: false }), ref.encode(p, { addSpecialTokens: false }), `encode bare ${JSON.stringify(p)}`);
    t.equal(tok.decode(ids), p, `decode round-trips ${JSON.stringify(p)}`);
    t.equal(tok.decode(ids, { skipSpecialTokens: false }), ref.decode(ids, { skipSpecialTokens: false }));
  }
  t.ok(tok.encode('emoji 🌱').some((id) => id >= 3 && id <= 258), 'the emoji goes through byte fallback');
  t.same(tok.encode('a</s>b'), ref.encode('a</s>b'), 'control token text is its id, and a space prefix follows it');
  t.same(tok.encode('a</s>b'), [1, 261, 2, 268]);
  t.equal(tok.vocabSize, 512);
  t.equal(tok.bosId, 1);
  t.same(tok.eosIds, [2]);
  t.same([...tok.specialIds].sort((a, b) => a - b), [0, 1, 2]);
  for (const id of [0, 3, 13, 258, 259, 403, 511]) t.equal(tok.tokenString(id), ref.tokenString(id), `tokenString ${id}`);
  t.equal(tok.hasChatTemplate, false);
});

t.test('merges derived from the scores are stories260K-hf\'s merges', { skip: skipStories }, async (t) => {
  const md = await metadataOf(STORIES_GGUF);
  const merges = deriveSpmMerges(md['tokenizer.ggml.tokens'] as string[], md['tokenizer.ggml.scores'] as number[]);
  const hf = JSON.parse(fs.readFileSync(path.join(STORIES_HF, 'tokenizer.json'), 'utf8')) as { model: { merges: string[] } };
  t.same(merges.map(([l, r]) => `${l} ${r}`), hf.model.merges);
});

t.test('llama.cpp-written files give reference-greedy.json\'s prompt ids', { skip: skipGgufDir }, async (t) => {
  const refs = JSON.parse(fs.readFileSync(path.join(GGUF_DIR, 'reference-greedy.json'), 'utf8')) as
    Record<string, { prompt: string; prompt_ids: number[] }>;
  t.equal(Object.keys(refs).length, 5);
  for (const [name, ref] of Object.entries(refs)) {
    const file = path.join(GGUF_DIR, name);
    const tok = tokenizerFromGguf(await metadataOf(file), file);
    t.same(tok.encode(ref.prompt), ref.prompt_ids, name);
    t.equal(tok.decode(ref.prompt_ids), ref.prompt, `${name} decodes`);
  }
});

t.test('llama flags: add_bos/add_eos, add_space_prefix, eot, chat template', { skip: skipStories }, async (t) => {
  const md = await metadataOf(STORIES_GGUF);
  t.equal(md['tokenizer.ggml.add_bos_token'], undefined, 'the file leaves add_bos_token to the default');
  const noBos = tokenizerFromGguf({ ...md, 'tokenizer.ggml.add_bos_token': false }, 'x');
  t.same(noBos.encode('Once upon a time'), [403, 407, 261, 378]);
  const withEos = tokenizerFromGguf({ ...md, 'tokenizer.ggml.add_eos_token': true }, 'x');
  t.same(withEos.encode('Once upon a time'), [1, 403, 407, 261, 378, 2]);
  t.same(withEos.encode('Once upon a time', { addSpecialTokens: false }), [403, 407, 261, 378]);

  const noPrefix = tokenizerFromGguf({ ...md, 'tokenizer.ggml.add_space_prefix': false }, 'x');
  const bare = noPrefix.encode('Once upon', { addSpecialTokens: false });
  t.not(bare[0], 403, 'no ▁ before the first word');
  t.equal(noPrefix.decode(bare), 'Once upon', 'and no leading space stripped');
  t.equal(noPrefix.decode(noPrefix.encode(' x')), ' x');

  const tok = tokenizerFromGguf({
    ...md, 'tokenizer.ggml.eot_token_id': 5, 'tokenizer.ggml.padding_token_id': 4294967295,
    'tokenizer.chat_template': "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}",
  }, 'x');
  t.same(tok.eosIds, [2, 5], 'eot joins eos');
  t.equal(tok.hasChatTemplate, true);
  t.equal(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]), '<s>Hi</s>');

  const defaults = { ...md };
  for (const k of ['bos', 'eos', 'unknown']) delete defaults[`tokenizer.ggml.${k}_token_id`];
  const dflt = tokenizerFromGguf(defaults, 'x');
  t.equal(dflt.bosId, 1, 'llama.cpp\'s default BOS id');
  t.same(dflt.eosIds, [2], 'llama.cpp\'s default EOS id');
  const special = ggufSpecialIds(defaults, (md['tokenizer.ggml.tokens'] as string[]).length);
  t.same([special.bos, special.eosIds], [dflt.bosId, dflt.eosIds], 'the model spec (checkpoint.ts) reads the same ids and defaults');
});

// ---- hand-built gpt2-kind vocabularies ----

/** GPT-2's byte → printable character map. */
function byteChars(): string[] {
  const chars: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    chars[b] = printable ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return chars;
}

/**
 * Byte-level metadata whose merges build each of `words` left to right, so a pre-token equal to a word becomes one
 * token and anything a pre-tokenizer splits stays split. Words are ASCII without spaces.
 */
function gpt2Metadata(pre: string | null, words: string[]): GgufMetadata {
  const tokens = byteChars();
  const merges: string[] = [];
  for (const w of words) {
    for (let k = 2; k <= w.length; k++) {
      const piece = w.slice(0, k);
      if (tokens.includes(piece)) continue;
      merges.push(`${w.slice(0, k - 1)} ${w[k - 1]}`);
      tokens.push(piece);
    }
  }
  tokens.push('<|eot|>');
  const types = tokens.map((_, i) => (i === tokens.length - 1 ? 3 : 1));
  return {
    'tokenizer.ggml.model': 'gpt2',
    ...(pre === null ? {} : { 'tokenizer.ggml.pre': pre }),
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.merges': merges,
    'tokenizer.ggml.bos_token_id': tokens.length - 1,
    'tokenizer.ggml.eos_token_id': tokens.length - 1,
  };
}

const WORDS = ['12345', '123', '45', '12', '345', 'we', "'ll", 'WE', "'LL", 'LL', 'Hi', '!!', '!!!', '...'];

function pieces(t: Test, pre: string | null, text: string): string[] {
  const tok = tokenizerFromGguf(gpt2Metadata(pre, WORDS), `pre ${pre}`);
  const ids = tok.encode(text);
  t.equal(tok.decode(ids), text, `${pre} decodes ${JSON.stringify(text)}`);
  return ids.map((id) => tok.decode([id]));
}

t.test('llama-bpe splits digits in groups of up to three and folds contraction case', async (t) => {
  t.same(pieces(t, 'llama-bpe', '12345'), ['123', '45']);
  t.same(pieces(t, 'llama-bpe', "we'll"), ['we', "'ll"]);
  t.same(pieces(t, 'llama-bpe', "WE'LL"), ['WE', "'LL"], "(?i:'ll) matches 'LL");
  t.same(pieces(t, 'llama-bpe', 'Hi!!!\n'), ['Hi', '!!!', '\n'], 'a punctuation run takes its newline; Ċ does not merge');
});

t.test('qwen2 splits every digit', async (t) => {
  t.same(pieces(t, 'qwen2', '12345'), ['1', '2', '3', '4', '5']);
  t.same(pieces(t, 'qwen2', "we'll"), ['we', "'ll"]);
  t.same(pieces(t, 'qwen2', "WE'LL"), ['WE', "'LL"]);
});

t.test('gpt-2 keeps digit runs whole and contractions case-sensitive; default groups digits by three', async (t) => {
  for (const pre of ['gpt-2', 'gpt2']) {
    t.same(pieces(t, pre, '12345'), ['12345']);
    t.same(pieces(t, pre, "we'll"), ['we', "'ll"]);
    t.same(pieces(t, pre, "WE'LL"), ['WE', "'", 'LL'], `${pre}: 'LL is not a contraction`);
  }
  t.same(pieces(t, 'default', '12345'), ['123', '45'], "llama.cpp's default regexes end with [0-9]{3}");
  t.same(pieces(t, null, '12345'), ['123', '45'], 'a missing pre is default');
  t.same(pieces(t, 'default', '...Hi'), ['...', 'Hi']);
});

t.test('gpt2 kind: no BOS unless asked, control tokens are special, eot joins eos', async (t) => {
  const md = gpt2Metadata('gpt-2', WORDS);
  const eot = (md['tokenizer.ggml.tokens'] as string[]).length - 1;
  const tok = tokenizerFromGguf(md, 'x');
  t.same(tok.encode('Hi'), [tok.encode('Hi', { addSpecialTokens: false })[0]], 'nothing added by default');
  t.same(tok.encode('Hi<|eot|>'), [...tok.encode('Hi'), eot], 'control token text is its id');
  t.ok(tok.specialIds.has(eot));
  t.equal(tok.decode(tok.encode('Hi<|eot|>')), 'Hi');
  const withBos = tokenizerFromGguf({ ...md, 'tokenizer.ggml.add_bos_token': true }, 'x');
  t.same(withBos.encode('Hi'), [eot, ...tok.encode('Hi')]);
  const withEot = tokenizerFromGguf({ ...md, 'tokenizer.ggml.eos_token_id': 100, 'tokenizer.ggml.eot_token_id': eot }, 'x');
  t.same(withEot.eosIds, [100, eot]);
});

t.test('unknown models and pre-tokenizers fail by name', async (t) => {
  t.throws(() => tokenizerFromGguf(gpt2Metadata('tekken-ish', WORDS), 'file.gguf'), {
    code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /file\.gguf.*'tekken-ish'.*llama-bpe.*qwen2.*gpt-2/,
  });
  t.throws(() => tokenizerFromGguf({ ...gpt2Metadata(null, WORDS), 'tokenizer.ggml.model': 'bert' }, 'file.gguf'), {
    code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /file\.gguf.*'bert'.*llama, gpt2/,
  });
  t.throws(() => tokenizerFromGguf({}, 'file.gguf'), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /no tokenizer\.ggml\.model/ });
  t.throws(() => tokenizerFromGguf({ 'tokenizer.ggml.model': 'llama' }, 'file.gguf'),
    { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /tokenizer\.ggml\.tokens/ });
  t.throws(() => tokenizerFromGguf({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': ['a', 'b'], 'tokenizer.ggml.scores': [0] }, 'f'),
    { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /tokenizer\.ggml\.scores/ });
  t.throws(() => tokenizerFromGguf({ ...gpt2Metadata(null, WORDS), 'tokenizer.ggml.merges': ['nospace'] }, 'f'),
    { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /'nospace'/ });
});
