// The layerskip drafter (self-speculation through the target's early exits): lossless under greedy decoding on
// three architectures and stories260K; its draft head equals a plain forward of the truncated model (the TS
// reference over the first k layers); its trees equal the draft model's with the truncated model as the draft;
// it leaves the target's cache as it found it.
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { loadEngine } from '../../engine/load.ts';
import { GREEDY } from '../../common/sampling.ts';
import { Rng } from '../../common/rng.ts';
import { DraftModelDrafter } from '../../drafters/draft-model.ts';
import { LayerSkipDrafter } from '../../drafters/layerskip.ts';
import { ModelRunner, causalBias } from '../../model/runner.ts';
import { openModelSource } from '../../model/source.ts';
import { referenceForward } from '../helpers/reference-forward.ts';
import { maxDiff, spread } from '../helpers/logits.ts';
import { randomTree, treeBias, treePaths } from '../helpers/trees.ts';
import { testModel, truncatedDraft, hasStories, STORIES } from '../helpers/models.ts';

const ARCHS = {
  llama: { arch: 'llama' as const, seed: 51, layers: 3, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 },
  qwen2: { arch: 'qwen2' as const, seed: 52, layers: 3, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 },
  gpt2: { arch: 'gpt2' as const, seed: 53, layers: 3, hidden: 32, heads: 4, vocab: 300 },
};

for (const [name, opts] of Object.entries(ARCHS)) {
  t.test(`${name} test model: greedy output with layerskip equals plain decoding`, async (t) => {
    const runner = await ModelRunner.load(testModel(`layerskip-${name}`, opts), { threads: 1, earlyExits: 'all' });
    t.teardown(() => runner.dispose());
    t.same(runner.earlyExits, [1, 2], 'an exit after every layer but the last');
    const rng = new Rng(5);
    const motif = Array.from({ length: 5 }, () => 3 + (rng.nextU32() % 250));
    const prompts = [[1, ...motif, 9, ...motif, 8, ...motif.slice(0, 2)], Array.from({ length: 10 }, () => 3 + (rng.nextU32() % 250)), [1]];
    let accepted = 0;
    let drafted = 0;
    for (const p of prompts) {
      const base = await generate(runner, { promptTokens: p, maxTokens: 40, sampling: GREEDY, eosIds: [], drafters: ['none'] });
      for (const k of [1, 2]) {
        for (const [drafters, treeBudget] of [[['layerskip'], 16], [['layerskip'], 2], [['layerskip'], 'auto'], [['layerskip', 'recycling', 'lookup'], 24]] as const) {
          const r = await generate(runner, { promptTokens: p, maxTokens: 40, sampling: GREEDY, eosIds: [], drafters: [...drafters], treeBudget }, undefined, { layerskipLayers: k });
          t.same(r.tokens, base.tokens, `k=${k} ${drafters.join('+')} budget ${treeBudget}, prompt ${p.length} tokens`);
          accepted += r.speculation!.per_drafter.layerskip?.accepted ?? 0;
          drafted += r.speculation!.per_drafter.layerskip?.drafted ?? 0;
        }
      }
    }
    // Not vacuous: layerskip drafts were accepted (and rejected), so both verify paths ran.
    t.ok(accepted > 0 && accepted < drafted, `layerskip: ${accepted} of ${drafted} drafts accepted`);
  });
}

t.test('the early-exit graph: the target forward is unchanged and an exit equals the truncated model', async (t) => {
  const dir = testModel('layerskip-llama', ARCHS.llama);
  const plain = await ModelRunner.load(dir, { threads: 1 });
  const exits = await ModelRunner.load(dir, { threads: 1, earlyExits: 'all' });
  t.teardown(async () => {
    await plain.dispose();
    await exits.dispose();
  });
  const prompt = [1, 17, 42, 99, 5, 6, 7];
  const cp = plain.newCache();
  const ce = exits.newCache();
  await plain.prefill(cp, prompt);
  await exits.prefill(ce, prompt);
  const rng = new Rng(9);
  const tree = randomTree(rng, 7, plain.vocab);
  const positions = tree.depth.map((d) => prompt.length + d);
  const bias = treeBias(tree.parents, prompt.length);
  t.same(await exits.forward(ce, tree.tokens, positions, bias), await plain.forward(cp, tree.tokens, positions, bias), 'target logits bit-identical with the exits built in');
  for (const k of [1, 2]) {
    const first = await ModelRunner.load(truncatedDraft(dir, k), { threads: 1 });
    const ct = first.newCache();
    await first.prefill(ct, prompt);
    const want = await first.forward(ct, tree.tokens, positions, bias);
    const got = await exits.forwardExit(ce, k, tree.tokens, positions, bias);
    t.same(got, want, `exit after ${k} layers: logits bit-identical to the ${k}-layer model`);
    await first.dispose();
  }
  await t.rejects(exits.forwardExit(ce, 3, [1], [7], causalBias(1, 7)), { message: /exits only after 1, 2 layers/ });
});

for (const [name, opts] of Object.entries(ARCHS)) {
  t.test(`${name}: the draft head's logits equal the reference forward over the first k layers`, async (t) => {
    const dir = testModel(`layerskip-${name}`, opts);
    const runner = await ModelRunner.load(dir, { threads: 1, earlyExits: 'all' });
    t.teardown(() => runner.dispose());
    const src = openModelSource(dir);
    const rng = new Rng(11);
    const prompt = Array.from({ length: 6 }, () => rng.nextU32() % runner.vocab);
    const tree = randomTree(rng, 6, runner.vocab);
    const tokens = [...prompt, ...tree.tokens];
    const positions = [...prompt.map((_, i) => i), ...tree.depth.map((d) => prompt.length + d)];
    const ancestor = (i: number, j: number) => {
      for (let u = i; u >= 0; u = tree.parents[u]) if (u === j) return true;
      return false;
    };
    const canAttend = (i: number, j: number) => (j < prompt.length ? j <= i : i >= prompt.length && ancestor(i - prompt.length, j - prompt.length));
    for (const k of [1, 2]) {
      const cache = runner.newCache();
      // The prompt runs through the FULL target (as the engine commits it); the tree through the exit.
      await runner.prefill(cache, prompt);
      const got = await runner.forwardExit(cache, k, tree.tokens, tree.depth.map((d) => prompt.length + d), treeBias(tree.parents, prompt.length));
      const ref = referenceForward({ spec: { ...src.spec, numLayers: k }, weights: src.weights }, tokens, positions, canAttend);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < tree.tokens.length; i++) {
        const row = got.subarray(i * runner.vocab, (i + 1) * runner.vocab);
        worst = Math.max(worst, maxDiff(row, ref[prompt.length + i]));
        scale = Math.max(scale, spread(ref[prompt.length + i]));
      }
      t.ok(worst < 1e-4, `k=${k}: max |draft head − reference| = ${worst.toExponential(2)} (logit spread ${scale.toFixed(2)})`);
      const full = referenceForward(src, tokens, positions, canAttend);
      t.ok(maxDiff(full[prompt.length], ref[prompt.length]) > 1e-2, `k=${k}: the truncated reference is not the full model's`);
    }
  });
}

t.test('layerskip trees equal the draft model\'s trees with the truncated model as the draft; the target cache is left as it was', async (t) => {
  const dir = testModel('layerskip-llama', ARCHS.llama);
  const target = await ModelRunner.load(dir, { threads: 1, earlyExits: 'all' });
  const first1 = await ModelRunner.load(truncatedDraft(dir, 1), { threads: 1 });
  t.teardown(async () => {
    await target.dispose();
    await first1.dispose();
  });
  const ls = new LayerSkipDrafter(5, target, 1, GREEDY, new Rng(1));
  const dm = new DraftModelDrafter(2, first1, GREEDY, new Rng(1));
  const context = [1, 40, 41, 42, 43, 40, 41];
  const cache = target.newCache();
  await target.prefill(cache, context.slice(0, -1));
  ls.begin();
  dm.begin();
  for (let step = 0; step < 4; step++) {
    const keys = cache.pastKeys(0).slice();
    const values = cache.pastValues(2).slice();
    const before = cache.length;
    const a = await ls.propose({ context, budget: 12, maxDepth: 6, targetCache: cache });
    const b = await dm.propose({ context, budget: 12, maxDepth: 6 });
    t.ok(a && b, 'both drafted');
    t.same(treePaths(a!), treePaths(b!), `step ${step}: same tree`);
    // The context's K/V came from other forwards (the target's prefill and steps vs the draft's catch-up), so
    // values agree to rounding, not bit for bit.
    t.ok(maxDiff(a!.scores, b!.scores) < 1e-5, `step ${step}: same node values (max diff ${maxDiff(a!.scores, b!.scores).toExponential(1)})`);
    t.equal(cache.length, before, 'committed length unchanged');
    t.equal(cache.pending, 0, 'no pending rows left');
    t.same(cache.pastKeys(0), keys, 'committed rows unchanged (layer 0, which the drafts wrote past)');
    t.same(cache.pastValues(2), values, 'committed rows unchanged (layer 2, which the drafts never ran)');
    // Commit the root and the tree's first child, as a step accepting one draft would; both drafters observe it.
    const child = a!.childNodes[a!.childOffsets[0]];
    const accepted = [context[context.length - 1], a!.tokens[child]];
    await target.forward(cache, accepted, [context.length - 1, context.length], causalBias(2, context.length - 1));
    cache.commitAll();
    const outcome = { tree: a!, logits: new Float32Array(0), vocab: target.vocab, acceptedNodes: [0, child], emitted: accepted };
    ls.observe();
    dm.observe({ ...outcome, tree: b! });
    context.push(a!.tokens[child], 7 + step);
  }
  ls.dispose();
  dm.dispose();
});

t.test('without early exits the drafter fails naming the flag', async (t) => {
  const runner = await ModelRunner.load(testModel('layerskip-llama', ARCHS.llama), { threads: 1 });
  t.teardown(() => runner.dispose());
  await t.rejects(generate(runner, { promptTokens: [1, 2], maxTokens: 2, sampling: GREEDY, drafters: ['layerskip'] }), { code: 'SPRIG_ERR_INVALID_PARAM', message: /--layerskip-layers/ });
  await t.rejects(generate(runner, { promptTokens: [1, 2], maxTokens: 2, sampling: GREEDY, drafters: ['layerskip'] }, undefined, { layerskipLayers: 1 }), { code: 'SPRIG_ERR_INVALID_PARAM', message: /early exit after 1 layers/ });
  await t.rejects(loadEngine({ model: testModel('layerskip-llama', ARCHS.llama), threads: 1, layerskip: 3 }), { code: 'SPRIG_ERR_INVALID_PARAM', message: /\[1, 2\] for this 3-layer model/ });
});

t.test('stories260K: greedy equality with layerskip at a fixed k and at the k chosen at startup', { skip: !hasStories && 'no ../shared/models' }, async (t) => {
  const engine = await loadEngine({ model: STORIES, threads: 1, layerskip: 'auto' });
  t.teardown(() => engine.dispose());
  const { runner, tokenizer } = engine;
  const auto = engine.resources.layerskipLayers!;
  t.ok(auto >= 1 && auto <= 4, `chose k = ${auto} of 5 layers`);
  for (const text of ['Once upon a time', 'Tom had a red ball. He', 'The little dog was sad because']) {
    const ids = tokenizer.encode(text);
    const base = await generate(runner, { promptTokens: ids, maxTokens: 128, sampling: GREEDY, drafters: ['none'] });
    for (const [k, drafters, treeBudget] of [[auto, ['layerskip'], 'auto'], [4, ['layerskip'], 16], [2, ['layerskip', 'recycling', 'lookup'], 'auto']] as const) {
      const r = await generate(runner, { promptTokens: ids, maxTokens: 128, sampling: GREEDY, drafters: [...drafters], treeBudget }, undefined, { ...engine.resources, layerskipLayers: k });
      t.same(r.tokens, base.tokens, `"${text}" k=${k} ${drafters.join('+')} budget ${treeBudget}`);
    }
  }
});
