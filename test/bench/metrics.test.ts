// Metric math on synthetic step and timing records: percentiles, medians and spreads, Spec-Bench speedups,
// acceptance by depth (checked against the engine's own StatsRecorder), and the per-config summaries.
import t from 'tap';
import { StatsRecorder, type SpeculationStats } from '../../engine/stats.ts';
import { buildConfigs, configKey, defaultDrafterSpecs, labelConfigs, parseDrafterSpecs } from '../../bench/configs.ts';
import {
  acceptanceByDepth, blockThroughputs, cdf, itemRates, meanAcceptedLength, median, mergeSpeculationStats, movingAverage,
  percentile, percentiles, repeatRates, speedups, spread, summarize,
} from '../../bench/metrics.ts';
import { distributeTokens } from '../../bench/run-http.ts';
import type { BenchConfig, Sample, StepRecord } from '../../bench/types.ts';

t.test('percentiles interpolate linearly between ranks (numpy default)', async (t) => {
  const cases: [number[], number, number][] = [
    [[1, 2, 3, 4], 50, 2.5],
    [[4, 1, 3, 2], 0, 1],
    [[4, 1, 3, 2], 100, 4],
    [[10, 20, 30, 40, 50], 90, 46],
    [[10, 20, 30, 40, 50], 99, 49.6],
    [[7], 99, 7],
    [[0, 0, 0, 10], 50, 0],
  ];
  for (const [values, q, want] of cases) t.ok(Math.abs(percentile(values, q) - want) < 1e-9, `p${q} of ${values} = ${want}`);
  t.ok(Number.isNaN(percentile([], 50)));
  t.equal(median([3, 1, 2]), 2);
  t.same(percentiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), { p50: 6, p90: 10, p99: 10.9 });
  t.equal(percentiles([]), null);
  t.same(spread([3, 1, 2, NaN]), { median: 2, min: 1, max: 3, n: 3 });
  t.equal(spread([]), null);
});

t.test('acceptance by depth and mean accepted length match the engine StatsRecorder', async (t) => {
  // Three steps over chain-shaped trees: depths [0,1,2,3] accept 2; [0,1,2] accept 0; [0,1,1,2,3,4] accept 4 (path 0→2→3→4→5).
  const trees: { depths: number[]; path: number[] }[] = [
    { depths: [0, 1, 2, 3], path: [0, 1, 2] },
    { depths: [0, 1, 2], path: [0] },
    { depths: [0, 1, 1, 2, 3, 4], path: [0, 2, 3, 4, 5] },
    { depths: [0], path: [0] },
  ];
  const rec = new StatsRecorder(new Map([[0, 'lookup']]));
  const steps: StepRecord[] = [];
  for (const tr of trees) {
    rec.step(Int32Array.from(tr.depths), Uint32Array.from(tr.depths.map(() => 1)), tr.path, 1, 2);
    steps.push({ treeSize: tr.depths.length - 1, maxDepth: Math.max(...tr.depths), accepted: tr.path.length - 1 });
  }
  const engine = rec.finish();
  t.same(acceptanceByDepth(steps), engine.acceptance_by_depth);
  t.same(acceptanceByDepth(steps), [2 / 3, 2 / 3, 1 / 2, 1]);
  t.equal(meanAcceptedLength(steps), engine.mean_accepted_length);
  t.equal(meanAcceptedLength(steps), (2 + 0 + 4 + 0 + 4) / 4);
  t.equal(meanAcceptedLength([]), null);
  t.same(acceptanceByDepth([]), []);
});

const stats = (steps: number, accepted: number, byDepth: number[], treeSize: number): SpeculationStats => ({
  drafters: ['lookup'], steps, drafted: steps * treeSize, accepted, mean_accepted_length: (accepted + steps) / steps, acceptance_by_depth: byDepth, accepted_by_depth: byDepth.map((r) => Math.round(r * steps)),
  per_drafter: {}, draft_ms: 1, verify_ms: 2, other_ms: 3, mean_tree_size: treeSize, tree_budget: 8, mean_expected_accepted_length: 0, tree_sizes: [],
});

t.test('merging per-response speculation weights depth acceptance by steps', async (t) => {
  const m = mergeSpeculationStats([stats(10, 5, [0.5], 2), stats(30, 30, [1, 0.5], 4)]);
  t.equal(m.meanAcceptedLength, (35 + 40) / 40);
  t.same(m.acceptanceByDepth, [(0.5 * 10 + 30) / 40, (0.5 * 30) / 40]);
  t.equal(m.meanTreeSize, (20 + 120) / 40);
  t.equal(m.meanExpectedAcceptedLength, null);
  t.equal(mergeSpeculationStats([]).meanAcceptedLength, null);
});

function sample(config: string, itemId: string, repeat: number, numTokens: number, wallMs: number, extra: Partial<Sample> = {}): Sample {
  return {
    config, itemId, category: itemId.split('-')[0], turn: 0, repeat, startMs: 0, numTokens, wallMs, prefillMs: 1, decodeMs: wallMs - 1,
    ttftMs: 2, itlMs: [1, 1], finishReason: 'length', output: 'x', speculation: null, steps: null, peakRssBytes: 2 ** 20, ...extra,
  };
}

t.test('Spec-Bench speedup: mean over items of tokens/s, divided per repeat, median and spread over repeats', async (t) => {
  const base: Sample[] = [];
  const spec: Sample[] = [];
  for (let r = 0; r < 3; r++) {
    base.push(sample('b', 'code-1', r, 100, 1000), sample('b', 'qa-1', r, 50, 1000));
    // Multi-turn: the item's turns add up (60 + 40 tokens in 250 + 250 ms = 200 tok/s).
    spec.push(sample('s', 'code-1', r, 100, 500 - r * 100), sample('s', 'qa-1', r, 60, 250, { turn: 0 }), sample('s', 'qa-1', r, 40, 250, { turn: 1 }));
  }
  const b = itemRates(base);
  const s = itemRates(spec);
  t.same([...b.get(0)!], [['code-1', 100], ['qa-1', 50]]);
  t.same([...s.get(0)!], [['code-1', 200], ['qa-1', 200]]);
  t.same(repeatRates(b), [75, 75, 75]);
  const ups = speedups(s, b);
  t.same(ups.map((x) => Number(x.toFixed(6))), [(200 + 200) / 2 / 75, (250 + 200) / 2 / 75, (1000 / 3 + 200) / 2 / 75].map((x) => Number(x.toFixed(6))));
  t.same(spread(ups)!.median.toFixed(6), ((250 + 200) / 2 / 75).toFixed(6));
  // Items only one side measured are left out of that repeat; repeats without a baseline are skipped.
  t.same(speedups(itemRates([sample('s', 'code-1', 0, 10, 100), sample('s', 'x-1', 0, 10, 1)]), itemRates([sample('b', 'code-1', 0, 10, 100)])), [1]);
  t.same(speedups(itemRates([sample('s', 'code-1', 5, 10, 100)]), b), []);
});

t.test('block throughput and distributing stream tokens over chunks', async (t) => {
  const block = { id: 'k#0', wallMs: 500 };
  t.same(blockThroughputs([sample('a', 'x-1', 0, 100, 400, { block }), sample('a', 'x-2', 0, 150, 450, { block })]), [500]);
  t.same(distributeTokens([3, 3, 3], 3), [1, 1, 1]);
  t.same(distributeTokens([1, 1, 8], 12), [2, 2, 8]);
  t.same(distributeTokens([5, 5], 1).reduce((a, b) => a + b, 0), 1);
  t.same(distributeTokens([], 4), []);
  for (const [chars, total] of [[[2, 9, 1, 4], 17], [[1], 5], [[0, 0, 3], 4]] as [number[], number][]) {
    const d = distributeTokens(chars, total);
    t.equal(d.reduce((a, b) => a + b, 0), total, `sums to ${total}`);
    t.ok(d.every((x) => x >= 1), 'every chunk has a token');
  }
});

t.test('configs: the baseline always runs, combinations validate, labels show what varies', async (t) => {
  const known = ['none', 'lookup', 'recycling', 'draft'];
  t.same(defaultDrafterSpecs(known), ['none', 'lookup', 'recycling', 'lookup+recycling']);
  t.same(defaultDrafterSpecs(known, ['draft']), ['none', 'lookup', 'recycling', 'draft', 'lookup+recycling+draft']);
  t.same(parseDrafterSpecs(['recycling', 'recycling+lookup', 'recycling'], known, false), ['none', 'recycling', 'recycling+lookup']);
  t.throws(() => parseDrafterSpecs(['eagle'], known, false), /unknown drafter "eagle"/);
  t.throws(() => parseDrafterSpecs(['none+lookup'], known, false), /cannot be combined/);
  t.throws(() => parseDrafterSpecs(['server'], known, false), /--base-url/);
  const configs = buildConfigs({ drafters: ['none', 'lookup'], treeBudgets: [8, 'auto'], temperatures: [0, 0.8], concurrency: [1, 4] });
  t.equal(configs.length, 2 * 2 * (1 + 2));
  t.equal(configs.filter((c) => c.drafters === 'none').length, 4, 'one baseline per temperature × concurrency');
  const labels = labelConfigs(configs);
  t.equal(labels.get(configKey({ drafters: 'lookup', treeBudget: 8, temperature: 0.8, concurrency: 4 })), 'lookup @8 T=0.8 c=4');
  t.equal(labels.get(configKey({ drafters: 'none', treeBudget: null, temperature: 0, concurrency: 1 })), 'none T=0 c=1');
  const plain = labelConfigs(buildConfigs({ drafters: ['none', 'lookup'], treeBudgets: ['auto'], temperatures: [0], concurrency: null }));
  t.same([...plain.values()], ['none', 'lookup']);
});

t.test('summaries: per config × category plus all, speedup against the same-temperature baseline', async (t) => {
  const configs: BenchConfig[] = [
    { drafters: 'none', treeBudget: null, temperature: 0, concurrency: null },
    { drafters: 'lookup', treeBudget: 8, temperature: 0, concurrency: null },
  ];
  const [bk, lk] = configs.map(configKey);
  const steps: StepRecord[] = [{ treeSize: 4, maxDepth: 2, accepted: 2 }, { treeSize: 2, maxDepth: 1, accepted: 0 }];
  const samples = [
    sample(bk, 'code-1', 0, 100, 1000, { steps: [] }), sample(bk, 'qa-1', 0, 100, 1000, { steps: [] }),
    sample(lk, 'code-1', 0, 100, 500, { steps, itlMs: [0, 0, 3, 5], ttftMs: 4, peakRssBytes: 3 * 2 ** 20, speculation: stats(2, 2, [1, 1], 3) }),
    sample(lk, 'qa-1', 0, 100, 1000, { steps, itlMs: [1], ttftMs: 6, speculation: stats(2, 2, [1, 1], 3) }),
  ];
  const sums = summarize(samples, configs, labelConfigs(configs), { checked: new Map([[lk, 2]]), mismatched: new Map(), nearTies: new Map() });
  t.same(sums.map((s) => `${s.label}/${s.category}`), ['none/all', 'lookup @8/all', 'none/code', 'lookup @8/code', 'none/qa', 'lookup @8/qa']);
  const all = sums.find((s) => s.label === 'lookup @8' && s.category === 'all')!;
  t.equal(all.speedup!.median, 1.5);
  t.equal(sums.find((s) => s.label === 'lookup @8' && s.category === 'code')!.speedup!.median, 2);
  t.equal(sums.find((s) => s.label === 'none' && s.category === 'all')!.speedup!.median, 1);
  t.equal(all.tokens, 200);
  t.equal(all.mean_accepted_length, 2, 'from the step traces: (3 + 1) / 2 per sample');
  t.same(all.acceptance_by_depth, [0.5, 1]);
  t.equal(all.mean_tree_size, 3);
  t.same(all.itl_ms, percentiles([0, 0, 3, 5, 1]));
  t.same(all.ttft_ms, percentiles([4, 6]));
  t.equal(all.peak_rss_mb, 3);
  t.same(all.time_split_ms, { prefill: 2, draft: 2, verify: 4, other: 6 });
  t.same(all.lossless, { checked: 2, mismatches: 0 });
  t.equal(sums.find((s) => s.category === 'code' && s.label === 'lookup @8')!.lossless, null, 'losslessness is reported once, on all');
});

t.test('cdf and moving average', async (t) => {
  t.same(cdf([3, 1, 2, 4]), [[1, 0.25], [2, 0.5], [3, 0.75], [4, 1]]);
  const thin = cdf(Array.from({ length: 1000 }, (_, i) => i), 100);
  t.ok(thin.length <= 101);
  t.same(thin[thin.length - 1], [999, 1]);
  t.same(cdf([]), []);
  t.same(movingAverage([2, 4, 6, 8], 2), [2, 3, 5, 7]);
});
