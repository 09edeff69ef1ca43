// The playground's controller: reads the form, streams a completion with token_details, colours the tokens
// as they arrive, keeps the speculation panel live, and runs the side-by-side comparison.
import { ApiError, apiKey, modelId, setApiKey, stream } from './api.js';
import { barChart, sparkline } from './charts.js';
import { LiveStats } from './live-stats.js';
import { addToken, recolour, renderLegend, showTooltip } from './tokens.js';

const $ = (id) => document.getElementById(id);
const state = { view: 'logprob', drafters: new Set(), controller: null };

function fail(e) {
  if (e.name === 'AbortError') return;
  const box = $('error');
  box.textContent = e.message;
  box.hidden = false;
  if (e instanceof ApiError && e.status === 401) needKey();
}

function needKey() {
  $('key-note').hidden = false;
  $('key-box').classList.add('needs-key');
  $('api-key').focus();
}

async function checkServer() {
  try {
    $('model').textContent = await modelId();
    $('key-note').hidden = true;
    $('key-box').classList.remove('needs-key');
  } catch (e) {
    $('model').textContent = '';
    fail(e);
  }
}

const num = (id) => ($(id).value === '' ? undefined : Number($(id).value));

/** The request body from the form; speculation: true/false overrides the checkbox. */
function requestBody(speculation = $('spec-on').checked) {
  const chat = document.querySelector('input[name=mode]:checked').value === 'chat';
  const prompt = $('prompt').value;
  const drafters = [...document.querySelectorAll('input[name=drafter]:checked')].map((x) => x.value);
  const spec = { enabled: speculation };
  if (speculation && drafters.length) spec.drafters = drafters;
  if (speculation && num('max-tree') !== undefined) spec.max_tree_tokens = num('max-tree');
  const body = {
    ...(chat ? { messages: [{ role: 'user', content: prompt }] } : { prompt }),
    max_tokens: num('max-tokens'),
    temperature: num('temperature'),
    top_p: num('top-p'),
    top_k: num('top-k'),
    token_details: true,
    stream_options: { include_usage: true },
    speculation: spec,
  };
  if (num('seed') !== undefined) body.seed = num('seed');
  return { path: chat ? '/v1/chat/completions' : '/v1/completions', body };
}

function renderScores(s) {
  $('scores').textContent = `mean entropy ${s.mean_entropy.toFixed(3)} nats · perplexity ${s.perplexity.toFixed(3)} · sequence probability ${s.max_sequence_probability.toExponential(3)}`;
}

/** The panel from live stats, or from the API's final speculation object. */
function renderPanel(live, tokensPerS, final) {
  const panel = $('panel');
  $('stat-tps').textContent = tokensPerS.toFixed(1);
  $('stat-tokens').textContent = String(live.tokens);
  const mal = final ? final.mean_accepted_length : live.meanAcceptedLength();
  $('stat-mal').textContent = mal.toFixed(2);
  $('stat-steps').textContent = String(final ? final.steps : live.steps.size);
  barChart($('chart-depth'), final ? final.acceptance_by_depth : live.acceptanceByDepth());
  sparkline($('chart-tree'), final ? final.tree_sizes : live.treeSizes());
  panel.dataset.source = final ? 'api' : 'live';
}

/** In completion mode, the prompt in grey before the tokens. */
function echoPrompt(into, body) {
  into.replaceChildren();
  if (body.prompt === undefined) return;
  const span = document.createElement('span');
  span.className = 'prompt-echo';
  span.textContent = body.prompt;
  into.append(span);
}

/** Streams one request into `into`; returns { text, details, ms, speculation, scores }. */
async function runInto(into, path, body, onProgress) {
  echoPrompt(into, body);
  const t0 = performance.now();
  const live = new LiveStats();
  const out = { text: '', details: [], ms: 0, speculation: null, scores: null, live };
  let frame = 0;
  const tick = () => {
    frame = 0;
    onProgress?.(live, (1000 * live.tokens) / (performance.now() - t0), null);
  };
  await stream(path, body, (event) => {
    if (event.speculation) out.speculation = event.speculation;
    const c = event.choices?.[0];
    if (!c) return;
    out.text += c.text ?? c.delta?.content ?? '';
    for (const d of c.token_details ?? []) {
      out.details.push(d);
      live.add(d);
      if (d.provenance !== 'bonus') for (const n of d.provenance.drafters) state.drafters.add(n);
      addToken(into, d, into.dataset.view ?? state.view);
    }
    if (c.sequence_scores) out.scores = c.sequence_scores;
    if (!frame) frame = requestAnimationFrame(tick);
  }, state.controller.signal);
  if (frame) cancelAnimationFrame(frame);
  out.ms = performance.now() - t0;
  onProgress?.(live, (1000 * live.tokens) / out.ms, out.speculation);
  return out;
}

async function guarded(fn) {
  $('error').hidden = true;
  state.controller = new AbortController();
  $('stop').disabled = false;
  $('run').disabled = $('compare').disabled = true;
  document.body.dataset.state = 'running';
  try {
    await fn();
    document.body.dataset.state = 'done';
  } catch (e) {
    fail(e);
    document.body.dataset.state = 'failed';
  } finally {
    $('stop').disabled = true;
    $('run').disabled = $('compare').disabled = false;
  }
}

function run() {
  return guarded(async () => {
    $('side').hidden = true;
    $('main-out').hidden = false;
    $('scores').textContent = '';
    state.drafters.clear();
    const { path, body } = requestBody();
    const out = await runInto($('text'), path, body, (live, tps, final) => {
      renderPanel(live, tps, final);
      renderLegend($('legend'), state.view, [...state.drafters]);
    });
    if (out.scores) renderScores(out.scores);
  });
}

function compare() {
  return guarded(async () => {
    $('side').hidden = false;
    $('main-out').hidden = true;
    state.drafters.clear();
    const results = {};
    for (const [name, on] of [['on', true], ['off', false]]) {
      const col = $(`side-${name}`);
      const into = col.querySelector('.text');
      into.dataset.view = 'provenance';
      col.querySelector('.time').textContent = '…';
      const { path, body } = requestBody(on);
      const out = await runInto(into, path, body, on ? (live, tps, final) => renderPanel(live, tps, final) : undefined);
      col.querySelector('.time').textContent = `${(out.ms / 1000).toFixed(2)} s · ${((1000 * out.details.length) / out.ms).toFixed(0)} tok/s`;
      col.dataset.ms = String(out.ms);
      results[name] = out;
    }
    renderLegend($('legend'), 'provenance', [...state.drafters]);
    const same = results.on.text === results.off.text;
    const verdict = $('side-verdict');
    verdict.dataset.identical = String(same);
    verdict.textContent = same
      ? `Identical text (${results.on.details.length} tokens); speculation took ${(results.on.ms / results.off.ms).toFixed(2)}× the time of plain decoding.`
      : 'The texts differ: sampling without a seed draws differently each run (set temperature 0 or a seed).';
  });
}

function init() {
  $('api-key').value = apiKey();
  $('api-key').addEventListener('change', () => {
    setApiKey($('api-key').value.trim());
    checkServer();
  });
  $('form').addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  $('compare').addEventListener('click', compare);
  $('stop').addEventListener('click', () => state.controller?.abort());
  $('spec-on').addEventListener('change', () => ($('drafters').disabled = !$('spec-on').checked));
  for (const r of document.querySelectorAll('input[name=view]')) {
    r.addEventListener('change', () => {
      state.view = r.value;
      recolour($('text'), state.view);
      renderLegend($('legend'), state.view, [...state.drafters]);
    });
  }
  const tip = $('tooltip');
  document.addEventListener('mouseover', (e) => {
    const span = e.target.closest?.('.tok');
    if (span) showTooltip(tip, span);
    else tip.hidden = true;
  });
  renderLegend($('legend'), state.view, []);
  checkServer();
}

init();
