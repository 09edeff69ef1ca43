// Logprobs of generated tokens: the target's plain log-softmax at each position, the same whatever drafts
// were verified, with the top alternatives in order.
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { GREEDY } from '../../common/sampling.ts';
import { ModelRunner } from '../../model/runner.ts';
import { testModel } from '../helpers/models.ts';

t.test('speculative logprobs equal plain decoding\'s and a direct log-softmax', async (t) => {
  const runner = await ModelRunner.load(testModel('logprobs', { arch: 'llama', seed: 81, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 }), { threads: 1 });
  t.teardown(() => runner.dispose());
  const prompt = [1, 7, 8, 9, 7, 8, 9, 7];
  const N = 40;
  const base = await generate(runner, { promptTokens: prompt, maxTokens: N, sampling: GREEDY, eosIds: [], drafters: ['none'], logprobs: 3 });
  const req = { promptTokens: prompt, maxTokens: N, sampling: GREEDY, eosIds: [], drafters: ['recycling', 'lookup'], treeBudget: 16, logprobs: 3 };
  await generate(runner, req); // warms the recycling matrix
  const spec = await generate(runner, req);
  t.same(spec.tokens, base.tokens);
  t.ok(spec.speculation!.accepted > 0, 'drafts were accepted, so some logprobs came from tree rows');
  t.equal(base.logprobs!.length, N);
  for (let i = 0; i < N; i++) {
    t.ok(Math.abs(spec.logprobs![i].logprob - base.logprobs![i].logprob) < 1e-4, `token ${i}`);
    t.same(spec.logprobs![i].top.map((x) => x.token), base.logprobs![i].top.map((x) => x.token));
  }
  // Direct check of the first token: log-softmax of the prefill logits.
  const logits = await runner.prefill(runner.newCache(), prompt);
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((a, v) => a + Math.exp(v - max), 0));
  const first = base.logprobs![0];
  t.ok(Math.abs(first.logprob - (logits[base.tokens[0]] - lse)) < 1e-4);
  t.equal(first.top[0].token, base.tokens[0], 'greedy: the chosen token is the most likely');
  t.ok(first.top[0].logprob >= first.top[1].logprob && first.top[1].logprob >= first.top[2].logprob);
  const none = await generate(runner, { promptTokens: prompt, maxTokens: 3, sampling: GREEDY, eosIds: [] });
  t.equal(none.logprobs, undefined, 'not asked, not computed');
  await t.rejects(generate(runner, { promptTokens: prompt, maxTokens: 3, sampling: GREEDY, logprobs: 50 }), { code: 'SPRIG_ERR_INVALID_PARAM' });
});
