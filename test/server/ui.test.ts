// The built-in playground (server/routes/ui.ts, server/ui/): served offline, open without the API key,
// off with --no-ui; and driven in headless Chromium (playwright-core + Debian's `chromium`): coloured tokens,
// tooltips and the speculation panel agree with the API, the side-by-side run, the API key prompt.
// Screenshots go to .tap/screenshots/; with SPRIG_SCREENSHOTS=1 (and ../shared present) to docs/, for the README.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Browser, Page } from 'playwright-core';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';
import { createEngine } from '../../server/engine.ts';
import { hasStories, STORIES } from '../helpers/models.ts';
import { buildTestApp, listen, MODEL_ID, spyGenerate, testEngine } from './helpers.ts';

const UI_DIR = path.resolve(import.meta.dirname, '../../server/ui');
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const SHOTS = path.resolve(import.meta.dirname, '../../.tap/screenshots');
const README_SHOTS = process.env.SPRIG_SCREENSHOTS === '1' ? DOCS : SHOTS;
fs.mkdirSync(SHOTS, { recursive: true });
const PROMPT = 'the cat sat on the mat. the cat sat on the mat. the cat';

t.test('served by the server: /, /ui and its files, a strict CSP, no address outside this server', async (t) => {
  const app = await buildTestApp(t);
  for (const url of ['/', '/ui']) {
    const res = await app.inject({ url });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], /text\/html/);
    t.match(res.headers['content-security-policy'], /default-src 'none'; script-src 'self'/);
  }
  const html = (await app.inject({ url: '/' })).payload;
  for (const ref of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    t.match(ref[1], /^\/ui\//, `${ref[1]} is served here`);
    t.equal((await app.inject({ url: ref[1] })).statusCode, 200);
  }
  t.match((await app.inject({ url: '/ui/app.js' })).headers['content-type'], /text\/javascript/);
  for (const f of fs.readdirSync(UI_DIR)) {
    // The SVG namespace is a name, not a fetch; any other http(s) address would need the network.
    const body = fs.readFileSync(path.join(UI_DIR, f), 'utf8').replaceAll('http://www.w3.org/2000/svg', '');
    t.notMatch(body, /https?:\/\//, `${f} has no outside address`);
  }
});

t.test('--no-ui leaves the routes out; with --api-key the page loads without it but the API does not', async (t) => {
  const off = await buildTestApp(t, { ui: false });
  t.equal((await off.inject({ url: '/' })).statusCode, 404);
  t.equal((await off.inject({ url: '/ui/app.js' })).statusCode, 404);
  const keyed = await buildTestApp(t, { apiKey: 'sekret' });
  t.equal((await keyed.inject({ url: '/' })).statusCode, 200);
  t.equal((await keyed.inject({ url: '/ui/api.js' })).statusCode, 200);
  t.equal((await keyed.inject({ url: '/v1/models' })).statusCode, 401);
});

/** Debian's chromium (or SPRIG_CHROMIUM), and playwright-core to drive it; null (with why) when either is missing. */
async function launch(): Promise<{ browser: Browser } | { why: string }> {
  const exe = [process.env.SPRIG_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && fs.existsSync(p));
  if (!exe) return { why: 'no Chromium (apt-get install chromium, or set SPRIG_CHROMIUM)' };
  try {
    const { chromium } = await import('playwright-core');
    return { browser: await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] }) };
  } catch (e) {
    return { why: `Chromium would not start: ${String(e).split('\n')[0]}` };
  }
}

const launched = await launch();
const why = 'why' in launched ? launched.why : false;
if (why) t.comment(`browser tests skipped: ${why}`);
const browser = 'browser' in launched ? launched.browser : null;
t.teardown(() => browser?.close());

/** A page on the playground; `errors` collects its script errors. */
async function openPage(t: Test, base: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  return { page, errors };
}

/** Clicks and waits for the run to end; returns the page's final state. */
async function runAndWait(page: Page, button: string): Promise<string> {
  await page.click(button);
  await page.waitForFunction(() => ['done', 'failed'].includes(document.body.dataset.state ?? ''), null, { timeout: 60_000 });
  return page.evaluate(() => document.body.dataset.state ?? '');
}

interface SpanInfo { text: string; id: number; logprob: number; step: number; provenance: string; background: string }

const spans = (page: Page, scope = '#text') => page.$$eval(`${scope} .tok`, (els) => els.map((e) => {
  const el = e as HTMLElement;
  return { text: el.textContent ?? '', id: Number(el.dataset.id), logprob: Number(el.dataset.logprob), step: Number(el.dataset.step), provenance: el.dataset.provenance ?? '', background: el.style.background };
})) as Promise<SpanInfo[]>;

t.test('in Chromium: coloured tokens, tooltips and the speculation panel agree with the API', { skip: why }, async (t) => {
  const spy = spyGenerate();
  const app = await buildTestApp(t, {}, testEngine({ generate: spy.generate }));
  const base = await listen(app);
  const { page, errors } = await openPage(t, base);
  await page.waitForFunction((id) => document.getElementById('model')?.textContent === id, MODEL_ID);
  t.ok(await page.isHidden('#key-note'), 'no key asked for when the server has none');
  await page.fill('#prompt', PROMPT);
  await page.fill('#max-tokens', '40');
  t.equal(await runAndWait(page, '#run'), 'done');

  const shown = await spans(page);
  const rec = spy.records[0].result!;
  t.equal(shown.length, rec.tokens.length, 'one coloured span per generated token');
  t.same(shown.map((s) => s.id), rec.tokens, 'the spans are the generated tokens');
  t.same(shown.map((s) => s.step), rec.tokenDetails!.map((d) => d.step), 'steps as the engine reported them');
  t.same(shown.map((s) => s.provenance), rec.tokenDetails!.map((d) => (d.provenance === 'bonus' ? 'bonus' : d.provenance.drafters.join('+'))), 'provenance as the engine reported it');
  t.ok(shown.some((s) => s.provenance !== 'bonus'), 'some tokens were drafted');
  t.ok(shown.every((s) => /^rgb/.test(s.background)), 'every token coloured by confidence');
  t.equal(await page.textContent('#text .prompt-echo'), PROMPT, 'the prompt, then the tokens');

  // The same prompt through the API without speculation: the same tokens and (to float rounding) logprobs.
  const api = await (await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: PROMPT, max_tokens: 40, temperature: 0, token_details: true, speculation: { enabled: false } }) })).json();
  const details = api.choices[0].token_details as { id: number; text: string; logprob: number; top: { text: string; logprob: number }[] }[];
  t.same(shown.map((s) => s.text), details.map((d) => d.text), 'token texts agree with the API');
  t.equal(shown.map((s) => s.text).join(''), api.choices[0].text, 'the spans are the text');
  t.ok(shown.every((s, i) => Math.abs(s.logprob - details[i].logprob) < 1e-5), 'logprobs agree with the API');

  // Tooltip: the top alternatives with probabilities, depth or bonus, and the step.
  const k = shown.findIndex((s) => s.provenance !== 'bonus');
  await page.hover(`#text .tok >> nth=${k}`);
  await page.waitForSelector('#tooltip:not([hidden])');
  const tip = await page.$eval('#tooltip', (el) => ({ meta: el.querySelector('.tip-meta')!.textContent, rows: [...el.querySelectorAll('tr')].map((r) => r.querySelector('.p')!.textContent) }));
  t.equal(tip.rows.length, 5, 'five alternatives');
  t.same(tip.rows, details[k].top.map((x) => `${(100 * Math.exp(x.logprob)).toFixed(1)}%`), 'their probabilities are the API\'s');
  const d = rec.tokenDetails![k];
  t.match(tip.meta, `depth ${d.provenance !== 'bonus' && d.provenance.depth} · step ${d.step}`);
  await page.screenshot({ path: path.join(SHOTS, 'test-playground.png') });
  t.ok(fs.statSync(path.join(SHOTS, 'test-playground.png')).size > 10_000, 'screenshot saved');

  // The panel ends on the API's own speculation object.
  const spec = rec.speculation!;
  t.equal(await page.getAttribute('#panel', 'data-source'), 'api');
  t.equal(await page.textContent('#stat-mal'), spec.mean_accepted_length.toFixed(2), 'mean accepted length');
  t.equal(await page.textContent('#stat-steps'), String(spec.steps), 'steps');
  const bars = await page.$$eval('#chart-depth rect', (rs) => rs.map((r) => Number(r.getAttribute('data-value'))));
  t.same(bars, spec.acceptance_by_depth.slice(0, 16), 'acceptance by depth bars');
  t.equal(Number(await page.getAttribute('#chart-tree polyline', 'data-count')), spec.tree_sizes.length, 'one sparkline point per step');

  // Provenance view: drafted tokens take their drafter's colour, bonus tokens stay plain.
  await page.check('input[name=view][value=provenance]');
  const byProv = await spans(page);
  t.ok(byProv.every((s) => (s.provenance === 'bonus') === (s.background === '')), 'only drafted tokens coloured');
  t.ok(await page.isVisible('#legend .swatch.plain'), 'legend shows bonus tokens');

  // Side by side: the same text with speculation on and off, and the time each took.
  t.equal(await runAndWait(page, '#compare'), 'done');
  t.equal(await page.getAttribute('#side-verdict', 'data-identical'), 'true', 'identical text');
  const on = await spans(page, '#side-on');
  const off = await spans(page, '#side-off');
  t.same(on.map((s) => s.text), off.map((s) => s.text));
  t.ok(Number(await page.getAttribute('#side-on', 'data-ms')) > 0 && Number(await page.getAttribute('#side-off', 'data-ms')) > 0, 'both timed');
  t.ok(off.every((s) => s.provenance === 'bonus'), 'speculation off: every token the target\'s');
  t.same(errors, [], 'no script errors');
});

t.test('in Chromium: with --api-key the page asks for the key and sends it', { skip: why }, async (t) => {
  const app = await buildTestApp(t, { apiKey: 'sekret' });
  const base = await listen(app);
  const { page, errors } = await openPage(t, base);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.waitForSelector('#key-note:not([hidden])');
  t.ok(await page.$('#key-box.needs-key'), 'the key field is flagged');
  await page.fill('#max-tokens', '8');
  t.equal(await runAndWait(page, '#run'), 'failed', 'a run without the key fails');
  t.match(await page.textContent('#error'), /API key/);
  await page.fill('#api-key', 'sekret');
  await page.dispatchEvent('#api-key', 'change');
  await page.waitForFunction((id) => document.getElementById('model')?.textContent === id, MODEL_ID);
  t.ok(await page.isHidden('#key-note'), 'accepted');
  t.equal(await runAndWait(page, '#run'), 'done', 'the run sends the key');
  t.equal((await spans(page)).length, 8);
  t.same(errors, [], 'no script errors');
});

t.test('in Chromium on stories260K: the README screenshots', { skip: why || (!hasStories && 'no ../shared/models') }, async (t) => {
  const runner = await ModelRunner.load(STORIES, { threads: 1 });
  const tokenizer = await loadTokenizer(STORIES, runner.source.generationConfig);
  const app = await buildTestApp(t, {}, createEngine({ runner, tokenizer, modelId: 'stories260K', dispose: async () => runner.dispose() }));
  const base = await listen(app);
  const { page, errors } = await openPage(t, base);
  await page.waitForFunction(() => document.getElementById('model')?.textContent === 'stories260K');
  await page.fill('#prompt', 'Once upon a time, there was a little girl named Lily. She loved to play');
  await page.fill('#max-tokens', '160');
  t.equal(await runAndWait(page, '#run'), 'done');
  const shown = await spans(page);
  t.ok(shown.length > 20);
  await page.hover(`#text .tok >> nth=${Math.floor(shown.length * 0.6)}`);
  await page.waitForSelector('#tooltip:not([hidden])');
  await page.screenshot({ path: path.join(README_SHOTS, 'playground-confidence.png') });
  await page.mouse.move(0, 0);
  await page.check('input[name=view][value=provenance]');
  t.equal(await runAndWait(page, '#compare'), 'done');
  t.equal(await page.getAttribute('#side-verdict', 'data-identical'), 'true');
  await page.screenshot({ path: path.join(README_SHOTS, 'playground-provenance.png'), fullPage: true });
  t.ok(fs.statSync(path.join(README_SHOTS, 'playground-provenance.png')).size > 10_000, `screenshots in ${README_SHOTS}`);
  t.same(errors, [], 'no script errors');
});
