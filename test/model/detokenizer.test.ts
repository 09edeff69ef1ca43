// Tests model/detokenizer.ts: streamed text equals a one-shot decode, never splits a character,
// gets SentencePiece spaces right around skipped specials, and decodes a bounded window per token.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { IncrementalDetokenizer } from '../../model/detokenizer.ts';
import { writeTestTokenizer } from '../../model/make-tokenizer.ts';
import { loadTokenizer, type Tokenizer } from '../../model/tokenizer.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const storiesDir = path.resolve(projectRoot, '../shared/models/stories260K-hf');
const skipStories = fs.existsSync(path.join(storiesDir, 'tokenizer.json')) ? false : `no checkpoint at ${storiesDir}`;

const TEXTS = [
  'Once upon a time, Pip saw a shiny red stone.',
  'héllo 世界 🌱 — naïve café, 日本語のテキスト 😀😀!',
  '  two leading spaces and\nnew lines\n\n  end ',
  'Ünïcödé at the start',
];

/** Streams ids through a detokenizer; returns the pieces and what flush() added. */
function stream(tok: Tokenizer, ids: number[], opts?: { skipSpecialTokens?: boolean }): { pieces: string[]; tail: string; text: string } {
  const detok = new IncrementalDetokenizer(tok, opts);
  const pieces = ids.map((id) => detok.push(id));
  const tail = detok.flush();
  return { pieces, tail, text: detok.text };
}

/** Wraps a tokenizer so the test can see how many ids each decode call gets. */
function countingTokenizer(tok: Tokenizer): { tok: Tokenizer; maxIds: () => number; calls: () => number } {
  let maxIds = 0;
  let calls = 0;
  const wrapped: Tokenizer = Object.create(tok);
  wrapped.decode = (ids, opts) => {
    calls++;
    maxIds = Math.max(maxIds, ids.length);
    return tok.decode(ids, opts);
  };
  return { tok: wrapped, maxIds: () => maxIds, calls: () => calls };
}

async function testTokenizer(dir: string, style: 'llama' | 'gpt2', vocabSize: number): Promise<Tokenizer> {
  writeTestTokenizer(dir, { style, vocabSize });
  return loadTokenizer(dir);
}

for (const [style, vocabSize] of [['llama', 512], ['llama', 300], ['gpt2', 512], ['gpt2', 300]] as const) {
  t.test(`${style} ${vocabSize}: streamed text equals decode, no half characters`, async (t) => {
    const tok = await testTokenizer(t.testdir(), style, vocabSize);
    for (const text of TEXTS) {
      const ids = tok.encode(text);
      const full = tok.decode(ids);
      t.equal(full, text, 'sanity: the tokenizer round-trips');
      const { pieces, tail, text: streamed } = stream(tok, ids);
      t.equal(pieces.join('') + tail, full, `stream of ${JSON.stringify(text)}`);
      t.equal(streamed, full, '.text holds everything emitted');
      t.notOk(pieces.some((p) => p.includes('\uFFFD')), 'no replacement character is ever emitted');
      let soFar = '';
      for (const p of pieces) {
        soFar += p;
        t.ok(full.startsWith(soFar), 'every prefix of the stream is a prefix of the final text');
      }
    }
  });
}

t.test('byte-fallback pieces of one character are held back until it is complete', async (t) => {
  const tok = await testTokenizer(t.testdir(), 'llama', 300);
  const ids = tok.encode('🌱', { addSpecialTokens: false });
  // '▁' then four byte tokens <0xF0><0x9F><0x8C><0xB1>.
  t.same(ids.slice(-4).map((id) => tok.tokenString(id)), ['<0xF0>', '<0x9F>', '<0x8C>', '<0xB1>']);
  const { pieces, tail } = stream(tok, ids);
  t.same(pieces.slice(-4), ['', '', '', '🌱']);
  t.equal(tail, '');
});

t.test('a trailing incomplete character comes out of flush as U+FFFD, as decode gives', async (t) => {
  const tok = await testTokenizer(t.testdir(), 'llama', 300);
  const a = tok.encode('a', { addSpecialTokens: false });
  const ids = [...a, 3 + 0xe4, 3 + 0xb8];
  const { pieces, tail } = stream(tok, ids);
  t.equal(pieces.join(''), 'a');
  t.same(pieces.slice(-2), ['', ''], 'both bytes held back');
  t.equal(tail, '\uFFFD');
  t.equal(pieces.join('') + tail, tok.decode(ids));
});

t.test('long runs of invalid bytes are emitted and the window stays bounded', async (t) => {
  const base = await testTokenizer(t.testdir(), 'llama', 300);
  const { tok, maxIds } = countingTokenizer(base);
  const ids = [...base.encode('x'), ...new Array(100).fill(3 + 0xff), ...base.encode(' done', { addSpecialTokens: false })];
  const { pieces, tail } = stream(tok, ids);
  t.equal(pieces.join('') + tail, base.decode(ids));
  t.ok(maxIds() <= 40, `window stays small (max ${maxIds()} ids)`);
});

t.test('decoding work per token is bounded, not the whole sequence', async (t) => {
  const base = await testTokenizer(t.testdir(), 'gpt2', 512);
  const { tok, maxIds, calls } = countingTokenizer(base);
  const ids = base.encode(TEXTS.join(' ').repeat(20));
  t.ok(ids.length > 500, 'a long sequence');
  const { pieces, tail } = stream(tok, ids);
  t.equal(pieces.join('') + tail, base.decode(ids));
  t.ok(maxIds() <= 8, `each decode sees at most a few ids (max ${maxIds()})`);
  t.ok(calls() <= 2 * ids.length + 1, `about two decodes per token (${calls()} for ${ids.length})`);
});

t.test('stories260K: spaces survive skipped specials between words', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  // '</s>' between '▁Once' and '▁upon': decoding '▁upon' after an empty prefix would lose its space.
  const ids = [1, 403, 2, 407, 261, 378];
  const { pieces, tail } = stream(tok, ids);
  t.same(pieces, ['', 'Once', '', ' upon', ' a', ' time']);
  t.equal(pieces.join('') + tail, 'Once upon a time');
  t.equal(pieces.join('') + tail, tok.decode(ids));
});

t.test('stories260K: skipSpecialTokens false streams the specials too', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  const ids = [1, 403, 2, 407];
  const { pieces, tail } = stream(tok, ids, { skipSpecialTokens: false });
  t.same(pieces, ['<s>', ' Once', '</s>', ' upon']);
  t.equal(pieces.join('') + tail, tok.decode(ids, { skipSpecialTokens: false }));
});

t.test('stories260K: golden ids stream to the golden text', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  for (const text of TEXTS) {
    const ids = tok.encode(text);
    const { pieces, tail } = stream(tok, ids);
    t.equal(pieces.join('') + tail, tok.decode(ids), JSON.stringify(text));
  }
});

t.test('flush is idempotent and pushing can continue after it', async (t) => {
  const tok = await testTokenizer(t.testdir(), 'gpt2', 300);
  const detok = new IncrementalDetokenizer(tok);
  const ids = tok.encode('ab 世界');
  let out = '';
  for (const id of ids) out += detok.push(id);
  out += detok.flush();
  t.equal(detok.flush(), '');
  for (const id of tok.encode(' more')) out += detok.push(id);
  out += detok.flush();
  t.equal(out, 'ab 世界 more');
  t.equal(detok.text, out);
});

t.test('with the prompt as context, a completion keeps the space its first token carries', { skip: skipStories }, async (t) => {
  const tok = await loadTokenizer(storiesDir);
  const prompt = tok.encode('She loved to play');
  const full = tok.encode('She loved to play outside in the park.');
  t.same(full.slice(0, prompt.length), prompt, 'the prompt tokenizes the same inside the longer text');
  const completion = full.slice(prompt.length);
  const alone = new IncrementalDetokenizer(tok);
  const withContext = new IncrementalDetokenizer(tok, { context: prompt });
  const a = completion.map((id) => alone.push(id)).join('') + alone.flush();
  const b = completion.map((id) => withContext.push(id)).join('') + withContext.flush();
  t.equal(a, 'outside in the park.', 'decoded alone, SentencePiece strips the leading space');
  t.equal(b, ' outside in the park.', 'after the prompt, the space stays');
  t.equal(tok.decode(prompt) + b, tok.decode(full), 'prompt + completion reads as the whole text');
});
