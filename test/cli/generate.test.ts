// `sprig generate --prompts`: batch mode through one engine. Each prompt's greedy text equals a separate --prompt
// run's; a prompt too long for the context is skipped with a warning; the suffix cache and recycling matrix it
// saves hold what the batch generated, and a second batch that reloads them drafts from them.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { AdjacencyMatrix } from '../../drafters/recycling.ts';
import { SuffixCache } from '../../drafters/suffix-cache.ts';
import { encodeTurn } from '../../bench/run-inprocess.ts';
import { generate } from '../../engine/generate.ts';
import { loadEngine } from '../../engine/load.ts';
import { testModel } from '../helpers/models.ts'; // also isolates SPRIG_CACHE_DIR

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/sprig.js');
const sprig = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: process.env });

const VOCAB = 300;
const MODEL = testModel('generate-batch-llama', { arch: 'llama', seed: 3, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: VOCAB, contextLength: 256 });
const PROMPTS: Record<string, string> = {
  a: 'hello there',
  long: 'x y z '.repeat(100),
  'T/1': 'def f(x):\n    return x',
  c: 'a b c d e f g a b c d e f g',
};

interface Line {
  id: string;
  turn: number;
  prompt_token_count: number;
  text: string;
  tokens: number[];
  finish_reason: string;
  speculation: { drafters: string[]; steps: number; per_drafter: Record<string, { drafted: number; accepted: number }> };
}

function promptFile(dir: string): string {
  const file = path.join(dir, 'p.jsonl');
  fs.writeFileSync(file, [
    JSON.stringify({ id: 'a', prompt: PROMPTS.a }),
    JSON.stringify({ id: 'long', prompt: PROMPTS.long }),
    JSON.stringify({ task_id: 'T/1', prompt: PROMPTS['T/1'] }),
    JSON.stringify({ id: 'c', prompt: PROMPTS.c }),
  ].join('\n'));
  return file;
}

const lines = (stdout: string): Line[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);

t.test('--prompts: per prompt the text of a separate --prompt run; a too-long prompt is skipped with a warning', async (t) => {
  const file = promptFile(t.testdir());
  const r = await sprig('generate', '--model', MODEL, '--prompts', file, '--max-tokens', '16', '--drafters', 'none');
  const out = lines(r.stdout);
  t.same(out.map((l) => [l.id, l.turn]), [['a', 0], ['T/1', 0], ['c', 0]], 'one line per prompt that fits, in file order');
  t.match(r.stderr, /warning: skipping long: \d+ prompt tokens and --max-tokens 16 per turn do not fit the context window of 256 tokens/);
  t.match(r.stderr, /done: 3 of 4 prompt\(s\), 3 generation\(s\), \d+ tokens .* 1 skipped \(long\)/);
  for (const l of out) {
    const single = JSON.parse((await sprig('generate', '--model', MODEL, '--prompt', PROMPTS[l.id], '--max-tokens', '16', '--json', '--drafters', 'none')).stdout.trim().split('\n').pop()!);
    t.equal(l.text, single.text, `${l.id}: same text as --prompt`);
    t.same(l.tokens, single.tokens, `${l.id}: same tokens`);
    t.equal(l.prompt_token_count, single.prompt_tokens.length);
    t.equal(l.finish_reason, single.finish_reason);
    t.same(l.speculation.drafters, ['none']);
  }
});

t.test('--prompts saves drafter state that holds the batch\'s outputs, and a reloading batch drafts from it', async (t) => {
  const dir = t.testdir();
  const file = promptFile(dir);
  const cacheFile = path.join(dir, 'suffix.json');
  const matrixFile = path.join(dir, 'recycling.bin');
  const batch = async () => lines((await sprig('generate', '--model', MODEL, '--prompts', file, '--max-tokens', '16', '--tree-budget', '8', '--drafters', 'suffix,recycling,lookup', '--suffix-cache', cacheFile, '--recycling-state', matrixFile)).stdout);
  const plain = lines((await sprig('generate', '--model', MODEL, '--prompts', file, '--max-tokens', '16', '--drafters', 'none')).stdout);
  const cold = await batch();
  t.same(cold.map((l) => l.tokens), plain.map((l) => l.tokens), 'speculative batch output equals plain decoding');
  t.same(cold[0].speculation.drafters, ['suffix', 'recycling', 'lookup'], 'the drafters asked for');

  const cache = new SuffixCache(VOCAB);
  cache.load(cacheFile);
  t.equal(cache.numRequests, cold.length, 'one cache entry per generated output');
  cache.outputs().forEach((entry, i) => {
    // The cache keeps the output as generated, with the stop token when the output ended on one.
    t.same(Array.from(entry.subarray(0, cold[i].tokens.length)), cold[i].tokens, `${cold[i].id}: the entry is its output`);
    t.ok(entry.length - cold[i].tokens.length <= 1, 'at most the stop token more');
  });
  const matrix = new AdjacencyMatrix(VOCAB);
  matrix.load(matrixFile);
  t.ok(matrix.rows.some((x) => x >= 0), 'the recycling matrix learned rows');

  const warm = await batch();
  t.same(warm.map((l) => l.tokens), plain.map((l) => l.tokens), 'still lossless from warm state');
  const suffixAccepted = (ls: Line[]) => ls.reduce((a, l) => a + l.speculation.per_drafter.suffix.accepted, 0);
  t.ok(suffixAccepted(warm) > suffixAccepted(cold), `the reloaded cache drafts this batch's outputs (${suffixAccepted(warm)} accepted vs ${suffixAccepted(cold)} cold)`);
  const steps = (ls: Line[]) => ls.reduce((a, l) => a + l.speculation.steps, 0);
  t.ok(steps(warm) < steps(cold), `fewer target forwards from warm state (${steps(warm)} vs ${steps(cold)})`);
  cache.load(cacheFile);
  t.equal(cache.numRequests, 2 * cold.length, 'the second batch added its outputs to the loaded ones');
});

t.test('--prompts runs every turn of an item in order, each after the model\'s answer to the one before', async (t) => {
  const file = path.join(t.testdir(), 'turns.jsonl');
  const item = { id: 'q1', suite: 'turns', category: 'turns', format: 'chat' as const, turns: ['Write a story.', 'Again.'] };
  fs.writeFileSync(file, `${JSON.stringify({ question_id: 'q1', turns: item.turns })}\n`);
  const out = lines((await sprig('generate', '--model', MODEL, '--prompts', file, '--max-tokens', '12', '--drafters', 'none')).stdout);
  t.same(out.map((l) => [l.id, l.turn]), [['q1', 0], ['q1', 1]]);
  // Each turn's prompt is the conversation so far through the model's chat template, as sprig bench builds it.
  const engine = await loadEngine({ model: MODEL, threads: 1 });
  t.teardown(() => engine.dispose());
  for (const [turn, answers] of [[0, []], [1, [out[0].text]]] as const) {
    const promptTokens = encodeTurn(engine.tokenizer, item, answers, turn);
    const r = await generate(engine.runner, { promptTokens, maxTokens: 12, sampling: { temperature: 0, topK: 0, topP: 1 }, eosIds: engine.tokenizer.eosIds.length ? engine.tokenizer.eosIds : undefined, drafters: ['none'] });
    t.same(out[turn].tokens, r.tokens, `turn ${turn}: the output of the conversation up to it`);
    t.equal(out[turn].prompt_token_count, promptTokens.length);
  }
  t.ok(out[1].prompt_token_count > out[0].prompt_token_count + out[0].tokens.length, 'turn 1 follows turn 0 and its answer');
});

t.test('--prompts: Ctrl-C stops after the current generation and saves what was learned', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'many.jsonl');
  const n = 3000;
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `item ${i} says hello` })).join('\n'));
  const cacheFile = path.join(dir, 'suffix.json');
  const matrixFile = path.join(dir, 'recycling.bin');
  const child = spawn(process.execPath, [BIN, 'generate', '--model', MODEL, '--prompts', file, '--max-tokens', '16', '--suffix-cache', cacheFile, '--recycling-state', matrixFile, '--suffix-cache-requests', String(n)], { env: process.env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let signalled = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!signalled && stdout.includes('\n')) {
      signalled = true;
      child.kill('SIGINT'); // once the first generation is out
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 130, 'exit code 130');
  t.match(stderr, /SIGINT: stopping after the current generation, then saving the drafter state/);
  const out = lines(stdout);
  t.ok(out.length >= 1 && out.length < n, `stopped early (${out.length} of ${n})`);
  t.match(stderr, new RegExp(`interrupted: ${out.length} of ${n} prompt\\(s\\)`));
  const cache = new SuffixCache(VOCAB, n);
  cache.load(cacheFile);
  t.equal(cache.numRequests, out.length, 'the suffix cache holds every output printed, and nothing more');
  t.ok(fs.statSync(matrixFile).size > 0, 'the recycling matrix was saved');
});

t.test('--prompt and --prompts: exactly one of them', async (t) => {
  const file = promptFile(t.testdir());
  await t.rejects(sprig('generate', '--model', MODEL, '--prompt', 'x', '--prompts', file), { code: 1, stderr: /--prompt and --prompts cannot be given together/ });
  await t.rejects(sprig('generate', '--model', MODEL), { code: 1, stderr: /sprig generate needs --prompt TEXT \(one completion\) or --prompts FILES \(a batch\)/ });
  await t.rejects(sprig('generate', '--model', MODEL, '--prompts', path.join(t.testdir(), 'missing.jsonl')), { code: 1, stderr: /missing\.jsonl/ });
});
