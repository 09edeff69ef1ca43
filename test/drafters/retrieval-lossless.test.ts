// Greedy speculation with the retrieval drafter is lossless: with a datastore built from the model's own greedy
// outputs (so drafts are really accepted) and without one, it emits exactly the tokens of --drafters none.
import t from 'tap';
import { createDatastore } from '../../drafters/datastore.ts';
import { generate, type EngineResources, type GenerateRequest } from '../../engine/generate.ts';
import { Rng } from '../../common/rng.ts';
import { GREEDY } from '../../common/sampling.ts';
import { ModelRunner } from '../../model/runner.ts';
import { testModel } from '../helpers/models.ts';

const MODEL = { arch: 'llama' as const, seed: 41, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300 };
const MAX_TOKENS = 48;

async function run(runner: ModelRunner, promptTokens: number[], extra: Partial<GenerateRequest>, resources: EngineResources = {}) {
  return generate(runner, { promptTokens, maxTokens: MAX_TOKENS, sampling: GREEDY, eosIds: [], ...extra }, undefined, resources);
}

t.test('llama test model: greedy retrieval output equals --drafters none, and datastore drafts are accepted', async (t) => {
  const runner = await ModelRunner.load(testModel('retrieval-llama', MODEL), { threads: 1 });
  t.teardown(() => runner.dispose());
  const rng = new Rng(5);
  const randomPrompt = (n: number) => Array.from({ length: n }, () => 3 + (rng.nextU32() % 290));
  const seen = [randomPrompt(10), randomPrompt(6), randomPrompt(14), [1]];
  const unseen = [randomPrompt(9), randomPrompt(12)];

  const base = new Map<number[], number[]>();
  for (const p of [...seen, ...unseen]) {
    const r = await run(runner, p, { drafters: ['none'] });
    t.equal(r.tokens.length, MAX_TOKENS);
    base.set(p, r.tokens);
  }
  // The datastore: the first half of each seen prompt's greedy output (drafts must also work past what it holds).
  const docs = seen.map((p) => [...p, ...base.get(p)!.slice(0, MAX_TOKENS / 2)]);
  const ds = createDatastore(docs, { vocab: runner.vocab, name: 'own-outputs' });

  const accepted = { withDs: 0, withoutDs: 0 };
  for (const [label, resources] of [['withDs', { datastore: ds }], ['withoutDs', {}]] as const) {
    for (const p of [...seen, ...unseen]) {
      for (const treeBudget of [16, 1]) {
        const r = await run(runner, p, { drafters: ['retrieval'], treeBudget }, resources);
        t.same(r.tokens, base.get(p), `${label}, prompt of ${p.length}, budget ${treeBudget}`);
        t.equal(r.finishReason, 'length');
        accepted[label] += r.speculation!.accepted;
      }
    }
  }
  const combo = await run(runner, seen[0], { drafters: ['retrieval', 'lookup', 'recycling'], treeBudget: 32 }, { datastore: ds });
  t.same(combo.tokens, base.get(seen[0]), 'retrieval + lookup + recycling');

  t.comment(`accepted draft tokens: ${accepted.withDs} with the datastore, ${accepted.withoutDs} from the live context alone`);
  t.ok(accepted.withDs > 0, 'not vacuous: datastore drafts were accepted');
  t.ok(accepted.withDs > accepted.withoutDs, 'the datastore adds accepted tokens over context-only retrieval');
});
