// Tests model/make-tokenizer.ts: exact vocab sizes, the llama and gpt2 layouts, round trips,
// determinism, merge consistency, chat templates and the too-small errors.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { writeTestTokenizer } from '../../model/make-tokenizer.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';

type Style = 'llama' | 'gpt2';

const ROUND_TRIPS = [
  'Once upon a time, there was a little fox named Pip.',
  'héllo 世界 🌱',
  ' leading and trailing  ',
  'tabs\tand\nnewlines, "quotes" & symbols: 42%!',
  'a<b>c {curly} [brackets] ~tilde~ `tick`',
];

interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { vocab: Record<string, number>; merges: string[] };
}

async function build(dir: string, style: Style, vocabSize: number) {
  writeTestTokenizer(dir, { style, vocabSize });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  return { tok: await loadTokenizer(dir), json };
}

for (const [style, sizes] of [['llama', [260, 300, 512, 4096]], ['gpt2', [257, 300, 512, 4096]]] as const) {
  for (const vocabSize of sizes) {
    t.test(`${style} ${vocabSize}: exactly vocabSize distinct ids`, async (t) => {
      const { tok, json } = await build(t.testdir(), style, vocabSize);
      t.equal(tok.vocabSize, vocabSize);
      const ids = new Set([...Object.values(json.model.vocab), ...json.added_tokens.map((a) => a.id)]);
      t.equal(ids.size, vocabSize, 'no id is missing or repeated');
      t.equal(Math.min(...ids), 0);
      t.equal(Math.max(...ids), vocabSize - 1);
      const strings = new Set(Array.from({ length: vocabSize }, (_, id) => tok.tokenString(id)));
      t.equal(strings.size, vocabSize, 'every id has its own string');
      t.throws(() => tok.tokenString(vocabSize), { code: 'SPRIG_ERR_INVALID_PARAM' });
    });

    t.test(`${style} ${vocabSize}: round trips ASCII and non-ASCII text`, async (t) => {
      const { tok } = await build(t.testdir(), style, vocabSize);
      for (const text of ROUND_TRIPS) {
        const ids = tok.encode(text);
        t.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize), 'ids in range');
        t.equal(tok.decode(ids), text, JSON.stringify(text));
      }
    });
  }
}

t.test('every merge joins two vocab tokens into a vocab token', async (t) => {
  const root = t.testdir({ llama: {}, gpt2: {} });
  for (const style of ['llama', 'gpt2'] as const) {
    const { json } = await build(path.join(root, style), style, 2000);
    const vocab = json.model.vocab;
    const bad = json.model.merges.filter((m) => {
      const [a, b] = m.split(' ');
      return m.split(' ').length !== 2 || !(a in vocab) || !(b in vocab) || !(a + b in vocab);
    });
    t.same(bad, [], `${style}: ${json.model.merges.length} merges`);
  }
});

t.test('llama layout: specials, byte tokens, BOS added', async (t) => {
  const { tok, json } = await build(t.testdir(), 'llama', 512);
  t.same([0, 1, 2, 3, 258].map((id) => tok.tokenString(id)), ['<unk>', '<s>', '</s>', '<0x00>', '<0xFF>']);
  t.equal(tok.bosId, 1);
  t.same(tok.eosIds, [2]);
  t.same([...tok.specialIds].sort((a, b) => a - b), [0, 1, 2]);
  t.same(json.added_tokens.map((a) => a.content), ['<unk>', '<s>', '</s>']);
  const ids = tok.encode('Once upon a time');
  t.equal(ids[0], 1, 'BOS first');
  t.ok(ids.length < 8, `merges make words into few tokens (${ids.length})`);
  t.equal(tok.tokenString(ids[1]), '▁Once', 'sample words become single tokens');
  t.same(tok.encode('Once upon a time', { addSpecialTokens: false }), ids.slice(1));
  t.same(tok.encode('é', { addSpecialTokens: false }).slice(-2).map((id) => tok.tokenString(id)), ['<0xC3>', '<0xA9>'],
    'characters outside the sample fall back to bytes');
});

t.test('gpt2 layout: byte-level base, <|endoftext|> last, no BOS added', async (t) => {
  const { tok } = await build(t.testdir(), 'gpt2', 512);
  t.equal(tok.tokenString(0), '!');
  t.equal(tok.tokenString(511), '<|endoftext|>');
  t.equal(tok.bosId, 511);
  t.same(tok.eosIds, [511]);
  t.same([...tok.specialIds], [511]);
  const ids = tok.encode('Once upon a time');
  t.same(ids.map((id) => tok.tokenString(id)), ['Once', 'Ġupon', 'Ġa', 'Ġtime']);
  t.same(tok.encode('Once upon a time', { addSpecialTokens: false }), ids);
  t.same(tok.encode('x<|endoftext|>').slice(-1), [511], 'the special token text maps to its id');
});

t.test('output is deterministic and depends on the size', async (t) => {
  const root = t.testdir();
  for (const style of ['llama', 'gpt2'] as const) {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(root, style, name));
    for (const dir of [a, b, c]) fs.mkdirSync(dir, { recursive: true });
    writeTestTokenizer(a, { style, vocabSize: 700 });
    writeTestTokenizer(b, { style, vocabSize: 700 });
    writeTestTokenizer(c, { style, vocabSize: 701 });
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      t.equal(fs.readFileSync(path.join(a, file), 'utf8'), fs.readFileSync(path.join(b, file), 'utf8'), `${style} ${file}`);
    }
    t.not(fs.readFileSync(path.join(a, 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(c, 'tokenizer.json'), 'utf8'));
  }
});

t.test('chat templates render and encode with the specials', async (t) => {
  const messages = [{ role: 'user', content: 'Hi there' }];
  const root = t.testdir({ llama: {}, gpt2: {} });
  const llama = (await build(path.join(root, 'llama'), 'llama', 512)).tok;
  t.equal(llama.hasChatTemplate, true);
  const llamaChat = llama.applyChatTemplate(messages, { addGenerationPrompt: true });
  t.equal(llamaChat, '<s><|user|>\nHi there</s>\n<|assistant|>\n');
  const llamaIds = llama.encode(llamaChat, { addSpecialTokens: false });
  t.equal(llamaIds[0], 1);
  t.ok(llamaIds.includes(2), 'eos_token is the </s> id');
  t.equal(llama.applyChatTemplate(messages), '<s><|user|>\nHi there</s>\n');

  const gpt2 = (await build(path.join(root, 'gpt2'), 'gpt2', 512)).tok;
  const gpt2Chat = gpt2.applyChatTemplate(messages, { addGenerationPrompt: true });
  t.equal(gpt2Chat, '<|user|>\nHi there<|endoftext|>\n<|assistant|>\n');
  t.ok(gpt2.encode(gpt2Chat).includes(511));
  t.equal(gpt2.decode(gpt2.encode(gpt2Chat)), '<|user|>\nHi there\n<|assistant|>\n', 'decode skips the special');
});

t.test('too-small sizes and unknown styles are invalidParam', async (t) => {
  const dir = t.testdir();
  t.throws(() => writeTestTokenizer(dir, { style: 'llama', vocabSize: 259 }), { code: 'SPRIG_ERR_INVALID_PARAM', param: 'vocabSize' });
  t.throws(() => writeTestTokenizer(dir, { style: 'gpt2', vocabSize: 256 }), { code: 'SPRIG_ERR_INVALID_PARAM', param: 'vocabSize' });
  t.throws(() => writeTestTokenizer(dir, { style: 'llama', vocabSize: 300.5 }), { code: 'SPRIG_ERR_INVALID_PARAM' });
  t.throws(() => writeTestTokenizer(dir, { style: 'bert' as Style, vocabSize: 300 }), { code: 'SPRIG_ERR_INVALID_PARAM', param: 'style' });
  t.same(fs.readdirSync(dir), [], 'nothing written');
});
