// GET /metrics: every metric the issue names, fed by real requests; spec-decode counters from the
// engine's SpeculationStats; running/waiting gauges while requests are in flight.
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { emptyStats, type SpeculationStats } from '../../engine/stats.ts';
import type { GenerateFn } from '../../server/engine.ts';
import { buildTestApp, sleep, spyGenerate, testEngine } from './helpers.ts';

const NAMES = [
  'sprig_requests_total', 'sprig_prompt_tokens_total', 'sprig_generation_tokens_total',
  'sprig_time_to_first_token_seconds', 'sprig_inter_token_latency_seconds', 'sprig_e2e_request_latency_seconds',
  'sprig_num_requests_running', 'sprig_num_requests_waiting',
  'sprig_spec_decode_num_drafts', 'sprig_spec_decode_num_draft_tokens', 'sprig_spec_decode_num_accepted_tokens',
  'sprig_spec_decode_num_accepted_tokens_per_pos',
];

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

const FAKE_STATS: SpeculationStats = {
  ...emptyStats(['lookup']),
  drafters: ['lookup'], steps: 4, drafted: 10, accepted: 6, mean_accepted_length: 2.5, acceptance_by_depth: [1, 0.5], accepted_by_depth: [4, 2],
  per_drafter: { lookup: { drafted: 10, accepted: 6 } }, draft_ms: 1, verify_ms: 2, other_ms: 0, mean_tree_size: 2.5,
};

t.test('counters and histograms follow the requests', async (t) => {
  const withStats: GenerateFn = async (runner, req, onTokens) => ({ ...(await generate(runner, req, onTokens)), speculation: FAKE_STATS });
  const app = await buildTestApp(t, {}, testEngine({ generate: withStats }));
  const a = (await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'Once upon a time', max_tokens: 10, temperature: 0 } })).json();
  const b = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: 0, stream: true } });
  t.equal(b.statusCode, 200);
  await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', bogus: 1 } });

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const text = res.payload;
  for (const name of NAMES) t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  t.equal(value(text, 'sprig_requests_total{endpoint="/v1/completions",status="200"}'), 1);
  t.equal(value(text, 'sprig_requests_total{endpoint="/v1/chat/completions",status="200"}'), 1, 'streams are counted');
  t.equal(value(text, 'sprig_requests_total{endpoint="/v1/completions",status="400"}'), 1);
  t.ok(value(text, 'sprig_prompt_tokens_total') >= a.usage.prompt_tokens);
  t.ok(value(text, 'sprig_generation_tokens_total') >= a.usage.completion_tokens);
  t.equal(value(text, 'sprig_e2e_request_latency_seconds_count'), 2);
  t.equal(value(text, 'sprig_time_to_first_token_seconds_count'), 2);
  t.ok(value(text, 'sprig_inter_token_latency_seconds_count') > 0);
  t.equal(value(text, 'sprig_spec_decode_num_drafts'), 8, 'two generations × 4 steps');
  t.equal(value(text, 'sprig_spec_decode_num_draft_tokens'), 20);
  t.equal(value(text, 'sprig_spec_decode_num_accepted_tokens'), 12);
  t.equal(value(text, 'sprig_spec_decode_num_accepted_tokens_per_pos{position="0"}'), 8);
  t.equal(value(text, 'sprig_spec_decode_num_accepted_tokens_per_pos{position="1"}'), 4);
  t.equal(value(text, 'sprig_num_requests_running'), 0);
  t.equal(value(text, 'sprig_num_requests_waiting'), 0);
  t.notMatch(text, /Once upon/, 'no prompt text in metrics');
});

t.test('running and waiting gauges while requests are in flight', async (t) => {
  const spy = spyGenerate(10);
  const app = await buildTestApp(t, { maxConcurrent: 1 }, testEngine({ generate: spy.generate }));
  const body = { prompt: 'Once upon a time', max_tokens: 30, temperature: 0 };
  const first = app.inject({ method: 'POST', url: '/v1/completions', payload: body });
  const second = app.inject({ method: 'POST', url: '/v1/completions', payload: body });
  while (app.sprig.scheduler.waiting < 1) await sleep(2);
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).payload;
  t.equal(value(text, 'sprig_num_requests_running'), 1);
  t.equal(value(text, 'sprig_num_requests_waiting'), 1);
  await Promise.all([first, second]);
  const after = (await app.inject({ method: 'GET', url: '/metrics' })).payload;
  t.equal(value(after, 'sprig_num_requests_running'), 0);
});
