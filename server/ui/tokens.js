// Coloured tokens: one <span class="tok"> per token_details entry, coloured by the current view
// (probability, entropy, or provenance), with a tooltip of its alternatives, depth and step.

/** Entropy at or above this many nats gets the darkest colour. */
export const ENTROPY_MAX = 4;

const DRAFTER_COLOURS = { recycling: '#7fb3e8', lookup: '#f2b46d', retrieval: '#c39be0', suffix: '#e89aa8', draft: '#79d0b4' };
const EXTRA_COLOURS = ['#b5d67a', '#9fc9cf', '#d6c27a'];

export function drafterColour(name) {
  if (DRAFTER_COLOURS[name]) return DRAFTER_COLOURS[name];
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return EXTRA_COLOURS[h % EXTRA_COLOURS.length];
}

/** Red (unlikely) → green (likely), for a value in [0, 1]. */
export function confidenceColour(x) {
  const v = Math.max(0, Math.min(1, x));
  return `hsl(${Math.round(120 * v)}, 70%, 82%)`;
}

/** The background a token gets in `view`; '' = plain. */
export function tokenColour(d, view) {
  if (view === 'logprob') return confidenceColour(Math.exp(d.logprob));
  if (view === 'entropy') return confidenceColour(1 - d.entropy / ENTROPY_MAX);
  return d.provenance === 'bonus' ? '' : drafterColour(d.provenance.drafters[0]);
}

/** Appends a token's span to `into`; the entry is kept on the element for the tooltip and recolouring. */
export function addToken(into, d, view) {
  const span = document.createElement('span');
  span.className = 'tok';
  span.textContent = d.text;
  span.detail = d;
  span.dataset.id = String(d.id);
  span.dataset.logprob = String(d.logprob);
  span.dataset.step = String(d.step);
  span.dataset.provenance = d.provenance === 'bonus' ? 'bonus' : d.provenance.drafters.join('+');
  span.style.background = tokenColour(d, view);
  into.append(span);
  return span;
}

export function recolour(container, view) {
  for (const span of container.querySelectorAll('.tok')) span.style.background = tokenColour(span.detail, view);
}

/** The legend for a view: a gradient for confidence, a swatch per drafter seen for provenance. */
export function renderLegend(el, view, drafters) {
  el.replaceChildren();
  const item = (colour, label) => {
    const s = document.createElement('span');
    s.className = 'swatch';
    if (colour) s.style.background = colour;
    else s.classList.add('plain');
    const l = document.createElement('span');
    l.textContent = label;
    el.append(s, l);
  };
  if (view === 'provenance') {
    for (const name of drafters) item(drafterColour(name), name);
    item('', 'bonus (the target\'s own token)');
    return;
  }
  const [lo, hi] = view === 'logprob' ? ['p = 0', 'p = 1'] : [`H ≥ ${ENTROPY_MAX} nats`, 'H = 0'];
  const bar = document.createElement('span');
  bar.className = 'gradient';
  const a = document.createElement('span');
  a.textContent = lo;
  const b = document.createElement('span');
  b.textContent = hi;
  el.append(a, bar, b);
}

const pct = (lp) => `${(100 * Math.exp(lp)).toFixed(1)}%`;
const show = (s) => JSON.stringify(s).slice(1, -1);

/** Fills the tooltip with a token's details and places it under the span. */
export function showTooltip(tip, span) {
  const d = span.detail;
  tip.replaceChildren();
  const head = document.createElement('div');
  head.className = 'tip-head';
  head.textContent = `"${show(d.text)}"  p ${pct(d.logprob)}`;
  const meta = document.createElement('div');
  meta.className = 'tip-meta';
  const prov = d.provenance === 'bonus' ? 'bonus (target)' : `${d.provenance.drafters.join(' + ')}, depth ${d.provenance.depth}`;
  meta.textContent = `logprob ${d.logprob.toFixed(3)} · entropy ${d.entropy.toFixed(3)} nats · margin ${d.margin.toFixed(3)}\n${prov} · step ${d.step} · tree ${d.tree_size} nodes`;
  const table = document.createElement('table');
  for (const alt of d.top) {
    const tr = document.createElement('tr');
    if (alt.id === d.id) tr.className = 'chosen';
    const name = document.createElement('td');
    name.textContent = `"${show(alt.text)}"`;
    const barCell = document.createElement('td');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, Math.round(80 * Math.exp(alt.logprob)))}px`;
    barCell.append(bar);
    const p = document.createElement('td');
    p.className = 'p';
    p.textContent = pct(alt.logprob);
    tr.append(name, barCell, p);
    table.append(tr);
  }
  tip.append(head, meta, table);
  tip.hidden = false;
  const r = span.getBoundingClientRect();
  tip.style.left = `${Math.min(window.innerWidth - tip.offsetWidth - 8, r.left + window.scrollX)}px`;
  tip.style.top = `${r.bottom + window.scrollY + 6}px`;
}
