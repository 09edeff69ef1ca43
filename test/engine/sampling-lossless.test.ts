// Speculative sampling is lossless: over many seeds, the first two generated tokens follow the target's joint
// distribution exactly, through rule D (deterministic drafts: recycling, lookup, suffix) and rule S (sampled drafts).
import t from 'tap';
import { generate } from '../../engine/generate.ts';
import { Rng } from '../../common/rng.ts';
import { targetProbs, type SamplingParams } from '../../common/sampling.ts';
import type { Drafter, DraftRequest } from '../../drafters/drafter.ts';
import { registerDrafter } from '../../drafters/registry.ts';
import { ModelRunner } from '../../model/runner.ts';
import { NodeKind, TreeBuilder } from '../../trees/draft-tree.ts';
import { drawWithoutReplacement } from '../../trees/draw.ts';
import { chiSquare } from '../helpers/chi-square.ts';
import { testModel, truncatedDraft } from '../helpers/models.ts';

const ALPHA = 0.001; // significance level: a correct sampler fails this test 0.1% of the time per check
const N = 3000;
const PROMPT = [1, 17, 42, 17, 42, 17];
// reproducible: false selects rules S and D (a seeded request otherwise uses the coupled verifier, tested below).
const PARAMS: SamplingParams = { temperature: 0.9, topK: 4, topP: 0.95, reproducible: false };

/** Rule S drafter: draws 2 children without replacement from a fixed q at the root and at each child. */
class FixedQSampler implements Drafter {
  readonly name = 'test-sampler';
  readonly id = 30;
  private readonly rng: Rng;
  // Draws must be fresh samples from q each request (rule S assumes it), so each instance gets its own seed.
  constructor(private readonly q: Float32Array, seed: number) {
    this.rng = new Rng(seed);
  }
  begin(): void {}
  propose(req: DraftRequest) {
    const vocab = this.q.length;
    const b = new TreeBuilder(req.context[req.context.length - 1]);
    b.setChildDist(0, this.q);
    for (const tok of drawWithoutReplacement(this.q, vocab, 2, this.rng)) {
      const child = b.add(0, tok, { kind: NodeKind.sampled, source: this.id, score: this.q[tok] });
      if (req.maxDepth < 2) continue;
      b.setChildDist(child, this.q);
      for (const t2 of drawWithoutReplacement(this.q, vocab, 2, this.rng)) b.add(child, t2, { kind: NodeKind.sampled, source: this.id });
    }
    return b.build();
  }
  observe(): void {}
  dispose(): void {}
}

t.test('first two tokens follow the target joint distribution under speculation', async (t) => {
  const modelDir = testModel('sampling', { arch: 'llama', seed: 31, layers: 2, hidden: 16, heads: 2, kvHeads: 1, vocab: 300, intermediate: 24 });
  const runner = await ModelRunner.load(modelDir, { threads: 1 });
  t.teardown(() => runner.dispose());
  const V = runner.vocab;

  // Exact joint p(t1) · p(t2 | t1) from plain forwards.
  const expected = new Map<string, number>();
  const p1 = targetProbs(await runner.prefill(runner.newCache(), PROMPT), 0, V, PARAMS, new Float32Array(V));
  const support: number[] = [];
  for (let a = 0; a < V; a++) {
    if (p1[a] <= 0) continue;
    support.push(a);
    const p2 = targetProbs(await runner.prefill(runner.newCache(), [...PROMPT, a]), 0, V, PARAMS, new Float32Array(V));
    for (let b = 0; b < V; b++) if (p2[b] > 0) expected.set(`${a},${b}`, p1[a] * p2[b]);
  }
  t.ok(support.length >= 3, `first-token support has ${support.length} tokens`);

  // q: overlaps the target support partly (two of its tokens get high draft mass, plus decoys).
  const q = new Float32Array(V);
  q[support[0]] = 0.1;
  q[support[1]] = 0.4;
  q[5] = 0.3;
  q[6] = 0.2;
  let instances = 0;
  registerDrafter('test-sampler', 30, () => new FixedQSampler(q, 1000 + instances++));

  // A real draft distribution for rule S: the target's first layer as the draft model.
  const draft = await ModelRunner.load(truncatedDraft(modelDir, 1), { threads: 1 });
  t.teardown(() => draft.dispose());

  for (const drafters of [['none'], ['recycling'], ['lookup'], ['recycling', 'lookup'], ['suffix'], ['test-sampler'], ['test-sampler', 'recycling'], ['draft'], ['draft', 'recycling']]) {
    const observed = new Map<string, number>();
    let drafted = 0;
    let accepted = 0;
    for (let seed = 0; seed < N; seed++) {
      const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 3, sampling: { ...PARAMS, seed }, eosIds: [], drafters, treeBudget: 16 }, undefined, { draft });
      const key = r.tokens.slice(0, 2).join(','); // maxTokens 3 lets step 1 draft depth 2: both tokens can come from one step
      observed.set(key, (observed.get(key) ?? 0) + 1);
      drafted += r.speculation!.drafted;
      accepted += r.speculation!.accepted;
    }
    const res = chiSquare(observed, expected);
    t.ok(res.pValue > ALPHA, `${drafters.join('+')}: chi² = ${res.statistic.toFixed(1)}, df ${res.df}, p = ${res.pValue.toFixed(4)} > ${ALPHA}`);
    if (drafters[0] === 'lookup') t.ok(drafted > 0, `lookup drafted ${drafted} tokens`);
    else if (drafters[0] !== 'none') t.ok(accepted > 0 && accepted < drafted, `${drafters.join('+')}: drafts both accepted and rejected (${accepted}/${drafted})`);
  }

  // The seeded, reproducible path (verifier/coupled.ts) follows the same distribution.
  {
    const observed = new Map<string, number>();
    for (let seed = 0; seed < N; seed++) {
      const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 3, sampling: { ...PARAMS, reproducible: true, seed }, eosIds: [], drafters: ['draft', 'recycling'], treeBudget: 16 }, undefined, { draft });
      const key = r.tokens.slice(0, 2).join(',');
      observed.set(key, (observed.get(key) ?? 0) + 1);
    }
    const res = chiSquare(observed, expected);
    t.ok(res.pValue > ALPHA, `coupled: chi² = ${res.statistic.toFixed(1)}, df ${res.df}, p = ${res.pValue.toFixed(4)} > ${ALPHA}`);
  }

  // Penalties make the second token's distribution depend on the first (each tree node's own path).
  {
    // Negative: a repeat of the first token gets likelier, so the second token's distribution really moves.
    const penalized: SamplingParams = { ...PARAMS, presencePenalty: -1.5, frequencyPenalty: -1 };
    const expectedPen = new Map<string, number>();
    const q1 = targetProbs(await runner.prefill(runner.newCache(), PROMPT), 0, V, penalized, new Float32Array(V));
    for (let a = 0; a < V; a++) {
      if (q1[a] <= 0) continue;
      const row = await runner.prefill(runner.newCache(), [...PROMPT, a]);
      row[a] -= -1.5 + -1; // a was generated once
      const q2 = targetProbs(row, 0, V, penalized, new Float32Array(V));
      for (let b = 0; b < V; b++) if (q2[b] > 0) expectedPen.set(`${a},${b}`, q1[a] * q2[b]);
    }
    let tv = 0;
    for (const k of new Set([...expected.keys(), ...expectedPen.keys()])) tv += Math.abs((expected.get(k) ?? 0) - (expectedPen.get(k) ?? 0)) / 2;
    t.ok(tv > 0.05, `the penalties move the joint distribution (total variation ${tv.toFixed(3)})`);
    for (const drafters of [['recycling', 'lookup'], ['draft']]) {
      const observed = new Map<string, number>();
      for (let seed = 0; seed < N; seed++) {
        const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 3, sampling: { ...penalized, seed }, eosIds: [], drafters, treeBudget: 16 }, undefined, { draft });
        const key = r.tokens.slice(0, 2).join(',');
        observed.set(key, (observed.get(key) ?? 0) + 1);
      }
      const res = chiSquare(observed, expectedPen);
      t.ok(res.pValue > ALPHA, `penalties, ${drafters.join('+')}: chi² = ${res.statistic.toFixed(1)}, df ${res.df}, p = ${res.pValue.toFixed(4)} > ${ALPHA}`);
    }
  }

  // The test has power: a sampler that ignores top-k (a plausible bug) is rejected.
  const wrong = new Map<string, number>();
  const rng = new Rng(1);
  for (let i = 0; i < N; i++) {
    const keys = [...expected.keys()];
    const k = keys[Math.floor(rng.next() * keys.length)]; // uniform over the support: wrong distribution
    wrong.set(k, (wrong.get(k) ?? 0) + 1);
  }
  t.ok(chiSquare(wrong, expected).pValue < ALPHA, 'a wrong distribution fails the test');
});
