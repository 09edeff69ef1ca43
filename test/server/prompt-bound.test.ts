// The cheap lower bound on a prompt's tokens holds for every tokenizer shape Sprig serves (SentencePiece-style
// with ▁ and byte fallback, GPT-2 byte-level, each with an NFKC normalizer), on hostile texts; a tokenizer that
// drops text gets no bound at all.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadTokenizer, type Tokenizer } from '../../model/tokenizer.ts';
import { minTokens, promptBound } from '../../server/prompt-bound.ts';
import { testModel } from '../helpers/models.ts';

const llamaDir = () => testModel('bound-llama', { arch: 'llama', seed: 3, layers: 1, hidden: 16, heads: 2, kvHeads: 1, vocab: 512, contextLength: 64 });
const gpt2Dir = () => testModel('bound-gpt2', { arch: 'gpt2', seed: 3, layers: 1, hidden: 16, heads: 2, kvHeads: 2, vocab: 512, contextLength: 64 });

/** The tokenizer of `dir` with its tokenizer.json edited. */
async function variant(dir: string, edit: (json: Record<string, unknown>) => void): Promise<Tokenizer> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sprig-bound-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  for (const f of fs.readdirSync(dir)) if (f.startsWith('tokenizer')) fs.copyFileSync(path.join(dir, f), path.join(out, f));
  const json = JSON.parse(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  edit(json);
  fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(json));
  return loadTokenizer(out);
}

/** Hostile and ordinary texts: whitespace runs, the longest tokens repeated, composing marks, folding letters, emoji. */
function texts(tokenizer: Tokenizer): string[] {
  let longest = '';
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const s = tokenizer.decode([id], { skipSpecialTokens: false });
    if (Buffer.byteLength(s) > Buffer.byteLength(longest)) longest = s;
  }
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const randomText = Array.from({ length: 400 }, () => String.fromCodePoint(rand() < 0.5 ? 32 + Math.floor(rand() * 95) : Math.floor(rand() * 0xd7ff))).join('');
  return [
    'Once upon a time, there was a little fox named Pip. '.repeat(20),
    ' '.repeat(500), '\n'.repeat(500), '\t \n'.repeat(200), longest.repeat(100), ` ${longest}`.repeat(100),
    '\u1100\u1161\u11A8'.repeat(100), 'e\u0301'.repeat(200), '\uFF21'.repeat(200), '\u{1D400}'.repeat(200), '\uFB01'.repeat(200),
    '😀'.repeat(100), '▁'.repeat(200), '<s></s>'.repeat(50), randomText, 'x',
  ];
}

function checkBound(t: Test, name: string, tokenizer: Tokenizer) {
  const bound = promptBound(tokenizer);
  t.ok(bound.maxTokenBytes !== null && bound.maxTokenBytes >= bound.longestToken, `${name}: a bound (${bound.maxTokenBytes} bytes per token at most)`);
  for (const text of texts(tokenizer)) {
    const bytes = Buffer.byteLength(text);
    const actual = tokenizer.encode(text, { addSpecialTokens: false }).length;
    t.ok(minTokens(bytes, bound.maxTokenBytes!) <= actual, `${name}: ${JSON.stringify(text.slice(0, 16))} (${bytes} bytes): bound ${minTokens(bytes, bound.maxTokenBytes!)} ≤ ${actual} tokens`);
  }
  return bound;
}

t.test('the bound is a lower bound for SentencePiece-style and byte-level tokenizers', async (t) => {
  const llama = checkBound(t, 'llama', await loadTokenizer(llamaDir()));
  checkBound(t, 'gpt2', await loadTokenizer(gpt2Dir()));
  t.equal(llama.shrink < 1.1, true, 'no normalizer: (almost) no shrink factor');
});

t.test('an NFKC normalizer (folds 𝐀 to A, 4:1) widens the bound instead of breaking it', async (t) => {
  const nfkc = (json: Record<string, unknown>) => {
    json.normalizer = json.normalizer ? { type: 'Sequence', normalizers: [{ type: 'NFKC' }, json.normalizer] } : { type: 'NFKC' };
  };
  const llama = checkBound(t, 'llama+nfkc', await variant(llamaDir(), nfkc));
  t.ok(llama.shrink > 1.2, `the normalizer's shrink is measured (${llama.shrink.toFixed(2)})`);
  checkBound(t, 'gpt2+nfkc', await variant(gpt2Dir(), nfkc));
});

t.test('a tokenizer that drops text (whitespace stripped) gets no bound', async (t) => {
  const tok = await variant(llamaDir(), (json) => {
    json.normalizer = { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { Regex: '\\s+' }, content: '' }] };
  });
  const bound = promptBound(tok);
  t.equal(bound.maxTokenBytes, null);
  t.match(bound.reason, /keeps 0 of/);
});
