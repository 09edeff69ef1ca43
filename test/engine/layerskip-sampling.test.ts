// Speculative sampling with the layerskip drafter is lossless: its children are drawn without replacement from
// its own q (the target's first layer + head) and verified by rule S, and over many seeds the first two generated
// tokens follow the target's joint distribution (the same chi-square test as sampling-lossless.test.ts).
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { Rng } from '../../common/rng.ts';
import { targetProbs, type SamplingParams } from '../../common/sampling.ts';
import { LayerSkipDrafter } from '../../drafters/layerskip.ts';
import { ModelRunner } from '../../model/runner.ts';
import { NodeKind } from '../../trees/draft-tree.ts';
import { chiSquare } from '../helpers/chi-square.ts';
import { testModel } from '../helpers/models.ts';

const ALPHA = 0.001; // a correct sampler fails a check 0.1% of the time
const N = 3000;
const PROMPT = [1, 17, 42, 17, 42, 17];
const PARAMS: SamplingParams = { temperature: 0.9, topK: 4, topP: 0.95, reproducible: false };

t.test('layerskip under sampling: rule-S children, and the first two tokens follow the target joint distribution', async (t) => {
  const dir = testModel('sampling', { arch: 'llama', seed: 31, layers: 2, hidden: 16, heads: 2, kvHeads: 1, vocab: 300, intermediate: 24 });
  const runner = await ModelRunner.load(dir, { threads: 1, earlyExits: 'all' });
  t.teardown(() => runner.dispose());
  const V = runner.vocab;
  const resources = { layerskipLayers: 1 };

  // Its children are sampled nodes carrying the q they were drawn from (what rule S needs).
  const cache = runner.newCache();
  await runner.prefill(cache, PROMPT.slice(0, -1));
  const d = new LayerSkipDrafter(5, runner, 1, PARAMS, new Rng(3));
  const tree = (await d.propose({ context: PROMPT, budget: 8, maxDepth: 3, targetCache: cache }))!;
  t.ok(tree.numNodes > 2, `drafted ${tree.numNodes - 1} nodes`);
  for (let i = 1; i < tree.numNodes; i++) t.equal(tree.kinds[i], NodeKind.sampled, `node ${i} is a sampled child`);
  t.ok(tree.childDists[0], 'the root carries its q');

  const expected = new Map<string, number>();
  const p1 = targetProbs(await runner.prefill(runner.newCache(), PROMPT), 0, V, PARAMS, new Float32Array(V));
  for (let a = 0; a < V; a++) {
    if (p1[a] <= 0) continue;
    const p2 = targetProbs(await runner.prefill(runner.newCache(), [...PROMPT, a]), 0, V, PARAMS, new Float32Array(V));
    for (let b = 0; b < V; b++) if (p2[b] > 0) expected.set(`${a},${b}`, p1[a] * p2[b]);
  }

  for (const [drafters, reproducible] of [[['layerskip'], false], [['layerskip', 'recycling'], false], [['layerskip', 'recycling'], true]] as const) {
    const observed = new Map<string, number>();
    let drafted = 0;
    let accepted = 0;
    for (let seed = 0; seed < N; seed++) {
      const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 3, sampling: { ...PARAMS, reproducible, seed }, eosIds: [], drafters: [...drafters], treeBudget: 16 }, undefined, resources);
      const key = r.tokens.slice(0, 2).join(',');
      observed.set(key, (observed.get(key) ?? 0) + 1);
      drafted += r.speculation!.per_drafter.layerskip.drafted;
      accepted += r.speculation!.per_drafter.layerskip.accepted;
    }
    const res = chiSquare(observed, expected);
    const label = `${drafters.join('+')}${reproducible ? ' (seeded, coupled verifier)' : ''}`;
    t.ok(res.pValue > ALPHA, `${label}: chi² = ${res.statistic.toFixed(1)}, df ${res.df}, p = ${res.pValue.toFixed(4)} > ${ALPHA}`);
    t.ok(accepted > 0 && accepted < drafted, `${label}: layerskip drafts both accepted and rejected (${accepted}/${drafted})`);
  }
});
