// The writers: results.jsonl records (machine, model, commit, config, metrics), samples.jsonl, the markdown
// summary (with "speedup" in its header) and the self-contained HTML report with its charts.
import t from 'tap';
import { buildConfigs, configKey, labelConfigs } from '../../bench/configs.ts';
import { checkLossless, countNearTies, realMismatches, scoreNearTies } from '../../bench/lossless.ts';
import { summarize } from '../../bench/metrics.ts';
import { resultRecords, sampleRecord, toJsonl } from '../../bench/report-jsonl.ts';
import { renderHtml } from '../../bench/report-html.ts';
import { renderMarkdown } from '../../bench/report-markdown.ts';
import { Progress } from '../../bench/progress.ts';
import { barChart, lineChart, niceTicks } from '../../bench/svg.ts';
import type { BenchResult, Sample } from '../../bench/types.ts';

function fixture(corrupt = false): BenchResult {
  const configs = buildConfigs({ drafters: ['none', 'lookup', 'recycling+lookup'], treeBudgets: ['auto'], temperatures: [0], concurrency: null });
  const labels = labelConfigs(configs);
  const items = [
    { id: 'code-1', suite: 'general', category: 'code', format: 'text' as const, turns: ['def f():'] },
    { id: 'chat-1', suite: 'general', category: 'chat', format: 'chat' as const, turns: ['Hi', 'More'] },
  ];
  const samples: Sample[] = [];
  let start = 0;
  for (let repeat = 0; repeat < 2; repeat++) {
    configs.forEach((c, ci) => {
      for (const item of items) {
        item.turns.forEach((_, turn) => {
          const tokens = [5, 6, 7, 8, 9, 10];
          if (corrupt && c.drafters === 'lookup' && item.id === 'chat-1' && turn === 1 && repeat === 1) tokens[3] = 99;
          const steps = ci === 0 ? tokens.map(() => ({ treeSize: 0, maxDepth: 0, accepted: 0 })) : [{ treeSize: 6, maxDepth: 3, accepted: 2 }, { treeSize: 4, maxDepth: 2, accepted: 1 }, { treeSize: 2, maxDepth: 1, accepted: 0 }];
          samples.push({
            config: configKey(c), itemId: item.id, category: item.category, turn, repeat, startMs: (start += 10),
            numTokens: tokens.length, wallMs: 10 / (1 + ci * 0.5), prefillMs: 1, decodeMs: 9 / (1 + ci * 0.5), ttftMs: 2 + ci, itlMs: [1, 0, 0, 2, 1],
            finishReason: 'length', output: tokens.join(' '), outputTokens: tokens, steps, peakRssBytes: 100 * 2 ** 20,
            speculation: { drafters: c.drafters.split('+'), steps: steps.length, drafted: 12, accepted: 3, mean_accepted_length: 2, acceptance_by_depth: [1, 0.5], accepted_by_depth: [2, 1], per_drafter: {}, draft_ms: 1, verify_ms: 5, other_ms: 1, mean_tree_size: 4, tree_budget: 'auto', mean_expected_accepted_length: 2.2, tree_sizes: steps.map((s) => s.treeSize) },
          });
        });
      }
    });
  }
  const lossless = checkLossless(samples, configs);
  return {
    info: {
      run_id: 'test-run', started_at: '2026-01-01T00:00:00.000Z', mode: 'inprocess', command: 'sprig bench --repeats 2',
      machine: { cpu: 'Test CPU', cores: 2, memory_gb: 4, node: 'v20.0.0', platform: 'linux-x64' },
      model: { name: 'tiny', path: '/models/tiny', base_url: null }, commit: 'abc123', max_tokens: 6, repeats: 2, warmup: 1,
    },
    configs, items, samples, summaries: summarize(samples, configs, labels, lossless), mismatches: lossless.mismatches, warnings: ['a note'],
  };
}

t.test('results.jsonl: one summary record per config × category, each with machine, model, commit, config, metrics', async (t) => {
  const r = fixture();
  const lines = toJsonl(resultRecords(r)).trimEnd().split('\n');
  t.equal(lines.length, 3 * 3, '3 configs × (all, code, chat)');
  for (const line of lines) {
    const rec = JSON.parse(line);
    t.equal(rec.record, 'summary');
    t.equal(rec.run_id, 'test-run');
    t.equal(rec.machine.cpu, 'Test CPU');
    t.equal(rec.model.name, 'tiny');
    t.equal(rec.commit, 'abc123');
    t.hasStrict(rec.config, { tree_budget: rec.config.drafters === 'none' ? null : 'auto', temperature: 0, max_tokens: 6, repeats: 2 });
    t.ok(rec.metrics.tokens_per_s.median > 0);
    t.ok('speedup' in rec.metrics);
    t.ok(Array.isArray(rec.metrics.acceptance_by_depth));
  }
  const lookupAll = lines.map((l) => JSON.parse(l)).find((x) => x.config.drafters === 'lookup' && x.category === 'all');
  t.equal(lookupAll.metrics.speedup.median, 1.5);
  t.same(lookupAll.metrics.lossless, { checked: 6, mismatches: 0 });
  const sampleLine = JSON.parse(toJsonl([sampleRecord('test-run', r.samples[0])]));
  t.hasStrict(sampleLine, { run_id: 'test-run', item: 'code-1', tokens: 6, finish_reason: 'length' });
  t.same(toJsonl([]), '');
});

t.test('markdown: the summary table header says speedup, and the category table and winners follow', async (t) => {
  const md = renderMarkdown(fixture());
  const header = md.split('\n').find((l) => l.startsWith('| config'))!;
  t.match(header, /speedup/);
  t.match(header, /tokens\/s/);
  t.match(md, /\| speedup by category \| code \| chat \| all \|/);
  t.match(md, /\| lookup \| .* \| 1\.50×/);
  t.match(md, /`sprig bench --repeats 2`/, 'the command sits next to the table');
  t.match(md, /Lossless: all 15 greedy outputs equal the baseline's/);
  t.match(md, /Best per category: code → recycling\+lookup/);
  t.notMatch(md, /LOSSLESSNESS FAILURE/);
});

t.test('HTML: self-contained, with the summary and all five charts', async (t) => {
  const html = renderHtml(fixture());
  t.match(html, /^<!doctype html>/);
  t.match(html, /<th>speedup<\/th>/);
  const svgs = html.match(/<svg /g) ?? [];
  t.equal(svgs.length, 5);
  for (const title of ['Speedup vs baseline by drafter × category', 'Inter-token latency CDF', 'Time to first token CDF', 'Acceptance by depth', 'Draft tree size over time']) {
    t.match(html, title);
  }
  t.ok((html.match(/<rect [^>]*height="[1-9]/g) ?? []).length >= 6, 'speedup bars are drawn');
  t.ok((html.match(/<path d="M/g) ?? []).length >= 4, 'lines are drawn');
  // Self-contained: nothing to fetch, nothing to run.
  for (const bad of [/<script/i, /\ssrc=/i, /\shref=/i, /<link/i, /@import/i, /url\(/i, /https?:\/\//i]) t.notMatch(html, bad, `no ${bad}`);
  t.match(html, /class="ok"/);
  t.match(html, /a note/);
});

t.test('a losslessness failure shows in the markdown and the HTML', async (t) => {
  const r = fixture(true);
  t.equal(r.mismatches.length, 1);
  t.hasStrict(r.mismatches[0], { itemId: 'chat-1', turn: 1, repeat: 1, at: 3 });
  const md = renderMarkdown(r);
  t.match(md, /LOSSLESSNESS FAILURE: 1 greedy output/);
  t.match(md, /\*\*FAIL 1\/6\*\*/);
  const html = renderHtml(r);
  t.match(html, /class="fail">LOSSLESSNESS FAILURE/);
  t.match(html, /<b>FAIL 1\/6<\/b>/);
  const records = resultRecords(r).filter((x) => x.record === 'lossless_mismatch');
  t.equal(records.length, 1);
  t.hasStrict(records[0], { label: 'lookup', item: 'chat-1', first_difference: 3, commit: 'abc123' });
});

t.test('svg helpers: ticks, empty data, escaping', async (t) => {
  t.same(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.same(niceTicks(0, 37), [0, 10, 20, 30, 40]);
  t.match(lineChart({ title: 'x', series: [], xLabel: 'a', yLabel: 'b' }), /no data/);
  const bar = barChart({ title: '<a&b>', groups: ['g'], series: [{ name: 'n', values: [null] }], yLabel: 'y', refLine: 1 });
  t.match(bar, /&lt;a&amp;b&gt;/);
  t.notMatch(bar, /<rect[^>]*><title>/, 'no bar for a missing value');
  t.match(barChart({ title: 't', groups: ['g'], series: [{ name: 'n', values: [2] }], yLabel: 'y' }), /<rect[^>]*><title>n · g: 2\.000<\/title>/);
});

t.test('progress bar: drawn on a TTY only, and cleared at the end', async (t) => {
  let tty = '';
  const bar = new Progress(4, { write: (s: string) => (tty += s), isTTY: true, columns: 80 });
  for (let i = 0; i < 4; i++) bar.tick(`step ${i}`);
  bar.finish();
  t.match(tty, /\[#{24}\] 4\/4 100%/);
  t.ok(tty.endsWith('\r\u001b[2K'), 'the line is cleared');
  t.ok(tty.split('\r').every((l) => l.replace('\x1b[2K', '').length <= 79), 'fits the terminal width');
  let piped = '';
  const quiet = new Progress(4, { write: (s: string) => (piped += s), isTTY: false });
  quiet.tick('x');
  quiet.finish();
  t.equal(piped, '');
  t.equal(new Progress(1, { write: () => true, isTTY: true }, false).enabled, false, '--no-progress wins');
});

t.test('a mismatch at a numerical near-tie is reported as such, not as a failure', async (t) => {
  const configs = buildConfigs({ drafters: ['none', 'lookup'], treeBudgets: ['auto'], temperatures: [0], concurrency: null });
  const sample = (c: number, tokens: number[]): Sample => ({
    config: configKey(configs[c]), itemId: 'x', category: 'story', turn: 0, repeat: 0, startMs: 0, numTokens: tokens.length, wallMs: 1, prefillMs: 0, decodeMs: 1,
    ttftMs: 0, itlMs: [], finishReason: 'length', output: tokens.join(' '), outputTokens: tokens, promptTokens: [1, 2], steps: null, peakRssBytes: null, speculation: null,
  });
  for (const [gap, tie] of [[0.01, true], [0.5, false]] as const) {
    const samples = [sample(0, [5, 6, 7, 8]), sample(1, [5, 6, 9, 9])];
    const lossless = checkLossless(samples, configs);
    const asked: number[][] = [];
    await scoreNearTies(lossless.mismatches, samples, async (prompt, prefix) => {
      asked.push([...prompt, ...prefix]);
      return gap;
    });
    t.same(asked, [[1, 2, 5, 6]], 'the baseline is re-scored at the first difference');
    countNearTies(lossless, lossless.mismatches);
    t.equal(realMismatches(lossless.mismatches).length, tie ? 0 : 1, `gap ${gap}: ${tie ? 'a near-tie' : 'a real mismatch'}`);
    const md = renderMarkdown({ ...fixture(), configs, samples, summaries: summarize(samples, configs, labelConfigs(configs), lossless), mismatches: lossless.mismatches });
    t.match(md, tie ? /ok 0\/1, 1 near-tie/ : /FAIL 1\/1/);
  }
});

t.test('a later turn of a conversation that already differed is not compared (its history is its own output)', async (t) => {
  const configs = buildConfigs({ drafters: ['none', 'lookup'], treeBudgets: ['auto'], temperatures: [0], concurrency: null });
  const sample = (c: number, turn: number, tokens: number[], prompt: number[]): Sample => ({
    config: configKey(configs[c]), itemId: 'm', category: 'multiturn', turn, repeat: 0, startMs: 0, numTokens: tokens.length, wallMs: 1, prefillMs: 0, decodeMs: 1,
    ttftMs: 0, itlMs: [], finishReason: 'length', output: tokens.join(' '), outputTokens: tokens, promptTokens: prompt, steps: null, peakRssBytes: null, speculation: null,
  });
  // Turn 1 listed first: the order samples arrive in must not matter.
  const samples = [sample(1, 1, [40, 41], [1, 5, 9, 30]), sample(0, 0, [5, 6], [1]), sample(0, 1, [20, 21], [1, 5, 6, 30]), sample(1, 0, [5, 9], [1])];
  const lossless = checkLossless(samples, configs);
  t.equal(lossless.mismatches.length, 1, 'only the first difference');
  t.match(lossless.mismatches[0], { turn: 0, at: 1 });
  t.equal(lossless.checked.get(configKey(configs[1])), 1, 'turn 1 was not compared');
  const same = [sample(0, 0, [5, 6], [1]), sample(0, 1, [20, 21], [1, 5, 6, 30]), sample(1, 0, [5, 6], [1]), sample(1, 1, [20, 22], [1, 5, 6, 30])];
  const later = checkLossless(same, configs);
  t.match(later.mismatches, [{ turn: 1, at: 1 }], 'a first difference in a later turn is still caught');
});
