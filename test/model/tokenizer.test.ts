// Tests model/tokenizer.ts: stories260K golden encode/decode (skipped without /work/shared), special ids,
// generation-config overrides, chat templates and the checkpoint error cases.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadTokenizer, tokenizerFromJson } from '../../model/tokenizer.ts';
import { isSprigError } from '../../common/errors.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const storiesDir = path.resolve(projectRoot, '../shared/models/stories260K-hf');
const skipStories = fs.existsSync(path.join(storiesDir, 'tokenizer.json')) ? false : `no checkpoint at ${storiesDir}`;

const STORY_IDS = [
  432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282,
  295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432,
];
const STORY_TEXT = ', there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.'
  + ' She wanted to play with it,';

/** A copy of stories260K's tokenizer.json with a tokenizer_config of our choosing. */
function storiesWithConfig(dir: string, config: Record<string, unknown>): void {
  fs.copyFileSync(path.join(storiesDir, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
}

const STORIES_CONFIG = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', tokenizer_class: 'LlamaTokenizerFast' };

t.test('stories260K golden encode', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  t.same(tok.encode('Once upon a time'), [1, 403, 407, 261, 378]);
  t.same(tok.encode('Once upon a time', { addSpecialTokens: false }), [403, 407, 261, 378]);
  t.same(tok.encode('a</s>'), [1, 261, 2], 'special token text maps to its id');
});

t.test('stories260K golden decode', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  // The llama decoder strips one leading space; this run starts with ',' so nothing is stripped (as in HF).
  t.equal(tok.decode(STORY_IDS), STORY_TEXT);
  t.equal(tok.decode(new Int32Array(STORY_IDS)), STORY_TEXT, 'accepts typed arrays');
  t.equal(tok.decode([1, 403, 407, 261, 378]), 'Once upon a time', 'BOS skipped, leading space stripped');
  t.equal(tok.decode([1, 403, 407, 261, 378], { skipSpecialTokens: false }), '<s> Once upon a time');
  t.equal(tok.decode([403, 2, 407]), 'Once upon');
  t.equal(tok.decode([]), '');
  t.equal(tok.decode([403, 512, 99999]), 'Once', 'ids outside the vocab decode to nothing');
});

t.test('stories260K ids and vocab', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  t.equal(tok.vocabSize, 512);
  t.equal(tok.bosId, 1);
  t.same(tok.eosIds, [2]);
  t.same([...tok.specialIds].sort((a, b) => a - b), [0, 1, 2]);
  t.equal(tok.tokenString(403), '▁Once');
  t.equal(tok.tokenString(3), '<0x00>');
  t.equal(tok.tokenString(511), '\u200a');
  t.throws(() => tok.tokenString(512), { code: 'SPRIG_ERR_INVALID_PARAM' });
  t.throws(() => tok.tokenString(-1), { code: 'SPRIG_ERR_INVALID_PARAM' });
  t.equal(tok.hasChatTemplate, false);
  t.throws(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }]),
    { code: 'SPRIG_ERR_INVALID_PARAM', param: 'messages', message: 'model has no chat_template' });
});

t.test('generation config overrides eos and fills a missing bos', { skip: skipStories }, async (t) => {
  t.same((await loadTokenizer(storiesDir, { eos_token_id: [2, 5] })).eosIds, [2, 5]);
  t.same((await loadTokenizer(storiesDir, { eos_token_id: 7 })).eosIds, [7]);
  const dir = t.testdir();
  storiesWithConfig(dir, { eos_token: '</s>' });
  const tok = await loadTokenizer(dir, { bos_token_id: 1 });
  t.equal(tok.bosId, 1);
  const bare = await loadTokenizer(dir);
  t.equal(bare.bosId, null);
  t.same(bare.eosIds, [2]);
});

t.test('add_bos_token follows HF for llama tokenizers', { skip: skipStories }, async (t) => {
  const root = t.testdir({ noBos: {}, withEos: {} });
  const noBos = path.join(root, 'noBos');
  storiesWithConfig(noBos, { ...STORIES_CONFIG, add_bos_token: false });
  t.same((await loadTokenizer(noBos)).encode('Once upon a time'), [403, 407, 261, 378]);
  const withEos = path.join(root, 'withEos');
  storiesWithConfig(withEos, { ...STORIES_CONFIG, add_bos_token: true, add_eos_token: true });
  const tok = await loadTokenizer(withEos);
  t.same(tok.encode('Once upon a time'), [1, 403, 407, 261, 378, 2]);
  t.same(tok.encode('Once upon a time', { addSpecialTokens: false }), [403, 407, 261, 378]);
});

t.test('chat template renders with bos/eos and generation prompt', { skip: skipStories }, async (t) => {
  const dir = t.testdir();
  const template = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}{% endfor %}"
    + '{% if add_generation_prompt %}[assistant]{% endif %}';
  storiesWithConfig(dir, { ...STORIES_CONFIG, chat_template: template });
  const tok = await loadTokenizer(dir);
  t.equal(tok.hasChatTemplate, true);
  const messages = [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi' }];
  t.equal(tok.applyChatTemplate(messages), '<s>[system] Be kind.</s>[user] Hi</s>');
  t.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), '<s>[system] Be kind.</s>[user] Hi</s>[assistant]');
  const ids = tok.encode(tok.applyChatTemplate(messages), { addSpecialTokens: false });
  t.equal(ids[0], 1, 'the template supplies the BOS');
  t.equal(ids.filter((id) => id === 2).length, 2, 'each eos_token becomes the </s> id');
});

t.test('chat_template.jinja wins over tokenizer_config; raise_exception becomes invalidParam', { skip: skipStories }, async (t) => {
  const dir = t.testdir();
  storiesWithConfig(dir, { ...STORIES_CONFIG, chat_template: 'from config' });
  fs.writeFileSync(path.join(dir, 'chat_template.jinja'),
    "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be user') }}{% endif %}jinja:{{ messages[0]['content'] }}");
  const tok = await loadTokenizer(dir);
  t.equal(tok.applyChatTemplate([{ role: 'user', content: 'x' }]), 'jinja:x');
  t.throws(() => tok.applyChatTemplate([{ role: 'system', content: 'x' }]),
    { code: 'SPRIG_ERR_INVALID_PARAM', param: 'messages', message: /first message must be user/ });
});

t.test('older list-form chat_template picks the default entry', { skip: skipStories }, async (t) => {
  const dir = t.testdir();
  storiesWithConfig(dir, { ...STORIES_CONFIG, chat_template: [{ name: 'tool_use', template: 'tools' }, { name: 'default', template: 'plain' }] });
  t.equal((await loadTokenizer(dir)).applyChatTemplate([]), 'plain');
});

t.test('missing tokenizer.json is checkpointMissing naming the path', async (t) => {
  const dir = t.testdir({ 'tokenizer_config.json': '{}' });
  const err = await loadTokenizer(dir).then(() => null, (e: unknown) => e);
  t.ok(isSprigError(err), 'a SprigError');
  t.match(err, { code: 'SPRIG_ERR_CHECKPOINT_MISSING', message: path.join(dir, 'tokenizer.json') });
});

t.test('corrupt files are badCheckpoint; unknown components are unsupportedModel', async (t) => {
  const corrupt = t.testdir({ 'tokenizer.json': '{ not json' });
  await t.rejects(loadTokenizer(corrupt), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /tokenizer\.json/ });
  const badConfig = t.testdir({ 'tokenizer.json': '{"model": {"type": "BPE", "vocab": {}, "merges": []}}', 'tokenizer_config.json': '[1]' });
  await t.rejects(loadTokenizer(badConfig), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /tokenizer_config\.json/ });
  const unknown = t.testdir({ 'tokenizer.json': '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "decoder": {"type": "Nope"}}' });
  await t.rejects(loadTokenizer(unknown), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL' });
});

t.test('tokenizerFromJson builds from in-memory objects and names its source in errors', { skip: skipStories }, async (t) => {
  const json = JSON.parse(fs.readFileSync(path.join(storiesDir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const tok = tokenizerFromJson(json, { ...STORIES_CONFIG, add_bos_token: true, chat_template: '{{ bos_token }}x' }, { eos_token_id: [2, 5] }, 'mem');
  t.same(tok.encode('Once upon a time'), [1, 403, 407, 261, 378]);
  t.same(tok.eosIds, [2, 5]);
  t.equal(tok.applyChatTemplate([]), '<s>x');
  t.throws(() => tokenizerFromJson({ ...json, decoder: { type: 'Nope' } }, {}, undefined, 'in-memory.gguf'),
    { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /in-memory\.gguf/ });
  const broken = tokenizerFromJson(json, { chat_template: '{% if %}' }, undefined, 'in-memory.gguf');
  t.throws(() => broken.applyChatTemplate([]), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /in-memory\.gguf/ });
});
