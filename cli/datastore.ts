// `sprig datastore build|info`: tokenize a corpus with a model's tokenizer into a suffix-array datastore for the
// retrieval drafter, and show what a datastore file holds.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createDatastore } from '../drafters/datastore.ts';
import { readCorpusFile, tokenizerFingerprint, type TextSplit } from '../drafters/datastore-corpus.ts';
import { loadDatastore, saveDatastore } from '../drafters/datastore-file.ts';
import { openModelSource } from '../model/source.ts';
import { resolveModelSource } from '../model/hub.ts';

export interface BuildDatastoreOptions {
  /** Checkpoint folder or hf:OWNER/REPO[@REVISION] ('default' or undefined = the embedded default model). */
  model?: string;
  out: string;
  inputs: string[];
  split?: TextSplit;
  /** JSONL fields; empty or undefined = AUTO_FIELDS. */
  fields?: string[];
  /** Add BOS/EOS as the tokenizer does for a prompt (default false: plain text). */
  addSpecialTokens?: boolean;
}

export interface BuildDatastoreSummary {
  file: string;
  numDocs: number;
  numTokens: number;
  fileBytes: number;
  tokenizeMs: number;
  indexMs: number;
}

/**
 * Tokenizes every input and writes the datastore.
 *
 * Example: buildDatastoreFiles({ model: 'stories', out: 's.ds', inputs: ['stories.txt'], split: 'paragraph' })
 * → { file: 's.ds', numDocs: 200, numTokens: 40200, fileBytes: 321728, tokenizeMs: 310, indexMs: 12 }
 */
export async function buildDatastoreFiles(opts: BuildDatastoreOptions): Promise<BuildDatastoreSummary> {
  const src = openModelSource(await resolveModelSource(opts.model));
  const tok = await src.loadTokenizer();
  const t0 = performance.now();
  const docs: number[][] = [];
  for (const file of opts.inputs) {
    for (const text of readCorpusFile(file, { split: opts.split, fields: opts.fields?.length ? opts.fields : undefined })) {
      docs.push(tok.encode(text, { addSpecialTokens: opts.addSpecialTokens ?? false }));
    }
  }
  const t1 = performance.now();
  const ds = createDatastore(docs, { vocab: src.spec.vocabSize, tokenizer: tokenizerFingerprint(tok), name: src.name });
  const t2 = performance.now();
  const fileBytes = saveDatastore(ds, opts.out);
  return { file: opts.out, numDocs: ds.numDocs, numTokens: ds.tokens.length, fileBytes, tokenizeMs: t1 - t0, indexMs: t2 - t1 };
}

const SPLITS: readonly TextSplit[] = ['file', 'paragraph', 'line'];

interface BuildFlags {
  model?: string;
  out: string;
  split: TextSplit;
  field: string[];
  addSpecialTokens?: boolean;
}

export function registerDatastore(program: Command): void {
  const cmd = program.command('datastore').description('build or inspect a token datastore for the retrieval drafter');
  cmd
    .command('build')
    .description('tokenize text/JSONL files with a model\'s tokenizer and index them with a suffix array')
    .argument('<inputs...>', '.txt (or other text) and .jsonl files')
    .option('--model <path>', 'Hugging Face checkpoint folder whose tokenizer to use, or hf:OWNER/REPO[@REVISION] to fetch one from the Hub (default: the embedded default model)')
    .requiredOption('--out <file>', 'datastore file to write')
    .option('--split <mode>', `plain-text documents: ${SPLITS.join(' | ')}`, (v: string) => {
      if (!SPLITS.includes(v as TextSplit)) throw new InvalidArgumentError(`--split must be one of ${SPLITS.join(', ')}, got ${JSON.stringify(v)}`);
      return v as TextSplit;
    }, 'file')
    .option('--field <name>', 'JSONL field to read (repeatable; default: text, else prompt/completion/…/turns)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--add-special-tokens', 'add BOS/EOS to each document as the tokenizer does for prompts')
    .action(async (inputs: string[], f: BuildFlags) => {
      const s = await buildDatastoreFiles({ model: f.model, out: f.out, inputs, split: f.split, fields: f.field, addSpecialTokens: f.addSpecialTokens });
      process.stdout.write(`wrote ${s.file}: ${s.numDocs} documents, ${s.numTokens} tokens, ${s.fileBytes} bytes (tokenize ${s.tokenizeMs.toFixed(0)} ms, suffix array ${s.indexMs.toFixed(0)} ms)\n`);
    });
  cmd
    .command('info')
    .description('show a datastore\'s header and size')
    .argument('<file>', 'datastore file')
    .option('--json', 'print JSON')
    .action((file: string, f: { json?: boolean }) => {
      const ds = loadDatastore(file);
      const info = { file, name: ds.name, vocab: ds.vocab, tokenizer: ds.tokenizer, documents: ds.numDocs, tokens: ds.tokens.length, bytes: ds.fileBytes };
      if (f.json) process.stdout.write(`${JSON.stringify(info)}\n`);
      else for (const [k, v] of Object.entries(info)) process.stdout.write(`${k.padEnd(10)} ${v}\n`);
    });
}
