// Two tiny SVG charts for the speculation panel: bars (acceptance by depth) and a sparkline (tree size per step).
const NS = 'http://www.w3.org/2000/svg';
const W = 240;
const H = 90;

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** values[d] in [0, 1] for depth d + 1; one bar each, labelled with its depth and percentage. */
export function barChart(svg, values) {
  svg.replaceChildren();
  if (!values.length) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'no drafts yet'));
    return;
  }
  const n = Math.min(values.length, 16);
  const slot = W / n;
  const top = 14;
  const bottom = H - 14;
  for (let i = 0; i < n; i++) {
    const v = Math.max(0, Math.min(1, values[i]));
    const h = (bottom - top) * v;
    const x = i * slot + slot * 0.15;
    svg.append(el('rect', { x, y: bottom - h, width: slot * 0.7, height: Math.max(h, 0.5), class: 'bar', 'data-depth': i + 1, 'data-value': values[i] }));
    svg.append(el('text', { x: x + slot * 0.35, y: H - 3, 'text-anchor': 'middle', class: 'axis' }, String(i + 1)));
    if (n <= 10) svg.append(el('text', { x: x + slot * 0.35, y: bottom - h - 2, 'text-anchor': 'middle', class: 'val' }, `${Math.round(100 * v)}%`));
  }
}

/** A line through values (one per step), the max labelled. */
export function sparkline(svg, values) {
  svg.replaceChildren();
  if (!values.length) return;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? W / (values.length - 1) : 0;
  const y = (v) => H - 6 - (H - 20) * (v / max);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  svg.append(el('polyline', { points, class: 'spark', 'data-count': values.length }));
  svg.append(el('text', { x: 2, y: 11, class: 'axis' }, `max ${max} nodes · ${values.length} steps`));
}
