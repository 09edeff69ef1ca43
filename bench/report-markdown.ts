// The markdown summary (printed at the end of `sprig bench` and written as summary.md) and the table data
// the HTML report reuses. The header says "speedup": tokens/s ÷ the baseline's on the same prompts.
import { NEAR_TIE_PROB_GAP, realMismatches } from './lossless.ts';
import { formatMachine } from './machine.ts';
import type { BenchResult, Spread, Summary } from './types.ts';

export function fmtNum(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

export function fmtSpread(s: Spread | null, digits = 1, unit = ''): string {
  if (!s) return '–';
  const range = s.n > 1 ? ` (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})` : '';
  return `${s.median.toFixed(digits)}${unit}${range}`;
}

function split(s: Summary): string {
  const t = s.time_split_ms;
  if (!t) return '–';
  const total = (t.prefill ?? 0) + t.draft + t.verify + t.other;
  if (!(total > 0)) return '–';
  return [t.prefill, t.draft, t.verify, t.other].map((v) => (v === null ? '–' : Math.round((100 * v) / total))).join('/');
}

function lossless(s: Summary): string {
  if (!s.lossless) return '–';
  if (s.lossless.mismatches > 0) return `**FAIL ${s.lossless.mismatches}/${s.lossless.checked}**`;
  const ties = s.lossless.nearTies ?? 0;
  return ties ? `ok ${s.lossless.checked - ties}/${s.lossless.checked}, ${ties} near-tie${ties > 1 ? 's' : ''}` : `ok ${s.lossless.checked}/${s.lossless.checked}`;
}

/** The main table (category 'all'): one row per config. */
export function summaryTable(r: BenchResult): { header: string[]; rows: string[][] } {
  const all = r.summaries.filter((s) => s.category === 'all');
  const http = all.some((s) => s.throughput_tokens_per_s);
  const constrained = all.some((s) => s.config.constrained);
  const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}`);
  const header = ['config', 'tokens/s', 'speedup', ...(http ? ['throughput tok/s'] : []), 'mean accepted length', ...(constrained ? ['forced tokens %', 'grammar % of step'] : []), 'mean tree size', 'TTFT p50 ms', 'ITL p50/p90/p99 ms', 'prefill/draft/verify/other %', 'peak RSS MB', 'lossless'];
  const rows = all.map((s) => [
    s.label,
    fmtSpread(s.tokens_per_s),
    fmtSpread(s.speedup, 2, '×'),
    ...(http ? [fmtSpread(s.throughput_tokens_per_s)] : []),
    fmtNum(s.mean_accepted_length, 2),
    ...(constrained ? [pct(s.forced_share), pct(s.grammar_share)] : []),
    fmtNum(s.mean_tree_size, 1),
    fmtNum(s.ttft_ms?.p50, 1),
    s.itl_ms ? `${fmtNum(s.itl_ms.p50, 2)}/${fmtNum(s.itl_ms.p90, 2)}/${fmtNum(s.itl_ms.p99, 2)}` : '–',
    split(s),
    fmtNum(s.peak_rss_mb, 0),
    lossless(s),
  ]);
  return { header, rows };
}

/** Median speedup of each config (rows) in each category (columns). */
export function categoryTable(r: BenchResult): { header: string[]; rows: string[][] } {
  const categories = [...new Set(r.summaries.map((s) => s.category))].filter((c) => c !== 'all');
  const labels = [...new Set(r.summaries.map((s) => s.label))];
  const header = ['speedup by category', ...categories, 'all'];
  const rows = labels.map((label) => [label, ...[...categories, 'all'].map((cat) => {
    const s = r.summaries.find((x) => x.label === label && x.category === cat);
    return s?.speedup ? `${s.speedup.median.toFixed(2)}×` : '–';
  })]);
  return { header, rows };
}

function table(t: { header: string[]; rows: string[][] }): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(esc).join(' | ')} |`,
    `|${t.header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...t.rows.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Which config wins (highest median speedup) in each category, the baseline excluded. */
export function winners(r: BenchResult): { category: string; label: string; speedup: number }[] {
  const out: { category: string; label: string; speedup: number }[] = [];
  for (const category of new Set(r.summaries.map((s) => s.category))) {
    const best = r.summaries
      .filter((s) => s.category === category && s.config.drafters !== 'none' && s.speedup)
      .sort((a, b) => b.speedup!.median - a.speedup!.median)[0];
    if (best) out.push({ category, label: best.label, speedup: best.speedup!.median });
  }
  return out;
}

/** GRAMMAR_SHARE_GOAL: grammar work's share of step time that structured output should stay under. */
export const GRAMMAR_SHARE_GOAL = 0.1;

/**
 * Structured output's goals, per drafter config run both constrained and free: its speedup on constrained output
 * at least its speedup on free output, and grammar work under 10% of step time.
 */
export function constraintGoals(r: BenchResult): string[] {
  const all = r.summaries.filter((s) => s.category === 'all');
  const out: string[] = [];
  for (const s of all.filter((x) => x.config.constrained)) {
    const free = all.find((x) => !x.config.constrained && x.config.drafters === s.config.drafters && x.config.treeBudget === s.config.treeBudget && x.config.temperature === s.config.temperature && x.config.concurrency === s.config.concurrency);
    const parts: string[] = [];
    if (s.config.drafters !== 'none' && s.speedup && free?.speedup) {
      const ok = s.speedup.median >= free.speedup.median;
      parts.push(`speedup constrained ${s.speedup.median.toFixed(2)}× vs free ${free.speedup.median.toFixed(2)}× (goal ≥: ${ok ? 'met' : 'MISSED'})`);
    }
    if (s.grammar_share !== null) parts.push(`grammar ${(100 * s.grammar_share).toFixed(1)}% of step time (goal < ${100 * GRAMMAR_SHARE_GOAL}%: ${s.grammar_share < GRAMMAR_SHARE_GOAL ? 'met' : 'MISSED'})`);
    if (parts.length) out.push(`- ${s.label}: ${parts.join('; ')}`);
  }
  return out;
}

export function renderMarkdown(r: BenchResult): string {
  const i = r.info;
  const lines = [
    `## sprig bench ${i.run_id}`,
    '',
    `model **${i.model.name}**${i.model.base_url ? ` at ${i.model.base_url}` : ''} · ${i.mode} · ${formatMachine(i.machine)} · commit ${i.commit ?? 'unknown'}`,
    `${r.items.length} prompts (${[...new Set(r.items.map((x) => x.category))].join(', ')}) · max ${i.max_tokens} tokens · ${i.repeats} repeats (median, min–max) after ${i.warmup} warm-up per config`,
    '',
    `\`${i.command}\``,
    '',
    table(summaryTable(r)),
    '',
    'tokens/s: completion tokens ÷ wall time including prefill, per prompt, averaged over prompts (Spec-Bench); speedup: the same ÷ the baseline (none) on the same prompts in the same repeat.',
    '',
    table(categoryTable(r)),
    '',
  ];
  const goals = constraintGoals(r);
  if (goals.length) lines.push('Structured output (forced tokens %: tokens the grammar allowed alone ÷ tokens; grammar %: grammar time ÷ decode step time):', ...goals, '');
  const wins = winners(r).filter((w) => w.category !== 'all');
  if (wins.length) lines.push(`Best per category: ${wins.map((w) => `${w.category} → ${w.label} (${w.speedup.toFixed(2)}×)`).join('; ')}.`, '');
  const real = realMismatches(r.mismatches);
  const ties = r.mismatches.length - real.length;
  if (ties) lines.push(`${ties} greedy output(s) parted from the baseline at a numerical near-tie (its top two tokens within ${NEAR_TIE_PROB_GAP} in probability; quantized graphs use int8 activations, whose rounding depends on the batch).`, '');
  if (real.length) {
    lines.push(`**LOSSLESSNESS FAILURE: ${real.length} greedy output(s) differ from the baseline.**`, '');
    for (const m of real.slice(0, 20)) {
      const label = r.summaries.find((s) => s.key === m.config)?.label ?? m.config;
      lines.push(`- ${label}, item ${m.itemId} turn ${m.turn} repeat ${m.repeat}: first difference at ${m.at}: expected ${m.expected}, got ${m.got}`);
    }
    lines.push('');
  } else {
    const checked = r.summaries.filter((s) => s.category === 'all').reduce((a, s) => a + (s.lossless?.checked ?? 0), 0);
    lines.push(checked ? `Lossless: all ${checked} greedy outputs equal the baseline's.` : 'Lossless: not checked (no greedy configuration).', '');
  }
  for (const w of r.warnings) lines.push(`- note: ${w}`);
  return `${lines.join('\n').trimEnd()}\n`;
}
