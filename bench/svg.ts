// Minimal inline-SVG charts (grouped bars, lines) for the HTML report: plain strings, no scripts, no external
// assets, so the report opens offline and can be attached to an issue as one file.

export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About `count` round tick values from lo up to (at least) hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // The last tick is the first at or above hi, so the axis covers every value.
  for (let v = Math.ceil(lo / step - 1e-9) * step; ; v += step) {
    out.push(Number(v.toPrecision(12)));
    if (v >= hi - 1e-9 * step) break;
  }
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${(v / 1000).toPrecision(3)}k`;
  if (a >= 10) return v.toFixed(0);
  if (a >= 0.01) return String(Number(v.toFixed(2)));
  return v.toPrecision(2);
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 760, height: 340, left: 56, right: 210, top: 34, bottom: 46 };

function frameSvg(title: string, f: Frame, body: string): string {
  return `<svg class="chart" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${escapeXml(title)}">`
    + `<text x="${f.left}" y="20" class="title">${escapeXml(title)}</text>${body}</svg>`;
}

function axes(f: Frame, yTicks: number[], y: (v: number) => number, yLabel: string, xLabel: string): string {
  const x0 = f.left;
  const x1 = f.width - f.right;
  let s = '';
  for (const t of yTicks) {
    const ty = y(t).toFixed(1);
    s += `<line x1="${x0}" x2="${x1}" y1="${ty}" y2="${ty}" class="grid"/><text x="${x0 - 6}" y="${(y(t) + 4).toFixed(1)}" class="tick" text-anchor="end">${fmt(t)}</text>`;
  }
  s += `<line x1="${x0}" x2="${x0}" y1="${f.top}" y2="${f.height - f.bottom}" class="axis"/>`;
  s += `<line x1="${x0}" x2="${x1}" y1="${f.height - f.bottom}" y2="${f.height - f.bottom}" class="axis"/>`;
  s += `<text x="14" y="${(f.top + f.height - f.bottom) / 2}" class="label" transform="rotate(-90 14 ${(f.top + f.height - f.bottom) / 2})" text-anchor="middle">${escapeXml(yLabel)}</text>`;
  s += `<text x="${(x0 + x1) / 2}" y="${f.height - 8}" class="label" text-anchor="middle">${escapeXml(xLabel)}</text>`;
  return s;
}

const colorOf = (s: { color?: string }, i: number) => s.color ?? PALETTE[i % PALETTE.length];

function legend(f: Frame, series: { name: string; color?: string }[]): string {
  const x = f.width - f.right + 12;
  return series.map((s, i) => `<rect x="${x}" y="${f.top + i * 18}" width="12" height="12" fill="${colorOf(s, i)}"/>`
    + `<text x="${x + 18}" y="${f.top + i * 18 + 10}" class="tick">${escapeXml(s.name.length > 30 ? `${s.name.slice(0, 29)}…` : s.name)}</text>`).join('');
}

export interface BarSeries {
  name: string;
  color?: string;
  /** One value per group; null = not measured. */
  values: (number | null)[];
}

/** Grouped bars: one group per x category, one bar per series; refLine draws a dashed horizontal line (e.g. 1×). */
export function barChart(o: { title: string; groups: string[]; series: BarSeries[]; yLabel: string; xLabel?: string; refLine?: number }): string {
  const f = FRAME;
  const all = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const hi = Math.max(o.refLine ?? 0, ...all, 0) * 1.1 || 1;
  const ticks = niceTicks(0, hi);
  const top = Math.max(hi, ticks[ticks.length - 1]);
  const plotH = f.height - f.top - f.bottom;
  const y = (v: number) => f.top + plotH * (1 - v / top);
  const plotW = f.width - f.left - f.right;
  const groupW = plotW / Math.max(1, o.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, o.series.length);
  let body = axes(f, ticks, y, o.yLabel, o.xLabel ?? '');
  o.groups.forEach((g, gi) => {
    const gx = f.left + gi * groupW + groupW * 0.1;
    o.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined) return;
      const x = gx + si * barW;
      body += `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${colorOf(s, si)}"><title>${escapeXml(`${s.name} · ${g}: ${v.toFixed(3)}`)}</title></rect>`;
    });
    body += `<text x="${(f.left + gi * groupW + groupW / 2).toFixed(1)}" y="${f.height - f.bottom + 16}" class="tick" text-anchor="middle">${escapeXml(g)}</text>`;
  });
  if (o.refLine !== undefined) body += `<line x1="${f.left}" x2="${f.width - f.right}" y1="${y(o.refLine).toFixed(1)}" y2="${y(o.refLine).toFixed(1)}" class="ref"/>`;
  body += legend(f, o.series);
  return frameSvg(o.title, f, body);
}

export interface LineSeries {
  name: string;
  color?: string;
  points: [number, number][];
}

/** Lines (with dots when sparse); empty series still get a legend entry. */
export function lineChart(o: { title: string; series: LineSeries[]; xLabel: string; yLabel: string; yMin?: number; yMax?: number; xMin?: number; xMax?: number }): string {
  const f = FRAME;
  const xMax = o.xMax;
  const series = xMax === undefined ? o.series : o.series.map((s) => ({ ...s, points: s.points.filter((p) => p[0] <= xMax) }));
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return frameSvg(o.title, f, `<text x="${f.left}" y="${f.top + 30}" class="label">no data</text>`);
  const xLo = o.xMin ?? Math.min(...pts.map((p) => p[0]));
  const xHi = xMax ?? Math.max(...pts.map((p) => p[0]));
  const yLo = o.yMin ?? Math.min(0, ...pts.map((p) => p[1]));
  const yHi = o.yMax ?? Math.max(...pts.map((p) => p[1])) * 1.05;
  const yTicks = niceTicks(yLo, yHi);
  const xTicks = niceTicks(xLo, xHi, 6);
  const yTop = Math.max(yHi, yTicks[yTicks.length - 1]);
  const xRight = Math.max(xHi, xTicks[xTicks.length - 1]);
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const x = (v: number) => f.left + (plotW * (v - xLo)) / (xRight - xLo || 1);
  const y = (v: number) => f.top + plotH * (1 - (v - yLo) / (yTop - yLo || 1));
  let body = axes(f, yTicks, y, o.yLabel, o.xLabel);
  for (const t of xTicks) body += `<text x="${x(t).toFixed(1)}" y="${f.height - f.bottom + 16}" class="tick" text-anchor="middle">${fmt(t)}</text>`;
  series.forEach((s, i) => {
    const color = colorOf(s, i);
    if (s.points.length === 0) return;
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    body += `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"><title>${escapeXml(s.name)}</title></path>`;
    if (s.points.length <= 24) for (const p of s.points) body += `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2.5" fill="${color}"/>`;
  });
  body += legend(f, series);
  return frameSvg(o.title, f, body);
}
