// Structured output with speculation left on (engine/constraint.ts): outputs parse and validate; greedy
// constrained output equals constrained decoding without speculation for every drafter; constrained sampling
// follows the masked, renormalised distribution (chi-square); rejected drafts are pruned before the forward
// and forced tokens are accepted without a draft.
import t, { type Test } from 'tap';
import { Ajv2020 as Ajv } from 'ajv/dist/2020.js';
import { generate, type GenerateRequest } from '../../engine/generate.ts';
import { TreeConstraint, isForced, singleAllowed, type ConstraintRequest } from '../../engine/constraint.ts';
import { GREEDY, targetProbs, type SamplingParams } from '../../common/sampling.ts';
import { ModelRunner } from '../../model/runner.ts';
import { loadTokenizer, type Tokenizer } from '../../model/tokenizer.ts';
import { compileGrammar, Matcher } from '../../grammar/xgrammar.ts';
import { bannedTokens, vocabInfo } from '../../grammar/vocab.ts';
import { TreeBuilder } from '../../trees/draft-tree.ts';
import { chiSquare } from '../helpers/chi-square.ts';
import { testModel, truncatedDraft, hasStories, STORIES } from '../helpers/models.ts';
import { SCHEMAS } from '../helpers/schema-corpus.ts';

const MODEL = { arch: 'llama' as const, seed: 41, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 };
type TapTest = Test;
const SAMPLED: SamplingParams = { temperature: 1, topK: 0, topP: 1 };

async function setup(t: TapTest, dir: string) {
  const runner = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(() => runner.dispose());
  const tok = await loadTokenizer(dir, runner.source.generationConfig);
  const info = vocabInfo(tok, dir, runner.vocab);
  const schemaGrammar = async (schema: object): Promise<ConstraintRequest> => {
    const spec = { kind: 'json_schema' as const, schema: JSON.stringify(schema) };
    return { grammar: await compileGrammar(info, spec), banned: bannedTokens(info, spec) };
  };
  return { runner, tok, schemaGrammar };
}

async function validatesCorpus(t: TapTest, runner: ModelRunner, tok: Tokenizer, schemaGrammar: (s: object) => Promise<ConstraintRequest>, prompt: string, maxTokens: number) {
  const ajv = new Ajv({ strict: false });
  const ids = tok.encode(prompt);
  let forced = 0;
  let pruned = 0;
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const validate = ajv.compile(schema);
    const g = await schemaGrammar(schema);
    for (const [mode, extra] of [
      ['greedy, no speculation', { sampling: GREEDY, drafters: ['none'], constraint: { ...g, forceTokens: false } }],
      ['greedy, speculation', { sampling: GREEDY, drafters: ['recycling', 'lookup'], constraint: { ...g } }],
      ['sampled, no speculation', { sampling: { ...SAMPLED, seed: 7 }, drafters: ['none'], constraint: { ...g, forceTokens: false } }],
      ['sampled, speculation', { sampling: { ...SAMPLED, seed: 7, reproducible: false }, drafters: ['recycling', 'lookup'], constraint: { ...g } }],
    ] as [string, Partial<GenerateRequest>][]) {
      const r = await generate(runner, { promptTokens: ids, maxTokens, sampling: GREEDY, ...extra });
      const text = tok.decode(r.tokens);
      let value: unknown;
      t.doesNotThrow(() => (value = JSON.parse(text)), `${name}, ${mode}: parses (${r.finishReason}) ${text}`);
      t.ok(validate(value), `${name}, ${mode}: validates ${JSON.stringify(validate.errors)}`);
      forced += r.speculation!.constraint!.forced;
      pruned += r.speculation!.constraint!.pruned;
    }
  }
  t.ok(forced > 0 && pruned > 0, `forced ${forced} tokens, pruned ${pruned} drafts over the corpus`);
}

t.test('32 schemas: greedy and sampled output parses and validates, with speculation on and off', async (t) => {
  const { runner, tok, schemaGrammar } = await setup(t, testModel('constraint-llama', MODEL));
  await validatesCorpus(t, runner, tok, schemaGrammar, 'Once upon a time, Pip gave JSON:', 400);
});

t.test('stories260K: the corpus validates too', { skip: !hasStories && 'no ../shared/models' }, async (t) => {
  const { runner, tok, schemaGrammar } = await setup(t, STORIES);
  await validatesCorpus(t, runner, tok, schemaGrammar, 'Lily was five. Her data as JSON:', 400);
});

t.test('greedy constrained output with speculation equals it without, token for token, for every drafter', async (t) => {
  const dir = testModel('constraint-llama', MODEL);
  const { runner, tok, schemaGrammar } = await setup(t, dir);
  const draft = await ModelRunner.load(truncatedDraft(dir, 1), { threads: 1 });
  t.teardown(() => draft.dispose());
  const prompts = ['Once upon a time', '{"name": "Pip", "age": 3} {"name": "Pip", "age":', 'The fox and the turtle'].map((p) => tok.encode(p));
  const configs: Partial<GenerateRequest>[] = [
    { drafters: ['recycling'], treeBudget: 'auto' }, { drafters: ['lookup'], treeBudget: 16 }, { drafters: ['retrieval'], treeBudget: 16 },
    { drafters: ['suffix'], treeBudget: 'auto' }, { drafters: ['draft'], treeBudget: 8 }, { drafters: ['draft', 'recycling', 'lookup'], treeBudget: 32 },
  ];
  let accepted = 0;
  for (const name of ['flat', 'arrayObjects', 'nested', 'extraction', 'invoice', 'oneOfObjects']) {
    const g = await schemaGrammar(SCHEMAS[name]);
    for (const ids of prompts) {
      const base = await generate(runner, { promptTokens: ids, maxTokens: 200, sampling: GREEDY, drafters: ['none'], constraint: { ...g, forceTokens: false } });
      t.equal(base.speculation!.mean_accepted_length, 1);
      for (const forceTokens of [false, true]) {
        for (const c of configs) {
          const r = await generate(runner, { promptTokens: ids, maxTokens: 200, sampling: GREEDY, ...c, constraint: { ...g, forceTokens } }, undefined, { draft });
          t.same(r.tokens, base.tokens, `${name} ${c.drafters!.join('+')} forced ${forceTokens}`);
          accepted += r.speculation!.accepted;
        }
      }
      // The full-mask path (no argmax check) gives the same tokens.
      const full = await generate(runner, { promptTokens: ids, maxTokens: 200, sampling: GREEDY, drafters: ['recycling', 'lookup'], constraint: { ...g, lazyMask: false } });
      t.same(full.tokens, base.tokens, `${name}: full masks`);
    }
  }
  t.ok(accepted > 0, `accepted ${accepted} tokens`);
});

t.test('shape: rejected drafts are pruned before the forward, forced tokens join as certain nodes', async (t) => {
  const dir = testModel('constraint-llama', MODEL);
  const { runner, tok } = await setup(t, dir);
  const grammar = await compileGrammar(vocabInfo(tok, dir, runner.vocab), { kind: 'ebnf', grammar: 'root ::= "ab" [0-9] "xyz!"' });
  const ids = (s: string) => tok.encode(s, { addSpecialTokens: false });
  const c = await TreeConstraint.create({ grammar }, runner.vocab, runner.spec.eosTokenIds, true);
  t.teardown(() => c.dispose());
  // root → a → b → 7 (allowed); root → a → c (rejected); root → z (rejected), root → a → b → 7 → x (allowed, leaf)
  // A character's own token: its piece, else its byte-fallback token (the tokenizer would add '▁' before it).
  const idOf = (ch: string) => {
    const byte = `<0x${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}>`;
    for (const want of [ch, byte]) for (let i = 0; i < runner.vocab; i++) if (tok.tokenString(i) === want) return i;
    throw new Error(`no token for ${ch}`);
  };
  const [a, b, seven, x, z, cc] = ['a', 'b', '7', 'x', 'z', 'c'].map(idOf);
  const bld = new TreeBuilder(1);
  const na = bld.add(0, a, { score: 0.9, source: 0 });
  const nb = bld.add(na, b, { score: 0.8, source: 0 });
  const n7 = bld.add(nb, seven, { score: 0.5, source: 0 });
  bld.add(n7, x, { score: 0.4, source: 0 });
  bld.add(na, cc, { score: 0.3, source: 0 });
  bld.add(0, z, { score: 0.2, source: 1 });
  const shaped = c.shape(bld.build(), 16, 32);
  t.equal(c.stats.pruned, 2, 'a→c and z pruned');
  // Every node of the shaped tree is allowed along its path (checked with a fresh matcher).
  const m = await Matcher.create(grammar, runner.vocab);
  t.teardown(() => m.dispose());
  for (let u = 1; u < shaped.numNodes; u++) {
    const path: number[] = [];
    for (let v = u; v > 0; v = shaped.parents[v]) path.unshift(shaped.tokens[v]);
    t.ok(path.every((tk) => m.accept(tk)), `node ${u} allowed`);
    m.rollBack(path.length);
  }
  // Forced nodes (none here: byte-fallback vocabularies spell every character twice, 'y' and '<0x79>') are each
  // the only token the grammar allows below their parent.
  for (let u = 1; u < shaped.numNodes; u++) {
    if (!isForced(shaped, u)) continue;
    const path: number[] = [];
    for (let v = shaped.parents[u]; v > 0; v = shaped.parents[v]) path.unshift(shaped.tokens[v]);
    path.forEach((tk) => m.accept(tk));
    t.equal(singleAllowed(m.fillMask(new Int32Array(Math.ceil(runner.vocab / 32))), runner.vocab), shaped.tokens[u], `forced node ${u}`);
    m.rollBack(path.length);
  }

  // Through generate: the output follows the grammar; forced tokens are accepted nodes, counted in the stats.
  const r = await generate(runner, { promptTokens: ids('hello'), maxTokens: 20, sampling: GREEDY, drafters: ['recycling'], constraint: { grammar } });
  t.match(tok.decode(r.tokens), /^ab[0-9]xyz!$/);
  const s = r.speculation!.constraint!;
  t.ok(s.forced <= s.forced_drafted, `forced ${s.forced} of ${s.forced_drafted}`);
  t.ok(r.speculation!.accepted >= s.forced, 'forced tokens count as accepted nodes');
});

t.test('constrained sampling with speculation follows constrained sampling without it (chi-square)', async (t) => {
  const dir = testModel('constraint-sampling', { arch: 'llama', seed: 31, layers: 2, hidden: 16, heads: 2, kvHeads: 1, vocab: 300, intermediate: 24 });
  const { runner, tok } = await setup(t, dir);
  const draft = await ModelRunner.load(truncatedDraft(dir, 1), { threads: 1 });
  t.teardown(() => draft.dispose());
  const grammar = await compileGrammar(vocabInfo(tok, dir, runner.vocab), { kind: 'regex', pattern: '[a-z]+[0-9]' });
  const g = { grammar };
  const params: SamplingParams = { temperature: 0.9, topK: 4, topP: 1, reproducible: false };
  const V = runner.vocab;
  const PROMPT = tok.encode('Once upon a time');
  // Exact joint of the first two tokens: masked p(t1) · masked p(t2 | t1).
  const m = await Matcher.create(grammar, V);
  t.teardown(() => m.dispose());
  const masked = async (ctx: number[]) => {
    const logits = await runner.prefill(runner.newCache(), ctx);
    const mask = m.fillMask(new Int32Array(Math.ceil(V / 32)));
    for (let i = 0; i < V; i++) if (!(mask[i >> 5] & (1 << (i & 31)))) logits[i] = -Infinity;
    return targetProbs(logits, 0, V, params, new Float32Array(V));
  };
  const expected = new Map<string, number>();
  const p1 = await masked(PROMPT);
  for (let a = 0; a < V; a++) {
    if (!(p1[a] > 0)) continue;
    t.ok(m.accept(a));
    const p2 = await masked([...PROMPT, a]);
    m.rollBack(1);
    for (let b = 0; b < V; b++) if (p2[b] > 0) expected.set(`${a},${b}`, p1[a] * p2[b]);
  }
  t.ok(expected.size >= 8, `${expected.size} cells`);
  const N = 1500;
  for (const drafters of [['none'], ['recycling', 'lookup'], ['draft']]) {
    const observed = new Map<string, number>();
    let accepted = 0;
    for (let seed = 0; seed < N; seed++) {
      const r = await generate(runner, { promptTokens: PROMPT, maxTokens: 3, sampling: { ...params, seed }, eosIds: [], drafters, treeBudget: 16, constraint: { ...g } }, undefined, { draft });
      const key = r.tokens.slice(0, 2).join(',');
      observed.set(key, (observed.get(key) ?? 0) + 1);
      accepted += r.speculation!.accepted;
    }
    const res = chiSquare(observed, expected);
    t.ok(res.pValue > 0.001, `${drafters.join('+')}: chi² = ${res.statistic.toFixed(1)}, df ${res.df}, p = ${res.pValue.toFixed(4)}`);
    if (drafters[0] === 'draft') t.ok(accepted > 0, `draft: ${accepted} accepted`);
  }
});
