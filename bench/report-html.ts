// The self-contained HTML report: summary tables and inline-SVG charts (speedup by drafter × category,
// latency CDFs, acceptance by depth, tree size over time). NO scripts and NO external assets.
import { realMismatches } from './lossless.ts';
import { formatMachine } from './machine.ts';
import { cdf, movingAverage } from './metrics.ts';
import { categoryTable, renderMarkdown, summaryTable, winners } from './report-markdown.ts';
import { percentile } from './metrics.ts';
import { barChart, escapeXml, lineChart, PALETTE, type LineSeries } from './svg.ts';
import type { BenchResult, Sample } from './types.ts';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
td{white-space:nowrap}th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.meta{color:#555}.ok{background:#e8f5e9;border:1px solid #66bb6a;padding:8px 12px}
.fail{background:#ffebee;border:2px solid #c62828;color:#b71c1c;padding:10px 14px;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{background:#fff;border:1px solid #eee}
svg .title{font-size:14px;font-weight:600}svg .tick{font-size:11px;fill:#444}svg .label{font-size:12px;fill:#333}
svg .grid{stroke:#eee}svg .axis{stroke:#888}svg .ref{stroke:#c62828;stroke-dasharray:5 4}
pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:12px}code{font-size:12px}
.scroll{overflow-x:auto;max-width:100%}
`;

function htmlTable(t: { header: string[]; rows: string[][] }): string {
  const cell = (c: string) => escapeXml(c).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>');
  return `<div class="scroll"><table><tr>${t.header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`
    + t.rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('') + '</table></div>';
}

interface ConfigView { key: string; label: string; color: string; samples: Sample[]; baseline: boolean }

/**
 * One entry per config, each with the color it has in every chart: one hue per drafter combination (the
 * palette's), darker to lighter across its budgets and temperatures, so a sweep reads as families.
 */
function byConfig(r: BenchResult): ConfigView[] {
  const all = r.summaries.filter((s) => s.category === 'all');
  const families = [...new Set(all.map((s) => s.config.drafters))];
  const members = new Map<string, number>();
  return all.map((s) => {
    const family = families.indexOf(s.config.drafters);
    const rank = members.get(s.config.drafters) ?? 0;
    members.set(s.config.drafters, rank + 1);
    const size = all.filter((x) => x.config.drafters === s.config.drafters).length;
    const color = size === 1 ? PALETTE[family % PALETTE.length] : shade(PALETTE[family % PALETTE.length], rank / (size - 1));
    return { key: s.key, label: s.label, color, samples: r.samples.filter((x) => x.config === s.key), baseline: s.config.drafters === 'none' };
  });
}

/** #rrggbb from dark (t = 0: 70% of the color) to light (t = 1: halfway to white). */
function shade(hex: string, t: number): string {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const mix = c.map((v) => Math.round(t < 0.5 ? v * (0.7 + 0.6 * t) : v + (255 - v) * (t - 0.5)));
  return `#${mix.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Tree size per step over the run (in-process, or servers that report tree_sizes), else each response's mean tree size over time. */
function treeSeries(r: BenchResult): { series: LineSeries[]; xLabel: string } {
  const configs = byConfig(r).filter((c) => !c.baseline);
  const stepSizes = (s: Sample): number[] | null => s.steps?.map((x) => x.treeSize) ?? s.speculation?.tree_sizes ?? null;
  const traced = configs.some((c) => c.samples.some((s) => stepSizes(s)?.length));
  if (traced) {
    const series = configs.map((c) => {
      const sizes = [...c.samples].sort((a, b) => a.startMs - b.startMs).flatMap((s) => stepSizes(s) ?? []);
      const smooth = movingAverage(sizes, 16);
      const stride = Math.max(1, Math.ceil(smooth.length / 400));
      const points: [number, number][] = [];
      for (let i = 0; i < smooth.length; i += stride) points.push([i, smooth[i]]);
      return { name: c.label, color: c.color, points };
    });
    return { series, xLabel: 'verification step (in run order; moving average of 16)' };
  }
  const series = configs.map((c) => ({
    name: c.label,
    color: c.color,
    points: [...c.samples].sort((a, b) => a.startMs - b.startMs).flatMap((s): [number, number][] => (s.speculation ? [[s.startMs / 1000, s.speculation.mean_tree_size]] : [])),
  }));
  return { series, xLabel: 'request start (s since the run began)' };
}

export function renderHtml(r: BenchResult): string {
  const i = r.info;
  const all = r.summaries.filter((s) => s.category === 'all');
  const categories = [...new Set(r.summaries.map((s) => s.category))].filter((c) => c !== 'all');
  const spec = all.filter((s) => s.config.drafters !== 'none');
  const configs = byConfig(r);
  const colorOf = new Map(configs.map((c) => [c.key, c.color]));
  const itls = configs.map((c) => c.samples.flatMap((s) => s.itlMs));
  // Clip the CDF's x axis a little past the largest p99 so a few stalls do not squash the curves.
  const itlMax = Math.max(0, ...itls.map((v) => (v.length ? percentile(v, 99) : 0))) * 1.25 || undefined;

  const speedupChart = barChart({
    title: 'Speedup vs baseline by drafter × category (median over repeats)',
    groups: [...categories, 'all'],
    series: spec.map((s) => ({
      name: s.label,
      color: colorOf.get(s.key),
      values: [...categories, 'all'].map((cat) => r.summaries.find((x) => x.key === s.key && x.category === cat)?.speedup?.median ?? null),
    })),
    yLabel: 'speedup (×)',
    refLine: 1,
  });
  const itlChart = lineChart({
    title: 'Inter-token latency CDF',
    series: configs.map((c, i) => ({ name: c.label, color: c.color, points: cdf(itls[i], 400) })),
    xLabel: 'ms between consecutive tokens (tokens of one step arrive together: 0)',
    yLabel: 'fraction of tokens',
    yMin: 0,
    yMax: 1,
    xMin: 0,
    xMax: itlMax,
  });
  const ttftChart = lineChart({
    title: 'Time to first token CDF',
    series: configs.map((c) => ({ name: c.label, color: c.color, points: cdf(c.samples.flatMap((s) => (s.ttftMs === null ? [] : [s.ttftMs]))) })),
    xLabel: 'ms from request to first token',
    yLabel: 'fraction of requests',
    yMin: 0,
    yMax: 1,
    xMin: 0,
  });
  const depthChart = lineChart({
    title: 'Acceptance by depth',
    series: spec.map((s) => ({ name: s.label, color: colorOf.get(s.key), points: s.acceptance_by_depth.map((v, d): [number, number] => [d + 1, v]) })),
    xLabel: 'draft depth',
    yLabel: 'accepted fraction',
    yMin: 0,
    yMax: 1,
    xMin: 1,
  });
  const tree = treeSeries(r);
  const treeChart = lineChart({ title: 'Draft tree size over time', series: tree.series, xLabel: tree.xLabel, yLabel: 'draft nodes per step', yMin: 0 });

  const checked = all.reduce((a, s) => a + (s.lossless?.checked ?? 0), 0);
  const real = realMismatches(r.mismatches);
  const banner = real.length
    ? `<div class="fail">LOSSLESSNESS FAILURE: ${real.length} greedy output(s) differ from the baseline.<ul>${real.slice(0, 20).map((m) => `<li>${escapeXml(all.find((s) => s.key === m.config)?.label ?? m.config)}, item ${escapeXml(m.itemId)} turn ${m.turn} repeat ${m.repeat}: first difference at ${m.at}<br>expected ${escapeXml(m.expected)}<br>got ${escapeXml(m.got)}</li>`).join('')}</ul></div>`
    : `<div class="ok">${checked ? `Lossless: all ${checked} greedy outputs equal the baseline's.` : 'Lossless: not checked (no greedy configuration).'}</div>`;
  const wins = winners(r).filter((w) => w.category !== 'all');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sprig bench ${escapeXml(i.run_id)}</title><style>${CSS}</style></head>
<body>
<h1>sprig bench ${escapeXml(i.run_id)}</h1>
<p class="meta">model <b>${escapeXml(i.model.name)}</b>${i.model.base_url ? ` at ${escapeXml(i.model.base_url)}` : ''} · ${i.mode} · ${escapeXml(formatMachine(i.machine))} · commit ${escapeXml(i.commit ?? 'unknown')} · ${escapeXml(i.started_at)}<br>
${r.items.length} prompts · max ${i.max_tokens} tokens · ${i.repeats} repeats (median, min–max) after ${i.warmup} warm-up per config<br><code>${escapeXml(i.command)}</code></p>
${banner}
<h2>Summary</h2>
${htmlTable(summaryTable(r))}
<p class="meta">tokens/s: completion tokens ÷ wall time including prefill, per prompt, averaged over prompts (Spec-Bench); speedup: the same ÷ the baseline (none) on the same prompts in the same repeat.</p>
${htmlTable(categoryTable(r))}
${wins.length ? `<p>Best per category: ${wins.map((w) => `${escapeXml(w.category)} → <b>${escapeXml(w.label)}</b> (${w.speedup.toFixed(2)}×)`).join('; ')}.</p>` : ''}
<h2>Charts</h2>
<div class="charts">
${speedupChart}
${itlChart}
${ttftChart}
${depthChart}
${treeChart}
</div>
${r.warnings.length ? `<h2>Notes</h2><ul>${r.warnings.map((w) => `<li>${escapeXml(w)}</li>`).join('')}</ul>` : ''}
<h2>Markdown summary</h2>
<pre>${escapeXml(renderMarkdown(r))}</pre>
</body></html>
`;
}
