// Tests model/gguf/tokenizer-metadata.ts: HF tokenizer folder → GGUF tokenizer metadata → tokenizerFromGguf gives the
// folder's own tokenizer back (ids, specials, decode, chat template) for stories260K-hf and generated llama/gpt2 test
// tokenizers; the GGUF item types; stories260K-hf gives stories260K.gguf's token types and merges; unsupported kinds fail.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { tokenizerMetadataFromHf } from '../../../model/gguf/tokenizer-metadata.ts';
import { deriveSpmMerges, PRE_TOKENIZER_REGEXES, tokenizerFromGguf } from '../../../model/gguf/tokenizer.ts';
import { writeTestTokenizer } from '../../../model/make-tokenizer.ts';
import { loadTokenizer, type Tokenizer } from '../../../model/tokenizer.ts';
import type { GgufKv, GgufMetadata } from '../../../model/gguf/metadata.ts';
import { TOKENIZER_PROMPTS } from '../../helpers/tokenizer-prompts.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../../shared/models');
const STORIES_HF = path.join(MODELS, 'stories260K-hf');
const STORIES_GGUF = path.join(MODELS, 'stories260K.gguf');
const skipStories = fs.existsSync(path.join(STORIES_HF, 'tokenizer.json')) ? false : `no ${STORIES_HF}`;

const PROMPTS = [...TOKENIZER_PROMPTS, 'Pip saw a wishing stone</s>and<s>the turtle<|endoftext|>!', '<unk> and <0x41>'];

const asMetadata = (kv: GgufKv[]): GgufMetadata => Object.fromEntries(kv.map((e) => [e.key, e.value]));
const entry = (kv: GgufKv[], key: string) => kv.find((e) => e.key === key);

/** Same ids, bare ids, decodes, specials and chat template as the folder's own tokenizer. */
function sameTokenizer(t: Test, got: Tokenizer, want: Tokenizer): void {
  for (const p of PROMPTS) {
    const ids = want.encode(p);
    t.same(got.encode(p), ids, `encode ${JSON.stringify(p)}`);
    t.same(got.encode(p, { addSpecialTokens: false }), want.encode(p, { addSpecialTokens: false }), `bare ${JSON.stringify(p)}`);
    t.equal(got.decode(ids), want.decode(ids), `decode ${JSON.stringify(p)}`);
    t.equal(got.decode(ids, { skipSpecialTokens: false }), want.decode(ids, { skipSpecialTokens: false }));
  }
  t.equal(got.vocabSize, want.vocabSize, 'vocab size');
  t.equal(got.bosId, want.bosId, 'bos');
  t.same(got.eosIds, want.eosIds, 'eos');
  t.same([...got.specialIds].sort((a, b) => a - b), [...want.specialIds].sort((a, b) => a - b), 'special ids');
  for (let id = 0; id < want.vocabSize; id++) {
    if (got.tokenString(id) !== want.tokenString(id)) {
      t.fail(`tokenString ${id}: ${got.tokenString(id)} vs ${want.tokenString(id)}`);
      break;
    }
  }
  t.equal(got.hasChatTemplate, want.hasChatTemplate, 'has a chat template');
  if (want.hasChatTemplate) {
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }];
    t.equal(got.applyChatTemplate(messages, { addGenerationPrompt: true }), want.applyChatTemplate(messages, { addGenerationPrompt: true }));
  }
}

t.test('stories260K-hf → llama metadata with llama.cpp\'s item types, token types and merges', { skip: skipStories }, async (t) => {
  const kv = tokenizerMetadataFromHf(STORIES_HF);
  t.match(entry(kv, 'tokenizer.ggml.model'), { type: 'string', value: 'llama' });
  t.match(entry(kv, 'tokenizer.ggml.tokens'), { type: 'array', itemType: 'string' });
  t.match(entry(kv, 'tokenizer.ggml.scores'), { type: 'array', itemType: 'f32' });
  t.match(entry(kv, 'tokenizer.ggml.token_type'), { type: 'array', itemType: 'i32' });
  t.same(entry(kv, 'tokenizer.ggml.bos_token_id'), { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 1 });
  t.same(entry(kv, 'tokenizer.ggml.eos_token_id'), { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 2 });
  t.same(entry(kv, 'tokenizer.ggml.unknown_token_id'), { key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: 0 });
  t.same(entry(kv, 'tokenizer.ggml.add_bos_token'), { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: true });
  t.same(entry(kv, 'tokenizer.ggml.add_eos_token'), { key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: false });
  t.equal(entry(kv, 'tokenizer.ggml.merges'), undefined, 'the scores say the merges, so none are written (as llama.cpp)');
  t.equal(entry(kv, 'tokenizer.chat_template'), undefined);
  t.equal(new Set(kv.map((e) => e.key)).size, kv.length, 'no key twice');

  const md = asMetadata(kv);
  const merges = deriveSpmMerges(md['tokenizer.ggml.tokens'] as string[], md['tokenizer.ggml.scores'] as number[]);
  const hf = JSON.parse(fs.readFileSync(path.join(STORIES_HF, 'tokenizer.json'), 'utf8')) as { model: { merges: string[] } };
  t.same(merges.map(([l, r]) => `${l} ${r}`), hf.model.merges, 'llama.cpp rebuilds exactly the HF merges from the scores');
  sameTokenizer(t, tokenizerFromGguf(md, 'converted'), await loadTokenizer(STORIES_HF));

  if (fs.existsSync(STORIES_GGUF)) {
    const { gguf } = await import('@huggingface/gguf');
    const real = (await gguf(STORIES_GGUF, { allowLocalFile: true })).metadata as unknown as GgufMetadata;
    t.same(md['tokenizer.ggml.tokens'], real['tokenizer.ggml.tokens'], 'the same tokens as llama.cpp\'s file');
    t.same(md['tokenizer.ggml.token_type'], real['tokenizer.ggml.token_type'], 'the same token types as llama.cpp\'s file');
  }
});

for (const style of ['llama', 'gpt2'] as const) {
  for (const vocabSize of [300, 512, 4096]) {
    t.test(`generated ${style} tokenizer (${vocabSize}) round-trips through GGUF metadata`, async (t) => {
      const dir = t.testdir();
      writeTestTokenizer(dir, { style, vocabSize });
      const kv = tokenizerMetadataFromHf(dir);
      const md = asMetadata(kv);
      t.equal(md['tokenizer.ggml.model'], style);
      t.equal((md['tokenizer.ggml.tokens'] as string[]).length, vocabSize);
      t.type(md['tokenizer.chat_template'], 'string');
      if (style === 'gpt2') {
        t.match(entry(kv, 'tokenizer.ggml.pre'), { type: 'string', value: 'gpt-2' });
        t.match(entry(kv, 'tokenizer.ggml.merges'), { type: 'array', itemType: 'string' });
        const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as { model: { merges: string[] } };
        t.same(md['tokenizer.ggml.merges'], json.model.merges);
        t.equal(md['tokenizer.ggml.add_bos_token'], false);
        t.equal(md['tokenizer.ggml.scores'], undefined);
      } else {
        t.equal(md['tokenizer.ggml.add_bos_token'], true);
        t.equal(md['tokenizer.ggml.pre'], undefined);
      }
      sameTokenizer(t, tokenizerFromGguf(md, 'converted'), await loadTokenizer(dir));
    });
  }
}

t.test('a BPE-trained llama vocabulary the scores cannot say carries its merges', async (t) => {
  const dir = t.testdir();
  writeTestTokenizer(dir, { style: 'llama', vocabSize: 4096 });
  const md = asMetadata(tokenizerMetadataFromHf(dir));
  t.ok(Array.isArray(md['tokenizer.ggml.merges']), 'merges written');
  const want = await loadTokenizer(dir);
  const { 'tokenizer.ggml.merges': _merges, ...scoresOnly } = md;
  const spm = tokenizerFromGguf(scoresOnly, 'scores only');
  const differs = PROMPTS.some((p) => JSON.stringify(spm.encode(p)) !== JSON.stringify(want.encode(p)));
  t.ok(differs, 'scores alone (llama.cpp\'s reading) would tokenize some prompt differently');
});

t.test('byte-level tokenizers with a llama-bpe or qwen2 split round-trip with that pre name', async (t) => {
  for (const [pre, regex] of Object.entries(PRE_TOKENIZER_REGEXES)) {
    const dir = t.testdir();
    writeTestTokenizer(dir, { style: 'gpt2', vocabSize: 512 });
    const file = path.join(dir, 'tokenizer.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
    if (pre === 'llama-bpe') (json.model as Record<string, unknown>).ignore_merges = true;
    fs.writeFileSync(file, JSON.stringify(json));
    const md = asMetadata(tokenizerMetadataFromHf(dir));
    t.equal(md['tokenizer.ggml.pre'], pre);
    const want = await loadTokenizer(dir);
    sameTokenizer(t, tokenizerFromGguf(md, pre), want);
  }
});

t.test('unsupported tokenizer kinds fail naming what was found', async (t) => {
  const write = (json: object) => t.testdir({ 'tokenizer.json': JSON.stringify(json) });
  t.throws(() => tokenizerMetadataFromHf(write({ model: { type: 'Unigram', vocab: [['a', 0]] } })),
    { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /'Unigram'/ });
  t.throws(() => tokenizerMetadataFromHf(write({ model: { type: 'WordPiece', vocab: { a: 0 } } })),
    { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /'WordPiece'/ });
  t.throws(() => tokenizerMetadataFromHf(write({
    model: { type: 'BPE', vocab: { a: 0 }, merges: [], byte_fallback: false },
    normalizer: { type: 'NFC' }, pre_tokenizer: { type: 'Whitespace' }, decoder: null,
  })), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /byte_fallback false.*NFC.*Whitespace/ });
  const gpt2 = t.testdir();
  writeTestTokenizer(gpt2, { style: 'gpt2', vocabSize: 300 });
  const json = JSON.parse(fs.readFileSync(path.join(gpt2, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  json.pre_tokenizer = { type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: '\\p{N}{1,4}' }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ] };
  fs.writeFileSync(path.join(gpt2, 'tokenizer.json'), JSON.stringify(json));
  t.throws(() => tokenizerMetadataFromHf(gpt2), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /pre_tokenizer Sequence.*llama-bpe, qwen2/ });
  t.throws(() => tokenizerMetadataFromHf(t.testdir()), { code: 'SPRIG_ERR_CHECKPOINT_MISSING' });
});
