// The draft-model drafter: lossless under greedy decoding, its KV cache in step with the target's commits,
// and a vocabulary check that fails at startup naming the first difference.
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { loadEngine } from '../../engine/load.ts';
import { GREEDY } from '../../common/sampling.ts';
import { ModelRunner } from '../../model/runner.ts';
import { makeTestModel } from '../../model/make-test-model.ts';
import { testModel, truncatedDraft, hasStories, STORIES, STORIES_DRAFT } from '../helpers/models.ts';

const TARGET = { arch: 'llama' as const, seed: 41, layers: 3, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 };

t.test('greedy output with the draft drafter equals plain decoding (test model, first-layer draft)', async (t) => {
  const dir = testModel('draft-target', TARGET);
  const target = await ModelRunner.load(dir, { threads: 1 });
  const draft = await ModelRunner.load(truncatedDraft(dir, 1), { threads: 1 });
  t.teardown(async () => {
    await target.dispose();
    await draft.dispose();
  });
  for (const prompt of [[1, 9, 8, 7], [1, 40, 41, 42, 43, 40, 41], [5]]) {
    const base = await generate(target, { promptTokens: prompt, maxTokens: 40, sampling: GREEDY, eosIds: [], drafters: ['none'] });
    for (const [drafters, treeBudget] of [[['draft'], 16], [['draft'], 3], [['draft', 'lookup', 'recycling', 'retrieval'], 24], [['draft', 'retrieval'], 'auto']] as const) {
      const r = await generate(target, { promptTokens: prompt, maxTokens: 40, sampling: GREEDY, eosIds: [], drafters: [...drafters], treeBudget }, undefined, { draft });
      t.same(r.tokens, base.tokens, `${drafters.join('+')} budget ${treeBudget}, prompt ${prompt.join(' ')}`);
      // 'auto' sizes trees from this machine's timings (it may draft nothing under load): equality is what it owes.
      if (treeBudget !== 'auto') t.ok(r.speculation!.accepted > 0 && r.speculation!.accepted < r.speculation!.drafted, `partial acceptance ${r.speculation!.accepted}/${r.speculation!.drafted}`);
    }
  }
});

t.test('a draft identical to the target is always accepted at depth 1: the draft KV stays in step', async (t) => {
  const dir = testModel('draft-target', TARGET);
  const target = await ModelRunner.load(dir, { threads: 1 });
  const draft = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(async () => {
    await target.dispose();
    await draft.dispose();
  });
  const r = await generate(target, { promptTokens: [1, 2, 3, 4, 5], maxTokens: 60, sampling: GREEDY, eosIds: [], drafters: ['draft'], treeBudget: 12 }, undefined, { draft });
  const s = r.speculation!;
  t.equal(s.acceptance_by_depth[0], 1, 'every step accepted its depth-1 draft');
  // If the draft's KV ever fell out of step with the committed tokens, its argmax would miss the target's.
  t.ok(s.mean_accepted_length >= 2, `mean accepted length ${s.mean_accepted_length.toFixed(2)}`);
});

t.test('stories260K: greedy equality with the q4 draft and with a first-2-layers draft', { skip: !hasStories && 'no ../shared/models' }, async (t) => {
  const target = await ModelRunner.load(STORIES, { threads: 1 });
  const q4 = await ModelRunner.load(STORIES_DRAFT, { threads: 1 });
  const first2 = await ModelRunner.load(truncatedDraft(STORIES, 2), { threads: 1 });
  t.teardown(async () => {
    await target.dispose();
    await q4.dispose();
    await first2.dispose();
  });
  const prompts = [[1, 403, 407, 261, 378], [1, 411, 322, 265, 282], [1, 376, 298, 315, 421, 395]];
  for (const prompt of prompts) {
    const base = await generate(target, { promptTokens: prompt, maxTokens: 128, sampling: GREEDY, drafters: ['none'] });
    for (const [name, draft] of [['q4', q4], ['first2', first2]] as const) {
      const r = await generate(target, { promptTokens: prompt, maxTokens: 128, sampling: GREEDY, drafters: ['draft'], treeBudget: 16 }, undefined, { draft });
      t.same(r.tokens, base.tokens, `${name} draft, prompt ${prompt.join(' ')}`);
      const s = r.speculation!;
      t.ok(s.accepted < s.drafted, `${name}: accepted ${s.accepted}/${s.drafted}, mean accepted length ${s.mean_accepted_length.toFixed(2)}`);
    }
  }
});

t.test('vocabulary mismatch fails at startup naming the first difference', async (t) => {
  const dir = testModel('draft-target', TARGET);
  const bigger = testModel('draft-vocab320', { ...TARGET, vocab: 320 });
  await t.rejects(loadEngine({ model: dir, draft: bigger, threads: 1 }), { code: 'SPRIG_ERR_VOCAB_MISMATCH', message: /vocab_size 320 vs 300/ });
  const root = t.testdir();
  makeTestModel(`${root}/gpt2`, { arch: 'gpt2', seed: 1, layers: 1, hidden: 16, heads: 2, vocab: 300 });
  await t.rejects(loadEngine({ model: dir, draft: `${root}/gpt2`, threads: 1 }), { code: 'SPRIG_ERR_VOCAB_MISMATCH', message: /(bos id|eos ids|token 0 is)/ });
  const ok = await loadEngine({ model: dir, draft: truncatedDraft(dir, 1), threads: 1 });
  t.ok(ok.resources.draft, 'same vocabulary loads');
  await ok.dispose();
  await t.rejects(generate(ok.runner, { promptTokens: [1, 2], maxTokens: 2, sampling: GREEDY, drafters: ['draft'] }), { message: /needs a draft model/ });
});
