// Pure metric math over samples and step records: percentiles, medians and spreads, Spec-Bench speedups,
// acceptance by depth. No I/O, no clocks: everything here is a function of its arguments.
import type { SpeculationStats } from '../engine/stats.ts';
import { baselineOf, configKey, isBaseline } from './configs.ts';
import type { BenchConfig, Percentiles, Sample, Spread, StepRecord, Summary } from './types.ts';

/** q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default). NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  return { p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99) };
}

export function spread(values: readonly number[]): Spread | null {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return null;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/**
 * Acceptance by depth from step records: [d-1] = steps that accepted ≥ d drafts / steps that drafted to depth ≥ d.
 * The same definition as engine/stats.ts, so in-process traces reproduce the engine's own numbers.
 */
export function acceptanceByDepth(steps: readonly StepRecord[]): number[] {
  const maxDepth = steps.reduce((m, s) => Math.max(m, s.maxDepth), 0);
  const out: number[] = [];
  for (let d = 1; d <= maxDepth; d++) {
    let drafted = 0;
    let accepted = 0;
    for (const s of steps) {
      if (s.maxDepth >= d) drafted++;
      if (s.accepted >= d) accepted++;
    }
    out.push(drafted ? accepted / drafted : 0);
  }
  return out;
}

/** Tokens per target forward, bonus included (plain decoding = 1). null without steps. */
export function meanAcceptedLength(steps: readonly StepRecord[]): number | null {
  if (steps.length === 0) return null;
  return steps.reduce((a, s) => a + s.accepted + 1, 0) / steps.length;
}

/** Merges per-request speculation stats (HTTP mode): rates re-derived, depth acceptance weighted by steps. */
export interface MergedSpeculation {
  meanAcceptedLength: number | null;
  acceptanceByDepth: number[];
  meanTreeSize: number | null;
  /** The tree expander's own estimate ('auto' budgets); null when no request reported one. */
  meanExpectedAcceptedLength: number | null;
}

export function mergeSpeculationStats(list: readonly SpeculationStats[]): MergedSpeculation {
  const steps = list.reduce((a, s) => a + s.steps, 0);
  if (steps === 0) return { meanAcceptedLength: null, acceptanceByDepth: [], meanTreeSize: null, meanExpectedAcceptedLength: null };
  const accepted = list.reduce((a, s) => a + s.accepted, 0);
  const depth = Math.max(0, ...list.map((s) => s.acceptance_by_depth.length));
  const acceptance = Array.from({ length: depth }, (_, d) => list.reduce((a, s) => a + (s.acceptance_by_depth[d] ?? 0) * s.steps, 0) / steps);
  return {
    meanAcceptedLength: (accepted + steps) / steps,
    acceptanceByDepth: acceptance,
    meanTreeSize: list.reduce((a, s) => a + s.mean_tree_size * s.steps, 0) / steps,
    meanExpectedAcceptedLength: list.some((s) => s.mean_expected_accepted_length > 0)
      ? list.reduce((a, s) => a + (s.mean_expected_accepted_length ?? 0) * s.steps, 0) / steps
      : null,
  };
}

/**
 * Spec-Bench tokens/s of one repeat: each item's tokens ÷ its wall time (turns summed, prefill included),
 * averaged over items. Map: repeat → item → tokens/s.
 */
export function itemRates(samples: readonly Sample[], time: (s: Sample) => number | null = (s) => s.wallMs): Map<number, Map<string, number>> {
  const acc = new Map<number, Map<string, { tokens: number; ms: number }>>();
  for (const s of samples) {
    const ms = time(s);
    if (ms === null) continue;
    const byItem = acc.get(s.repeat) ?? new Map<string, { tokens: number; ms: number }>();
    acc.set(s.repeat, byItem);
    const a = byItem.get(s.itemId) ?? { tokens: 0, ms: 0 };
    a.tokens += s.numTokens;
    a.ms += ms;
    byItem.set(s.itemId, a);
  }
  const out = new Map<number, Map<string, number>>();
  for (const [repeat, byItem] of acc) {
    out.set(repeat, new Map([...byItem].filter(([, a]) => a.ms > 0).map(([id, a]) => [id, (a.tokens * 1000) / a.ms])));
  }
  return out;
}

/** Per repeat: mean over items of tokens/s. */
export function repeatRates(rates: Map<number, Map<string, number>>): number[] {
  return [...rates.values()].map((byItem) => mean([...byItem.values()])).filter(Number.isFinite);
}

/**
 * Per repeat: mean tokens/s of the config ÷ mean tokens/s of the baseline, over the items both measured
 * in that repeat (Spec-Bench's speedup). Repeats missing on either side are skipped.
 */
export function speedups(config: Map<number, Map<string, number>>, baseline: Map<number, Map<string, number>>): number[] {
  const out: number[] = [];
  for (const [repeat, byItem] of config) {
    const base = baseline.get(repeat);
    if (!base) continue;
    const ids = [...byItem.keys()].filter((id) => base.has(id));
    if (ids.length === 0) continue;
    const b = mean(ids.map((id) => base.get(id)!));
    if (b > 0) out.push(mean(ids.map((id) => byItem.get(id)!)) / b);
  }
  return out;
}

/** HTTP: tokens of each concurrency block ÷ its wall time. */
export function blockThroughputs(samples: readonly Sample[]): number[] {
  const blocks = new Map<string, { tokens: number; wallMs: number }>();
  for (const s of samples) {
    if (!s.block) continue;
    const b = blocks.get(s.block.id) ?? { tokens: 0, wallMs: s.block.wallMs };
    b.tokens += s.numTokens;
    blocks.set(s.block.id, b);
  }
  return [...blocks.values()].filter((b) => b.wallMs > 0).map((b) => (b.tokens * 1000) / b.wallMs);
}

export interface LosslessCounts {
  checked: Map<string, number>;
  mismatched: Map<string, number>;
  /** Mismatches at a numerical near-tie (bench/lossless.ts). */
  nearTies: Map<string, number>;
}

/** One Summary per config × category, plus category 'all'. Categories keep their first-seen order. */
export function summarize(samples: readonly Sample[], configs: readonly BenchConfig[], labels: Map<string, string>, lossless: LosslessCounts): Summary[] {
  const categories = ['all', ...new Set(samples.map((s) => s.category))];
  const byConfig = new Map<string, Sample[]>();
  for (const s of samples) byConfig.set(s.config, [...(byConfig.get(s.config) ?? []), s]);
  const out: Summary[] = [];
  for (const category of categories) {
    const inCategory = (list: Sample[] | undefined) => (list ?? []).filter((s) => category === 'all' || s.category === category);
    for (const c of configs) {
      const key = configKey(c);
      const mine = inCategory(byConfig.get(key));
      if (mine.length === 0) continue;
      const base = inCategory(byConfig.get(configKey(baselineOf(c))));
      const checked = category === 'all' ? lossless.checked.get(key) : undefined;
      out.push(summarizeGroup(c, key, labels.get(key) ?? key, category, mine, base, checked === undefined ? null : { checked, mismatches: lossless.mismatched.get(key) ?? 0, ...(lossless.nearTies.get(key) ? { nearTies: lossless.nearTies.get(key) } : {}) }));
    }
  }
  return out;
}

function summarizeGroup(c: BenchConfig, key: string, label: string, category: string, mine: Sample[], base: Sample[], lossless: Summary['lossless']): Summary {
  const rates = itemRates(mine);
  const tokensPerS = spread(repeatRates(rates))!;
  const decode = spread(repeatRates(itemRates(mine, (s) => s.decodeMs)));
  const speedup = isBaseline(c) ? spread(repeatRates(rates).map(() => 1)) : base.length ? spread(speedups(rates, itemRates(base))) : null;

  const traced = mine.every((s) => s.steps !== null);
  const steps = traced ? mine.flatMap((s) => s.steps!) : [];
  const merged = mergeSpeculationStats(mine.flatMap((s) => (s.speculation ? [s.speculation] : [])));
  const specs = mine.filter((s) => s.speculation);
  const sum = (f: (s: Sample) => number | null | undefined) => mine.reduce((a, s) => a + (f(s) ?? 0), 0);
  const rss = mine.map((s) => s.peakRssBytes).filter((v): v is number => v !== null);
  const constraint = mine.flatMap((s) => (s.speculation?.constraint ? [s.speculation.constraint] : []));
  const stepMs = sum((s) => (s.speculation ? s.speculation.draft_ms + s.speculation.verify_ms + s.speculation.other_ms : 0));
  return {
    key,
    label,
    config: c,
    category,
    num_items: new Set(mine.map((s) => s.itemId)).size,
    num_generations: mine.length,
    tokens: sum((s) => s.numTokens),
    tokens_per_s: tokensPerS,
    decode_tokens_per_s: decode,
    speedup,
    throughput_tokens_per_s: category === 'all' ? spread(blockThroughputs(mine)) : null,
    mean_accepted_length: traced && steps.length ? meanAcceptedLength(steps) : merged.meanAcceptedLength,
    acceptance_by_depth: traced && steps.length ? acceptanceByDepth(steps) : merged.acceptanceByDepth,
    mean_tree_size: traced && steps.length ? steps.reduce((a, s) => a + s.treeSize, 0) / steps.length : merged.meanTreeSize,
    mean_expected_accepted_length: merged.meanExpectedAcceptedLength,
    ttft_ms: percentiles(mine.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs]))),
    itl_ms: percentiles(mine.flatMap((s) => s.itlMs)),
    time_split_ms: specs.length === 0 ? null : {
      prefill: mine.some((s) => s.prefillMs !== null) ? sum((s) => s.prefillMs) : null,
      draft: sum((s) => s.speculation?.draft_ms),
      verify: sum((s) => s.speculation?.verify_ms),
      other: sum((s) => s.speculation?.other_ms),
    },
    peak_rss_mb: rss.length ? Math.max(...rss) / 2 ** 20 : null,
    lossless,
    forced_share: c.constrained && constraint.length ? constraint.reduce((a, x) => a + x.forced, 0) / Math.max(1, sum((s) => s.numTokens)) : null,
    grammar_share: c.constrained && constraint.length && stepMs > 0 ? constraint.reduce((a, x) => a + x.grammar_ms, 0) / stepMs : null,
  };
}

/** Empirical CDF points (value, fraction ≤ value), thinned to at most maxPoints. */
export function cdf(values: readonly number[], maxPoints = 200): [number, number][] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return [];
  const stride = Math.max(1, Math.ceil(n / maxPoints));
  const out: [number, number][] = [];
  for (let i = 0; i < n; i += stride) out.push([sorted[i], (i + 1) / n]);
  if (out[out.length - 1][1] !== 1) out.push([sorted[n - 1], 1]);
  return out;
}

/** Moving average over a window (for noisy per-step series). */
export function movingAverage(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}
