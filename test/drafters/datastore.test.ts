// The retrieval datastore: document separators, the file format (round trip through `sprig datastore build`,
// loud failures on bad magic/version/size and on vocabulary or tokenizer mismatch) and corpus reading.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { buildDatastoreFiles } from '../../cli/datastore.ts';
import { main } from '../../cli/main.ts';
import { continuationAt, createDatastore, findInDatastore, occurrences, SEPARATOR } from '../../drafters/datastore.ts';
import { readCorpusFile, splitText, tokenizerFingerprint } from '../../drafters/datastore-corpus.ts';
import { DATASTORE_MAGIC, loadDatastore, saveDatastore } from '../../drafters/datastore-file.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';
import { SHARED, testModel } from '../helpers/models.ts';

const MODEL = { arch: 'llama' as const, seed: 31, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sprig-ds-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('documents are separated: matches never cross a boundary', async (t) => {
  const ds = createDatastore([[5, 6, 7], [], [6, 7, 8]], { vocab: 10 });
  t.same(Array.from(ds.tokens), [5, 6, 7, SEPARATOR, 6, 7, 8, SEPARATOR], 'empty documents are skipped');
  t.equal(ds.numDocs, 2);
  t.same(occurrences(ds, [6, 7]), [1, 4]);
  t.same(occurrences(ds, [7, 6]), [], 'the end of one document and the start of the next do not join');
  t.same(occurrences(ds, [7, 8]), [5]);
  t.same(Array.from(continuationAt(ds, 2, 5)), [7], 'a continuation stops at the separator');
  t.same(Array.from(continuationAt(ds, 4, 2)), [6, 7]);
  const none = findInDatastore(ds, [9]);
  t.equal(none.hi - none.lo, 0, 'an absent token has an empty block');
  t.throws(() => createDatastore([[1, 10]], { vocab: 10 }), { code: 'SPRIG_ERR_INVALID_PARAM', message: /token 1 is 10, outside the vocabulary \[0, 10\)/ });
});

t.test('save → load round trip keeps every field', async (t) => {
  const ds = createDatastore([[1, 2, 3, 1, 2], [2, 3, 4]], { vocab: 7, tokenizer: 'ab'.repeat(32), name: 'tiny-model' });
  const file = path.join(tmp, 'tiny.ds');
  const bytes = saveDatastore(ds, file);
  t.equal(bytes, 128 + 8 * ds.tokens.length);
  t.equal(fs.statSync(file).size, bytes);
  const back = loadDatastore(file, 7, 'ab'.repeat(32));
  t.same(Array.from(back.tokens), Array.from(ds.tokens));
  t.same(Array.from(back.suffixArray), Array.from(ds.suffixArray));
  t.match(back, { vocab: 7, numDocs: 2, name: 'tiny-model', tokenizer: 'ab'.repeat(32), fileBytes: bytes });
  t.same(occurrences(back, [2, 3]), [1, 6]);
});

t.test('bad files and mismatches fail loudly, with the numbers', async (t) => {
  const ds = createDatastore([[1, 2, 3]], { vocab: 300, tokenizer: 'cd'.repeat(32), name: 'model-a' });
  const good = path.join(tmp, 'good.ds');
  saveDatastore(ds, good);
  t.throws(() => loadDatastore(good, 512), { code: 'SPRIG_ERR_VOCAB_MISMATCH', message: /vocabulary size 300, but the model has 512/ });
  t.throws(() => loadDatastore(good, 300, 'ef'.repeat(32)), { code: 'SPRIG_ERR_VOCAB_MISMATCH', message: /tokenizer cdcdcdcdcdcd.*efefefefefef/ });

  const corrupt = (name: string, edit: (b: Buffer) => Buffer) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, edit(Buffer.from(fs.readFileSync(good))));
    return file;
  };
  t.throws(() => loadDatastore(corrupt('magic.ds', (b) => (b.write('NOTADSXX', 0, 'ascii'), b))), { code: 'SPRIG_ERR_INVALID_PARAM', message: /magic "NOTADSXX", expected "SPRIG-DS"/ });
  t.throws(() => loadDatastore(corrupt('version.ds', (b) => (b.writeUInt32LE(7, 8), b))), { message: /format version 7, this Sprig reads version 1/ });
  t.throws(() => loadDatastore(corrupt('short.ds', (b) => b.subarray(0, b.length - 4))), { message: /156 bytes, but the header's 4 tokens need 160/ });
  t.throws(() => loadDatastore(corrupt('header.ds', (b) => b.subarray(0, 20))), { message: /20 bytes, shorter than the 128-byte header/ });
  t.throws(() => loadDatastore(corrupt('token.ds', (b) => (b.writeInt32LE(999, 128), b))), { message: /token 0 is 999, outside the vocabulary \[0, 300\)/ });
  t.throws(() => loadDatastore(path.join(tmp, 'missing.ds')), { code: 'SPRIG_ERR_INVALID_PARAM', message: /cannot read datastore/ });
  t.equal(DATASTORE_MAGIC.length, 8);
});

t.test('corpus files: text splits and JSONL fields', async (t) => {
  t.same(splitText('a b\n\nc\n  \nd\ne', 'paragraph'), ['a b', 'c', 'd\ne']);
  t.same(splitText('a\n\nb\n', 'line'), ['a', 'b']);
  t.same(splitText('whole\n\nfile', 'file'), ['whole\n\nfile']);
  const jsonl = path.join(tmp, 'c.jsonl');
  fs.writeFileSync(jsonl, [
    JSON.stringify({ prompt: 'def f():\n', canonical_solution: '    return 1\n', turns: ['Hi', 'Bye'] }),
    '',
    JSON.stringify({ text: 'plain text', prompt: 'ignored' }),
    JSON.stringify({ messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hey' }] }),
  ].join('\n'));
  t.same(readCorpusFile(jsonl), ['def f():\n    return 1\n', 'Hi', 'Bye', 'plain text', 'hello', 'hey'], 'the docstring example and friends');
  t.same(readCorpusFile(jsonl, { fields: ['turns'] }), ['Hi', 'Bye'], 'named fields only');
  fs.writeFileSync(path.join(tmp, 'bad.jsonl'), '{"text": "ok"}\n{oops\n');
  t.throws(() => readCorpusFile(path.join(tmp, 'bad.jsonl')), { code: 'SPRIG_ERR_INVALID_PARAM', message: /bad\.jsonl:2 is not valid JSON/ });
  for (const [file, min] of [['humaneval.jsonl', 164], ['spec-bench-questions.jsonl', 480]] as const) {
    const p = path.join(SHARED, 'benchmarks', file);
    if (fs.existsSync(p)) t.ok(readCorpusFile(p).length >= min, `${file}: ${readCorpusFile(p).length} documents`);
  }
});

t.test('sprig datastore build → load with the model, round trip through the CLI', async (t) => {
  const model = testModel('datastore-llama', MODEL);
  const txt = path.join(tmp, 'stories.txt');
  fs.writeFileSync(txt, 'Once upon a time there was a cat.\n\nThe cat sat on a mat.\n\nOnce upon a time there was a dog.\n');
  const out = path.join(tmp, 'stories.ds');
  const s = await buildDatastoreFiles({ model, out, inputs: [txt], split: 'paragraph' });
  t.equal(s.numDocs, 3);
  t.equal(s.fileBytes, fs.statSync(out).size);

  const tok = await loadTokenizer(model);
  const ds = loadDatastore(out, MODEL.vocab, tokenizerFingerprint(tok));
  t.equal(ds.numDocs, 3);
  t.equal(ds.tokens.length, s.numTokens);
  const pattern = tok.encode('Once upon a time there was a', { addSpecialTokens: false });
  t.equal(occurrences(ds, pattern).length, 2, 'the shared opening occurs in two documents');
  const cat = tok.encode('Once upon a time there was a cat.', { addSpecialTokens: false });
  t.equal(occurrences(ds, cat).length, 1);
  t.throws(() => loadDatastore(out, MODEL.vocab + 1), { code: 'SPRIG_ERR_VOCAB_MISMATCH', message: new RegExp(`datastore-llama, vocabulary 300.*vocabulary size 300, but the model has 301`) });

  // The registered command writes the same file.
  const viaCli = path.join(tmp, 'cli.ds');
  const write = process.stdout.write;
  const lines: string[] = [];
  process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    await main(['datastore', 'build', '--model', model, '--out', viaCli, '--split', 'paragraph', txt]);
    await main(['datastore', 'info', '--json', viaCli]);
  } finally {
    process.stdout.write = write;
  }
  t.match(lines[0], /wrote .*cli\.ds: 3 documents, \d+ tokens, \d+ bytes/);
  t.match(JSON.parse(lines[1]), { documents: 3, vocab: 300, name: 'datastore-llama', tokens: s.numTokens });
  t.same(fs.readFileSync(viaCli), fs.readFileSync(out), 'byte-identical to the function\'s output');
  t.notOk(process.exitCode, 'no CLI error');
});

t.test('timing: building a 1M-token datastore (printed, not asserted)', async (t) => {
  const docs: Int32Array[] = [];
  let seed = 7;
  for (let d = 0; d < 2000; d++) {
    const doc = new Int32Array(499);
    for (let i = 0; i < doc.length; i++) doc[i] = (seed = (seed * 1103515245 + 12345) >>> 0) % 32000;
    if (d > 0 && d % 3 === 0) doc.set(docs[d - 1].subarray(0, 200)); // shared openings, like near-duplicate documents
    docs.push(doc);
  }
  const t0 = performance.now();
  const ds = createDatastore(docs, { vocab: 32000 });
  const t1 = performance.now();
  const file = path.join(tmp, 'big.ds');
  saveDatastore(ds, file);
  const t2 = performance.now();
  const back = loadDatastore(file, 32000);
  const t3 = performance.now();
  t.comment(`${ds.tokens.length} tokens: build ${(t1 - t0).toFixed(0)} ms, save ${(t2 - t1).toFixed(0)} ms, load ${(t3 - t2).toFixed(0)} ms, ${back.fileBytes} bytes`);
  t.equal(back.tokens.length, 1_000_000);
});
