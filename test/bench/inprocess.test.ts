// In-process runs on a tiny generated model: the whole `sprig bench` pipeline writes its four files, the
// forward probe reproduces the engine's own per-step stats, and a deliberately corrupted output is caught.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { EXIT_LOSSLESS_FAILURE, runBench, type BenchOptions } from '../../bench/bench.ts';
import { acceptanceByDepth, meanAcceptedLength } from '../../bench/metrics.ts';
import { AdjacencyMatrix } from '../../drafters/recycling.ts';
import { generate } from '../../engine/generate.ts';
import { testModel } from '../helpers/models.ts';

const MODEL = testModel('bench-llama', { arch: 'llama', seed: 5, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, contextLength: 512 });

function sink() {
  let text = '';
  return { write: (s: string) => ((text += s), true), isTTY: false, get text() { return text; } };
}

function options(dir: string, extra: Partial<BenchOptions> = {}): BenchOptions {
  const prompts = path.join(dir, 'p.jsonl');
  fs.writeFileSync(prompts, [
    JSON.stringify({ id: 'rep-1', category: 'copy', format: 'text', turns: ['a b c d e f g a b c d e f g a b c'] }),
    JSON.stringify({ task_id: 'T/0', prompt: 'def f(x):\n    return x' }),
    JSON.stringify({ question_id: 7, category: 'writing', turns: ['Write.', 'Again.'] }),
  ].join('\n'));
  return {
    model: MODEL, endpoint: 'completions', drafters: ['lookup', 'recycling+lookup'], treeBudgets: [8], temperatures: [0], concurrency: [1],
    suite: 'auto', prompts: [prompts], maxTokens: 24, repeats: 2, warmup: 1, seed: 0, threads: 1, out: path.join(dir, 'out'),
    runId: 'test', command: 'sprig bench (test)', ...extra,
  };
}

t.test('an in-process run writes results.jsonl, samples.jsonl, summary.md and report.html', async (t) => {
  const dir = t.testdir();
  const stdout = sink();
  const stderr = sink();
  const o = await runBench(options(dir), { stdout, stderr });
  t.equal(o.exitCode, 0);
  t.same(fs.readdirSync(o.outDir).sort(), ['report.html', 'results.jsonl', 'samples.jsonl', 'summary.md']);
  t.equal(stdout.text, o.markdown, 'the markdown summary goes to stdout');
  t.notMatch(stderr.text, /\[#/, 'no progress bar when stderr is not a TTY');
  t.match(stderr.text, /results in/);
  t.same(o.result.configs.map((c) => c.drafters), ['none', 'lookup', 'recycling+lookup'], 'the baseline is added');
  t.same([...new Set(o.result.items.map((i) => i.category))], ['copy', 'p', 'writing'], 'HumanEval-style records take the file name as category');
  // 3 configs × 2 repeats × 4 turns; warm-up excluded.
  t.equal(o.result.samples.length, 24);
  t.notOk(o.result.samples.some((s) => s.repeat < 0));
  for (const s of o.result.samples) {
    t.equal(s.numTokens, s.outputTokens!.length);
    t.equal(s.itlMs.length, Math.max(0, s.numTokens - 1));
    const spec = s.speculation!;
    t.same(acceptanceByDepth(s.steps!), spec.acceptance_by_depth, `${s.config} ${s.itemId}: probe depth acceptance = engine's`);
    t.equal(meanAcceptedLength(s.steps!), spec.steps ? spec.mean_accepted_length : null);
    if (spec.tree_sizes) t.same(s.steps!.map((x) => x.treeSize), spec.tree_sizes);
  }
  const records = fs.readFileSync(path.join(o.outDir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.equal(records.length, 3 * 4, '3 configs × (all + 3 categories)');
  const lookup = records.find((r) => r.config.drafters === 'lookup' && r.category === 'all');
  t.ok(lookup.metrics.speedup.median > 0);
  t.same(lookup.metrics.lossless, { checked: 8, mismatches: 0 });
  t.ok(lookup.metrics.peak_rss_mb > 10);
  t.ok(lookup.metrics.mean_accepted_length > 1, 'lookup accepts drafts on the repetitive prompt');
  t.match(fs.readFileSync(path.join(o.outDir, 'summary.md'), 'utf8'), /speedup/);
});

t.test('the losslessness check catches a deliberately corrupted output: stderr, markdown, HTML, exit code', async (t) => {
  const dir = t.testdir();
  const stderr = sink();
  const o = await runBench(options(dir, { drafters: ['lookup'], repeats: 1 }), {
    stdout: sink(),
    stderr,
    generate: async (runner, req, onTokens, resources) => {
      const r = await generate(runner, req, onTokens, resources);
      if (req.drafters?.includes('lookup') && r.tokens.length > 3) r.tokens[3] = (r.tokens[3] + 1) % runner.vocab;
      return r;
    },
  });
  t.equal(o.exitCode, EXIT_LOSSLESS_FAILURE);
  t.ok(o.result.mismatches.length >= 3);
  t.ok(o.result.mismatches.every((m) => m.config.startsWith('lookup|') && m.at === 3));
  t.match(stderr.text, /LOSSLESSNESS FAILURE/);
  t.match(stderr.text, /first difference at 3/);
  t.match(o.markdown, /LOSSLESSNESS FAILURE/);
  t.match(fs.readFileSync(path.join(o.outDir, 'report.html'), 'utf8'), /class="fail">LOSSLESSNESS FAILURE/);
});

t.test('bad flag combinations fail with clear messages', async (t) => {
  const dir = t.testdir();
  await t.rejects(runBench(options(dir, { concurrency: [1, 4] })), /--concurrency needs --base-url/);
  await t.rejects(runBench(options(dir, { drafters: ['nope'] })), /unknown drafter "nope"/);
  await t.rejects(runBench(options(dir, { drafters: ['draft'] })), /needs --draft/);
  await t.rejects(runBench(options(dir, { categories: ['zzz'] })), /no prompts in zzz/);
});

t.test('cross-request state: each configuration keeps its own from item to item, fresh per repeat and for the warm-up', async (t) => {
  const dir = t.testdir();
  const seen: { config: string; cache: object | undefined; matrix: object | undefined }[] = [];
  const o = await runBench(options(dir, { drafters: ['suffix', 'suffix+recycling'], repeats: 2 }), {
    stdout: sink(),
    stderr: sink(),
    generate: (runner, req, onTokens, resources) => {
      seen.push({ config: (req.drafters ?? []).join('+'), cache: resources?.suffixCache, matrix: resources?.recyclingMatrix });
      return generate(runner, req, onTokens, resources);
    },
  });
  t.equal(o.exitCode, 0);
  const warm = 3; // one warm-up per configuration, run first
  const measured = seen.slice(warm);
  const byRun = new Map<object, Set<string>>();
  for (const s of measured) {
    t.ok(s.cache && s.matrix, 'every generation gets a suffix cache and a recycling matrix');
    const configs = byRun.get(s.cache!) ?? new Set<string>();
    configs.add(s.config);
    byRun.set(s.cache!, configs);
  }
  t.ok([...byRun.values()].every((c) => c.size === 1), 'a cache never serves two configurations');
  t.equal(byRun.size, 3 * 2, 'one per configuration and repeat');
  t.notOk(seen.slice(0, warm).some((w) => byRun.has(w.cache!)), 'the warm-up does not feed the measured runs');
  const suffixRuns = measured.filter((s) => s.config === 'suffix');
  t.equal(new Set(suffixRuns.slice(0, 4).map((s) => s.cache)).size, 1, 'the same cache over every item and turn of a repeat');
  const last = suffixRuns[3].cache as { numRequests: number };
  t.ok(last.numRequests >= 3, `it learned the earlier requests of the repeat (${last.numRequests})`);
});

t.test('the extraction suite: constrained and free configs, each against its own baseline; forced share and grammar time', async (t) => {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ strict: false });
  const dir = t.testdir();
  const o = await runBench({ ...options(dir), prompts: undefined, suite: 'extraction', limit: 2, drafters: ['recycling+lookup'], maxTokens: 64, repeats: 1, warmup: 0 }, { stdout: sink(), stderr: sink() });
  t.equal(o.exitCode, 0, 'lossless: constrained greedy output equals the constrained baseline');
  t.same(o.result.configs.map((c) => [c.drafters, c.constrained === true]), [['none', true], ['recycling+lookup', true], ['none', false], ['recycling+lookup', false]]);
  const items = new Map(o.result.items.map((i) => [i.id, i]));
  for (const s of o.result.samples.filter((x) => x.config.endsWith('|json'))) {
    t.ok(s.speculation?.constraint, 'constrained');
    if (s.finishReason === 'stop') t.ok(ajv.validate(items.get(s.itemId)!.schema!, JSON.parse(s.output)), `${s.itemId}: ${s.output}`);
    else t.ok(s.output.startsWith('{'), 'cut by max tokens, still JSON so far');
  }
  t.notOk(o.result.samples.some((s) => !s.config.endsWith('|json') && s.speculation?.constraint), 'free configs are not constrained');
  const all = o.result.summaries.filter((s) => s.category === 'all');
  for (const s of all) {
    if (s.config.constrained) t.ok(s.forced_share !== null && s.forced_share >= 0 && s.grammar_share !== null && s.grammar_share > 0, s.label);
    else t.same([s.forced_share, s.grammar_share], [null, null], s.label);
  }
  t.match(o.markdown, /forced tokens %/);
  t.match(o.markdown, /recycling\+lookup @8 json: speedup constrained .* vs free/);
  await t.rejects(runBench({ ...options(dir), constrain: [true] }, { stdout: sink(), stderr: sink() }), /--constrain on: 3 prompt\(s\) have no "schema"/);
});

t.test('--recycling-state: every configuration, repeat and warm-up starts from the saved matrix; the file is only read', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'recycling.bin');
  // A matrix with token rows and, for some (prev, token) pairs, pair rows that differ from the token's own row.
  const saved = new AdjacencyMatrix(300);
  const logits = new Float32Array(300);
  const fill = (seed: number) => logits.forEach((_, j) => (logits[j] = Math.sin(seed * 31.7 + j * 17.3)));
  const pairs: [number, number][] = [];
  for (let tok = 3; tok < 300; tok += 7) {
    const prev = (tok * 13) % 300;
    fill(tok);
    saved.updateFromLogits(tok, logits, 0, prev);
    fill(tok + 1000);
    saved.updateFromLogits(tok, logits, 0); // the token row moves on; the pair row keeps the first
    pairs.push([prev, tok]);
  }
  t.ok(pairs.some(([p, tok]) => saved.candidateAfter(p, tok, 0) !== saved.candidate(tok, 0)), 'pair rows differ from token rows');
  saved.save(file);
  const bytes = fs.readFileSync(file);
  const startsFrom = async (extra: Partial<BenchOptions>) => {
    const first = new Map<AdjacencyMatrix, { rows: Int32Array; pairRows: number[][] }>();
    const o = await runBench(options(dir, { drafters: ['recycling', 'recycling+lookup'], repeats: 2, ...extra }), {
      stdout: sink(),
      stderr: sink(),
      generate: (runner, req, onTokens, resources) => {
        const m = resources?.recyclingMatrix;
        if (m && !first.has(m)) first.set(m, { rows: m.rows.slice(), pairRows: pairs.map(([p, tok]) => [0, 1, 2].map((r) => m.candidateAfter(p, tok, r))) });
        return generate(runner, req, onTokens, resources);
      },
    });
    t.equal(o.exitCode, 0);
    return [...first.values()];
  };
  const fresh = await startsFrom({ recyclingState: file });
  t.equal(fresh.length, 3 * (2 + 1), 'one matrix per configuration and repeat, and one per warm-up');
  const savedPairRows = pairs.map(([p, tok]) => [0, 1, 2].map((r) => saved.candidateAfter(p, tok, r)));
  for (const s of fresh) {
    t.same(s.rows, saved.rows, 'token rows as saved');
    t.same(s.pairRows, savedPairRows, 'pair rows as saved');
  }
  t.same(fs.readFileSync(file), bytes, 'the file is never written');
  const cold = await startsFrom({});
  t.ok(cold.every((s) => s.rows.every((x) => x === -1)), 'without --recycling-state every run starts from an empty matrix');

  await t.rejects(runBench(options(dir, { recyclingState: path.join(dir, 'missing.bin') })), /--recycling-state .*missing\.bin: no such file/);
  await t.rejects(runBench(options(dir, { baseUrl: 'http://127.0.0.1:9', recyclingState: file })), /--recycling-state and --layerskip-layers are in-process options/);
  await t.rejects(runBench(options(dir, { baseUrl: 'http://127.0.0.1:9', suffixCache: file })), /--suffix-cache\[-requests\].* are in-process options/);
});
