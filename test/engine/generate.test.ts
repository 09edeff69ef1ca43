// Autoregressive generation: seeded sampling is reproducible, stops at eos or a stop sequence, honours max tokens.
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { GREEDY } from '../../common/sampling.ts';
import { ModelRunner } from '../../model/runner.ts';
import { testModel } from '../helpers/models.ts';

const runnerP = ModelRunner.load(testModel('gen', { arch: 'llama', seed: 61, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 }), { threads: 1 });
t.teardown(async () => (await runnerP).dispose());
const PROMPT = [1, 20, 21, 22];

t.test('seeded sampling is reproducible; different seeds differ', async (t) => {
  const runner = await runnerP;
  const sampling = { temperature: 1.2, topK: 0, topP: 1 };
  for (const drafters of [['none'], ['recycling', 'lookup']]) {
    const a = await generate(runner, { promptTokens: PROMPT, maxTokens: 24, sampling: { ...sampling, seed: 7 }, eosIds: [], drafters });
    const b = await generate(runner, { promptTokens: PROMPT, maxTokens: 24, sampling: { ...sampling, seed: 7 }, eosIds: [], drafters });
    const c = await generate(runner, { promptTokens: PROMPT, maxTokens: 24, sampling: { ...sampling, seed: 8 }, eosIds: [], drafters });
    t.same(a.tokens, b.tokens, `${drafters}: same seed, same tokens`);
    t.not(a.tokens.join(), c.tokens.join(), `${drafters}: another seed, other tokens`);
  }
});

t.test('a seeded request gives the same tokens with any drafter and budget as plain seeded decoding', async (t) => {
  const runner = await runnerP;
  for (const seed of [1, 2, 3]) {
    const sampling = { temperature: 0.8, topK: 20, topP: 0.9, seed };
    const base = await generate(runner, { promptTokens: PROMPT, maxTokens: 30, sampling, eosIds: [], drafters: ['none'] });
    for (const [drafters, treeBudget] of [[['recycling'], 80], [['lookup', 'recycling'], 'auto'], [['recycling'], 4]] as const) {
      const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 30, sampling, eosIds: [], drafters: [...drafters], treeBudget });
      t.same(r.tokens, base.tokens, `seed ${seed}: ${drafters.join('+')} budget ${treeBudget}`);
    }
  }
});

t.test('top-k 1 is greedy; top-p keeps the nucleus', async (t) => {
  const runner = await runnerP;
  const greedy = await generate(runner, { promptTokens: PROMPT, maxTokens: 16, sampling: GREEDY, eosIds: [], drafters: ['none'] });
  const k1 = await generate(runner, { promptTokens: PROMPT, maxTokens: 16, sampling: { temperature: 1, topK: 1, topP: 1, seed: 3 }, eosIds: [], drafters: ['none'] });
  t.same(k1.tokens, greedy.tokens);
  const tinyP = await generate(runner, { promptTokens: PROMPT, maxTokens: 16, sampling: { temperature: 1, topK: 0, topP: 1e-6, seed: 3 }, eosIds: [], drafters: ['none'] });
  t.same(tinyP.tokens, greedy.tokens, 'top-p → 0 keeps only the most likely token');
});

t.test('stops: eos, stop sequences, max tokens', async (t) => {
  const runner = await runnerP;
  const free = await generate(runner, { promptTokens: PROMPT, maxTokens: 20, sampling: GREEDY, eosIds: [], drafters: ['none'] });
  t.equal(free.finishReason, 'length');
  t.equal(free.tokens.length, 20);
  const eos = free.tokens[5];
  const first = free.tokens.indexOf(eos);
  const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 20, sampling: GREEDY, eosIds: [eos], drafters: ['recycling', 'lookup'] });
  t.equal(r.finishReason, 'stop');
  t.same(r.tokens, free.tokens.slice(0, first), 'eos ends generation and is not emitted');
  const seq = free.tokens.slice(8, 10);
  const s = await generate(runner, { promptTokens: PROMPT, maxTokens: 20, sampling: GREEDY, eosIds: [], stopSequences: [seq], drafters: ['lookup'] });
  t.equal(s.finishReason, 'stop');
  const at = free.tokens.findIndex((x, i) => x === seq[0] && free.tokens[i + 1] === seq[1]);
  t.same(s.tokens, free.tokens.slice(0, at), 'the stop sequence is cut off');
  const streamed: number[] = [];
  const one = await generate(runner, { promptTokens: [7], maxTokens: 5, sampling: GREEDY, eosIds: [], drafters: ['recycling'] }, (tok) => streamed.push(...tok));
  t.same(streamed, one.tokens, 'onTokens sees exactly the emitted tokens');
  t.ok(one.timings.decode_ms > 0 && one.timings.tokens_per_s > 0);
});

t.test('cancellation stops at the next step', async (t) => {
  const runner = await runnerP;
  const ac = new AbortController();
  let steps = 0;
  const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 100, sampling: GREEDY, eosIds: [], drafters: ['none'], signal: ac.signal }, () => {
    if (++steps === 3) ac.abort();
  });
  t.equal(r.finishReason, 'cancelled');
  t.equal(r.tokens.length, 3);
});

t.test('logit_bias shifts the target at every position, losslessly under speculation', async (t) => {
  const runner = await runnerP;
  const plain = await generate(runner, { promptTokens: PROMPT, maxTokens: 12, sampling: GREEDY, eosIds: [], drafters: ['none'] });
  const forced = await generate(runner, { promptTokens: PROMPT, maxTokens: 12, sampling: { ...GREEDY, logitBias: [[42, 100]] }, eosIds: [], drafters: ['none'] });
  t.same(forced.tokens, Array(12).fill(42), '+100 forces the token');
  const banned = plain.tokens[0];
  for (const drafters of [['none'], ['recycling', 'lookup']]) {
    const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 24, sampling: { ...GREEDY, logitBias: [[banned, -100]] }, eosIds: [], drafters });
    t.notOk(r.tokens.includes(banned), `${drafters}: −100 bans the token`);
    if (drafters[0] !== 'none') {
      const base = await generate(runner, { promptTokens: PROMPT, maxTokens: 24, sampling: { ...GREEDY, logitBias: [[banned, -100]] }, eosIds: [], drafters: ['none'] });
      t.same(r.tokens, base.tokens, 'speculative output equals plain decoding under the same bias');
    }
  }
  await t.rejects(generate(runner, { promptTokens: PROMPT, maxTokens: 2, sampling: { ...GREEDY, logitBias: [[99999, 1]] } }), { code: 'SPRIG_ERR_INVALID_PARAM', param: 'logit_bias' });
});

t.test('presence/frequency penalties follow each node\'s own path: speculative output equals plain decoding', async (t) => {
  const runner = await runnerP;
  const loopy = [1, 5, 6, 5, 6, 5, 6, 5];
  const big = await generate(runner, { promptTokens: loopy, maxTokens: 30, sampling: { ...GREEDY, presencePenalty: 100 }, eosIds: [], drafters: ['none'] });
  t.equal(new Set(big.tokens).size, big.tokens.length, 'a huge presence penalty never repeats a generated token');
  for (const sampling of [{ ...GREEDY, frequencyPenalty: 0.7 }, { ...GREEDY, presencePenalty: 0.5, frequencyPenalty: 0.3 }, { ...GREEDY, frequencyPenalty: -0.5 }]) {
    const base = await generate(runner, { promptTokens: loopy, maxTokens: 40, sampling, eosIds: [], drafters: ['none'] });
    const plainNoPenalty = await generate(runner, { promptTokens: loopy, maxTokens: 40, sampling: GREEDY, eosIds: [], drafters: ['none'] });
    if ((sampling.frequencyPenalty ?? 0) > 0) t.not(base.tokens.join(), plainNoPenalty.tokens.join(), 'the penalty changes the text');
    for (const drafters of [['recycling', 'lookup'], ['lookup']]) {
      await generate(runner, { promptTokens: loopy, maxTokens: 40, sampling, eosIds: [], drafters, treeBudget: 16 }); // warm
      const r = await generate(runner, { promptTokens: loopy, maxTokens: 40, sampling, eosIds: [], drafters, treeBudget: 16 });
      t.same(r.tokens, base.tokens, `${drafters} with ${JSON.stringify(sampling)}`);
    }
  }
});
