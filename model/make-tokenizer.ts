// Writes a small, deterministic, working HF tokenizer (tokenizer.json + tokenizer_config.json) for random-weight test models.
// Merges come from a tiny BPE trainer over an embedded sample text; it never reads the network or the clock.
import fs from 'node:fs';
import path from 'node:path';
import { errors } from '../common/errors.ts';

export type TestTokenizerStyle = 'llama' | 'gpt2';

const SAMPLE_TEXT = [
  'Once upon a time, there was a little fox named Pip. Pip lived at the edge of a quiet wood with his mother and his two sisters.',
  'Every morning he ran down to the river to look at the fish, and every evening he came home with wet paws and a happy face.',
  'One day, Pip saw a shiny red stone in the water. "What is that?" he asked the old turtle who sat on a log in the sun.',
  '"It is a wishing stone," said the turtle. "But you must share the wish with a friend, or it will not work."',
  'Pip thought about it for a long time. Then he picked up the stone and ran all the way home to his sisters.',
  'They sat in a circle under the big oak tree and made one wish together. They wished for a warm winter and lots of berries.',
  'The winter was warm, and the berries were sweet. Pip learned that a wish is better when you share it. The end.',
].join(' ');

const LLAMA_CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n"
  + "{{ message['content'] }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
const GPT2_CHAT_TEMPLATE = "{% for message in messages %}<|{{ message['role'] }}|>\n"
  + "{{ message['content'] }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

const LLAMA_SPECIALS = ['<unk>', '<s>', '</s>'];
const LLAMA_MIN_VOCAB = LLAMA_SPECIALS.length + 256 + 1;
const GPT2_EOT = '<|endoftext|>';
const GPT2_MIN_VOCAB = 256 + 1;
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible byte -> printable character map, in GPT-2's id order (printable bytes first). */
function byteLevelAlphabet(): { order: number[]; charOf: string[] } {
  const order: number[] = [];
  for (let b = 33; b <= 126; b++) order.push(b);
  for (let b = 161; b <= 172; b++) order.push(b);
  for (let b = 174; b <= 255; b++) order.push(b);
  const charOf: string[] = new Array(256);
  for (const b of order) charOf[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (charOf[b] === undefined) {
      order.push(b);
      charOf[b] = String.fromCharCode(256 + n++);
    }
  }
  return { order, charOf };
}

/** Characters by falling frequency, ties by code point, so the result never depends on Map order. */
function charsByFrequency(words: string[][]): string[] {
  const counts = new Map<string, number>();
  for (const w of words) for (const c of w) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Grows `vocab` to exactly `targetSize` entries, recording merges as 'left right'.
 * First classic BPE over `words` (most frequent adjacent pair, ties by smaller pair), then, once every
 * word is one symbol, padding merges `piece + c` over `pieces` x `padChars` until the size is reached.
 */
function learnMerges(words: string[][], vocab: Map<string, number>, pieces: string[], padChars: string[], targetSize: number): string[] {
  const merges: string[] = [];
  const addMerge = (left: string, right: string): void => {
    merges.push(`${left} ${right}`);
    const merged = left + right;
    if (!vocab.has(merged)) {
      vocab.set(merged, vocab.size);
      pieces.push(merged);
    }
  };

  while (vocab.size < targetSize) {
    const pairCounts = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        const key = `${w[i]} ${w[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + 1);
      }
    }
    let best: string | null = null;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === null) break;
    const [left, right] = best.split(' ');
    addMerge(left, right);
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === left && w[i + 1] === right) w.splice(i, 2, left + right);
      }
    }
  }

  for (let k = 0; vocab.size < targetSize; k++) {
    if (k >= pieces.length || padChars.length === 0) throw errors.internal('test tokenizer padding ran out of pieces');
    for (const c of padChars) {
      if (vocab.size >= targetSize) break;
      if (!vocab.has(pieces[k] + c)) addMerge(pieces[k], c);
    }
  }
  return merges;
}

const addedToken = (id: number, content: string) =>
  ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

const bpeModel = (vocab: Map<string, number>, merges: string[], unkToken: string | null, byteFallback: boolean) => ({
  type: 'BPE', dropout: null, unk_token: unkToken, continuing_subword_prefix: null, end_of_word_suffix: null,
  fuse_unk: byteFallback, byte_fallback: byteFallback, ignore_merges: false,
  vocab: Object.fromEntries(vocab), merges,
});

function buildLlama(vocabSize: number): { tokenizer: object; config: object } {
  const vocab = new Map<string, number>();
  for (const s of LLAMA_SPECIALS) vocab.set(s, vocab.size);
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, vocab.size);
  // SentencePiece-style words: '▁' marks a space and starts every word.
  const words = ('▁' + SAMPLE_TEXT.replaceAll(' ', '▁')).split(/(?=▁)/).map((w) => Array.from(w));
  const chars = charsByFrequency(words);
  const pieces: string[] = [];
  for (const c of chars) {
    if (vocab.size >= vocabSize) break;
    vocab.set(c, vocab.size);
    pieces.push(c);
  }
  const merges = learnMerges(words, vocab, pieces, chars.filter((c) => c !== '▁'), vocabSize);
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: LLAMA_SPECIALS.map((s, i) => addedToken(i, s)),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: bpeModel(vocab, merges, '<unk>', true),
  };
  const config = {
    add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>',
    model_max_length: 2048, tokenizer_class: 'LlamaTokenizerFast', legacy: true,
    clean_up_tokenization_spaces: false, chat_template: LLAMA_CHAT_TEMPLATE,
  };
  return { tokenizer, config };
}

function buildGpt2(vocabSize: number): { tokenizer: object; config: object } {
  const { order, charOf } = byteLevelAlphabet();
  const vocab = new Map<string, number>();
  for (const b of order) vocab.set(charOf[b], vocab.size);
  const encoder = new TextEncoder();
  const words = (SAMPLE_TEXT.match(GPT2_PATTERN) ?? []).map((w) => Array.from(encoder.encode(w), (b) => charOf[b]));
  const chars = charsByFrequency(words);
  const pieces = [...chars];
  const merges = learnMerges(words, vocab, pieces, chars.filter((c) => c !== charOf[0x20]), vocabSize - 1);
  vocab.set(GPT2_EOT, vocab.size);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [addedToken(vocabSize - 1, GPT2_EOT)],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: bpeModel(vocab, merges, null, false),
  };
  const config = {
    add_bos_token: false, add_eos_token: false, bos_token: GPT2_EOT, eos_token: GPT2_EOT, unk_token: GPT2_EOT,
    model_max_length: 1024, tokenizer_class: 'GPT2Tokenizer',
    clean_up_tokenization_spaces: false, chat_template: GPT2_CHAT_TEMPLATE,
  };
  return { tokenizer, config };
}

/**
 * Writes tokenizer.json and tokenizer_config.json into `dir` (which must exist), with exactly `vocabSize` ids.
 * llama: <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF>=3..258, then sample characters and merges; BOS is added.
 * gpt2: 256 byte-level symbols, merges, and <|endoftext|> = vocabSize - 1 (BOS = EOS); nothing is added.
 * Same arguments, same bytes.
 */
export function writeTestTokenizer(dir: string, opts: { style: TestTokenizerStyle; vocabSize: number }): void {
  const { style, vocabSize } = opts;
  if (style !== 'llama' && style !== 'gpt2') throw errors.invalidParam(`unknown tokenizer style '${String(style)}'`, 'style');
  const minVocab = style === 'llama' ? LLAMA_MIN_VOCAB : GPT2_MIN_VOCAB;
  if (!Number.isInteger(vocabSize) || vocabSize < minVocab) {
    throw errors.invalidParam(`a ${style} test tokenizer needs an integer vocabSize >= ${minVocab}, got ${vocabSize}`, 'vocabSize');
  }
  const { tokenizer, config } = style === 'llama' ? buildLlama(vocabSize) : buildGpt2(vocabSize);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
}
