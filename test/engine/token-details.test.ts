// engine/token-details.ts: row statistics against a float64 reference, sequence scores, and what generate()
// reports per token: the same row as logprobs, provenance and steps that add up to the speculation stats,
// and values that do not depend on speculation.
import t from 'tap';
import { GREEDY } from '../../common/sampling.ts';
import { generate } from '../../engine/generate.ts';
import { rowStats, sequenceScores, DETAIL_TOP_K, type TokenDetail } from '../../engine/token-details.ts';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer } from '../../model/tokenizer.ts';
import { Rng } from '../../common/rng.ts';
import { testModel } from '../helpers/models.ts';

/** Softmax, entropy, margin and top-k in float64, the obvious way. */
function reference(row: Float32Array, token: number, k: number) {
  const xs = Array.from(row);
  const m = Math.max(...xs);
  const z = xs.reduce((a, x) => a + Math.exp(x - m), 0);
  const lp = xs.map((x) => x - m - Math.log(z));
  const entropy = -lp.reduce((a, l) => a + (Number.isFinite(l) ? Math.exp(l) * l : 0), 0);
  const order = xs.map((_, i) => i).sort((a, b) => lp[b] - lp[a] || a - b);
  return { logprob: lp[token], entropy, margin: lp[order[0]] - lp[order[1]], top: order.slice(0, k).map((i) => ({ token: i, logprob: lp[i] })) };
}

t.test('rowStats matches a float64 reference (ties by lower id, -Infinity entries)', async (t) => {
  const rng = new Rng(5);
  for (const vocab of [2, 7, 300]) {
    const row = Float32Array.from({ length: vocab }, () => (rng.next() - 0.5) * 12);
    if (vocab > 7) {
      row[3] = row[9] = 9; // a tie at the top
      row[11] = -Infinity; // a banned token
    }
    const tok = vocab - 1;
    const got = rowStats(row, 0, vocab, tok);
    const want = reference(row, tok, Math.min(DETAIL_TOP_K, vocab));
    t.ok(Math.abs(got.logprob - want.logprob) < 1e-9, `logprob, vocab ${vocab}`);
    t.ok(Math.abs(got.entropy - want.entropy) < 1e-9, `entropy, vocab ${vocab}`);
    t.ok(Math.abs(got.margin - want.margin) < 1e-9, `margin, vocab ${vocab}`);
    t.same(got.top.map((x) => x.token), want.top.map((x) => x.token), `top ids, vocab ${vocab}`);
  }
  const uniform = rowStats(new Float32Array(64).fill(1.5), 0, 64, 0);
  t.ok(Math.abs(uniform.entropy - Math.log(64)) < 1e-12, 'uniform: log V nats');
  t.equal(uniform.margin, 0);
  const offset = Float32Array.of(100, 100, 0, 1, 2);
  t.same(rowStats(offset, 2, 3, 2).top.map((x) => x.token), [2, 1, 0], 'reads the row at its offset');
});

t.test('sequenceScores: mean entropy, perplexity, sequence probability', async (t) => {
  const s = sequenceScores([{ logprob: Math.log(0.5), entropy: 1 }, { logprob: Math.log(0.25), entropy: 2 }]);
  t.ok(Math.abs(s.mean_entropy - 1.5) < 1e-12);
  t.ok(Math.abs(s.perplexity - Math.sqrt(8)) < 1e-12, 'exp(-(ln .5 + ln .25)/2) = √8');
  t.ok(Math.abs(s.max_sequence_probability - 0.125) < 1e-12);
  t.ok(Math.abs(s.sequence_logprob - Math.log(0.125)) < 1e-12);
  t.same(sequenceScores([]), { mean_entropy: 0, perplexity: 1, sequence_logprob: 0, max_sequence_probability: 1 });
});

const dir = testModel('details-llama', { arch: 'llama', seed: 3, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 320, contextLength: 256 });

t.test('generate: details per token, provenance and steps add up to the speculation stats', async (t) => {
  const runner = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(() => runner.dispose());
  const tok = await loadTokenizer(dir, runner.source.generationConfig);
  // A repetitive prompt, so prompt lookup drafts and some drafts are accepted.
  const prompt = tok.encode('the cat sat on the mat. the cat sat on the mat. the cat sat on the mat. the cat');
  const base = { promptTokens: prompt, maxTokens: 60, sampling: GREEDY, eosIds: [] as number[] };
  const chunks: TokenDetail[][] = [];
  const spec = await generate(runner, { ...base, drafters: ['lookup', 'recycling'], logprobs: 2, tokenDetails: true }, (_tokens, _lps, d) => chunks.push(d!));
  const details = spec.tokenDetails!;
  t.equal(details.length, spec.tokens.length, 'one entry per token');
  t.same(chunks.flat(), details, 'onTokens carries each batch\'s entries');
  for (let i = 0; i < details.length; i++) {
    if (details[i].logprob !== spec.logprobs![i].logprob) t.fail(`token ${i}: details and logprobs read different rows`);
    if (details[i].top[0].token !== spec.tokens[i]) t.fail(`token ${i}: greedy emits the top token`);
  }
  const st = spec.speculation!;
  t.equal(details[details.length - 1].step, st.steps, 'steps are numbered 1..steps');
  const drafted = details.filter((d) => d.provenance !== 'bonus');
  t.equal(drafted.length, st.accepted, 'accepted drafts = tokens with drafter provenance');
  t.ok(drafted.length > 0, 'the repetitive prompt gets drafts accepted');
  for (const d of drafted) if (d.provenance !== 'bonus') t.ok(d.provenance.drafters.length > 0 && d.provenance.drafters.every((n) => ['lookup', 'recycling'].includes(n)));
  const bySteps = new Map<number, TokenDetail[]>();
  for (const d of details) bySteps.set(d.step, [...(bySteps.get(d.step) ?? []), d]);
  t.equal(bySteps.size, st.steps);
  // A step emits accepted drafts at depths 1, 2, …, then one bonus token, all with the step's tree size.
  const shapes = [...bySteps.values()].map((ds) => ds.map((d) => (d.provenance === 'bonus' ? 0 : d.provenance.depth)).join());
  t.same(shapes, [...bySteps.values()].map((ds) => [...ds.slice(0, -1).map((_, i) => i + 1), 0].join()), 'depths 1..k then the bonus, per step');
  t.ok([...bySteps.values()].every((ds) => ds.every((d) => d.treeSize === ds[0].treeSize && d.treeDepth >= ds.length - 1)), 'one tree size per step, deep enough');
  t.same([...bySteps.values()].map((ds) => ds[0].treeSize), st.tree_sizes, 'per-step tree sizes = speculation.tree_sizes');

  // Greedy: the same tokens and the same numbers without speculation (provenance and step aside). The target's
  // rows come from forwards of different sizes, whose products round differently (~1e-6), so compare to 1e-5.
  const plain = await generate(runner, { ...base, drafters: ['none'], tokenDetails: true });
  t.same(plain.tokens, spec.tokens, 'greedy text is the same');
  t.ok(plain.tokenDetails!.every((d) => d.provenance === 'bonus' && d.treeSize === 0), 'plain decoding: every token is the target\'s');
  let worst = 0;
  for (let i = 0; i < details.length; i++) {
    const a = details[i];
    const b = plain.tokenDetails![i];
    if (a.top.map((x) => x.token).join() !== b.top.map((x) => x.token).join()) t.fail(`token ${i}: top alternatives differ`);
    for (const [x, y] of [[a.logprob, b.logprob], [a.entropy, b.entropy], [a.margin, b.margin], ...a.top.map((x, j) => [x.logprob, b.top[j].logprob])]) worst = Math.max(worst, Math.abs(x - y));
  }
  t.ok(worst < 1e-5, `values agree with and without speculation (worst |Δ| ${worst.toExponential(1)})`);
  t.equal((await generate(runner, { ...base, maxTokens: 3 })).tokenDetails, undefined, 'absent unless asked');
});
