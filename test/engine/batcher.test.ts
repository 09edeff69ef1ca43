// Continuous batching: concurrent generations share forwards and still give exactly what each gives alone,
// for every drafter, with members joining and leaving mid-run, one cancelled mid-batch, and a seeded sampled
// one among them; and the batch-wide token budget.
import t from 'tap';
import { allocateBatch, Batcher } from '../../engine/batcher.ts';
import { generate, type EngineResources, type GenerateRequest, type GenerateResult } from '../../engine/generate.ts';
import { GREEDY } from '../../common/sampling.ts';
import { ModelRunner } from '../../model/runner.ts';
import { Rng } from '../../common/rng.ts';
import type { Logger } from '../../common/log.ts';
import { testModel, truncatedDraft } from '../helpers/models.ts';
import { LookupDrafter } from '../../drafters/lookup.ts';

const TARGET = { arch: 'llama' as const, seed: 41, layers: 3, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 16 prompts of 1–24 tokens, some with repeats (so lookup and retrieval find matches). */
function prompts(): number[][] {
  const rng = new Rng(21);
  return Array.from({ length: 16 }, (_, i) => {
    const base = Array.from({ length: 1 + (i * 5) % 12 }, () => 1 + (rng.nextU32() % 299));
    return i % 3 === 0 ? [...base, ...base] : base;
  });
}

/** `speculateShared`: shared steps carry draft trees (sized across the batch), so equality covers batched trees. */
async function load(t: { teardown(fn: () => unknown): void }, speculateShared = true, layerskip = false, slots?: number) {
  const dir = testModel('batch-target', TARGET);
  const runner = await ModelRunner.load(dir, { threads: 1, earlyExits: layerskip ? 'all' : undefined });
  const draft = await ModelRunner.load(truncatedDraft(dir, 1), { threads: 1 });
  const batcher = new Batcher(runner, { maxBatchTokens: 512, speculateShared, slots });
  await batcher.warm();
  t.teardown(async () => {
    await batcher.dispose();
    await runner.dispose();
    await draft.dispose();
  });
  return { runner, batcher, resources: { draft, layerskipLayers: layerskip ? 1 : undefined } as EngineResources };
}

/** Runs `req` as a batch member, joining after `delayMs`; `onJoin` sees the request before it starts. */
async function member(batcher: Batcher, runner: ModelRunner, req: GenerateRequest, delayMs: number, resources: EngineResources, onTokens?: (n: number) => void): Promise<GenerateResult> {
  await sleep(delayMs);
  const slot = batcher.join();
  let n = 0;
  try {
    return await generate(runner, { ...req, batch: slot }, (tokens) => onTokens?.((n += tokens.length)), resources);
  } finally {
    slot.leave();
  }
}

for (const drafter of ['recycling', 'lookup', 'retrieval', 'draft', 'suffix', 'layerskip']) {
  t.test(`16 concurrent greedy generations with ${drafter} drafting give exactly their single-client outputs, joining and leaving mid-run`, async (t) => {
    const { runner, batcher, resources } = await load(t, true, drafter === 'layerskip');
    const ps = prompts();
    const maxTokens = ps.map((_, i) => 12 + (i * 7) % 29);
    const refs: number[][] = [];
    for (let i = 0; i < ps.length; i++) {
      refs.push((await generate(runner, { promptTokens: ps[i], maxTokens: maxTokens[i], sampling: GREEDY, eosIds: [], drafters: ['none'] })).tokens);
    }
    const before = { ...batcher.counts };
    const outs = await Promise.all(ps.map((p, i) => member(batcher, runner, {
      promptTokens: p, maxTokens: maxTokens[i], sampling: GREEDY, eosIds: [], drafters: [drafter], treeBudget: i % 2 ? 8 : 'auto',
    }, (i % 4) * 3, resources)));
    for (let i = 0; i < ps.length; i++) t.same(outs[i].tokens, refs[i], `generation ${i}`);
    t.ok(batcher.counts.sharedForwards > before.sharedForwards + 10, `${batcher.counts.sharedForwards - before.sharedForwards} of ${batcher.counts.forwards - before.forwards} forwards carried several sequences`);
    t.ok(outs.some((o) => o.speculation!.accepted > 0), 'drafts were accepted');
    t.equal(batcher.size, 0, 'everyone left');
  });
}

t.test('more members than the batched graph has slots: each step runs as several forwards, outputs unchanged', async (t) => {
  const { runner, batcher, resources } = await load(t, false, false, 3);
  const ps = prompts().slice(0, 7);
  const refs = [];
  for (const p of ps) refs.push((await generate(runner, { promptTokens: p, maxTokens: 20, sampling: GREEDY, eosIds: [], drafters: ['none'] })).tokens);
  const before = { ...batcher.counts };
  const outs = await Promise.all(ps.map((p) => member(batcher, runner, { promptTokens: p, maxTokens: 20, sampling: GREEDY, eosIds: [], drafters: ['none'] }, 0, resources)));
  for (let i = 0; i < ps.length; i++) t.same(outs[i].tokens, refs[i], `generation ${i}`);
  t.ok(batcher.counts.sharedForwards > before.sharedForwards + 10, `${batcher.counts.sharedForwards - before.sharedForwards} shared forwards`);
});

t.test('a generation cancelled in the middle of a batch leaves the others unchanged', async (t) => {
  const { runner, batcher, resources } = await load(t);
  const ps = prompts().slice(0, 8);
  const refs = [];
  for (const p of ps) refs.push((await generate(runner, { promptTokens: p, maxTokens: 30, sampling: GREEDY, eosIds: [], drafters: ['none'] })).tokens);
  const stop = new AbortController();
  const outs = await Promise.all(ps.map((p, i) => member(batcher, runner, {
    promptTokens: p, maxTokens: 30, sampling: GREEDY, eosIds: [], drafters: ['recycling', 'lookup'], treeBudget: 8, signal: i === 3 ? stop.signal : undefined,
  }, 0, resources, i === 3 ? (n) => n >= 4 && stop.abort() : undefined)));
  t.equal(outs[3].finishReason, 'cancelled');
  t.ok(outs[3].tokens.length < 30, `the cancelled one stopped after ${outs[3].tokens.length} tokens`);
  t.same(outs[3].tokens, refs[3].slice(0, outs[3].tokens.length), 'what it got was right');
  for (let i = 0; i < ps.length; i++) if (i !== 3) t.same(outs[i].tokens, refs[i], `generation ${i}`);
});

t.test('a seeded sampled generation gives the same text whatever shares its batches', async (t) => {
  const { runner, batcher, resources } = await load(t);
  const req: GenerateRequest = { promptTokens: [1, 7, 8, 9, 7, 8], maxTokens: 40, sampling: { temperature: 0.9, topK: 0, topP: 1, seed: 1234 }, eosIds: [], drafters: ['recycling', 'lookup'], treeBudget: 'auto' };
  const alone = await generate(runner, req);
  const others = prompts().slice(0, 7).map((p, i) => member(batcher, runner, {
    promptTokens: p, maxTokens: 10 + 5 * i, sampling: i % 2 ? GREEDY : { temperature: 1, topK: 0, topP: 1 }, eosIds: [], drafters: ['lookup'], treeBudget: 4,
  }, i * 2, resources));
  const inBatch = member(batcher, runner, req, 3, resources);
  await Promise.all(others);
  t.same((await inBatch).tokens, alone.tokens);
  t.ok(new Set(alone.tokens).size > 3, 'the sample is not degenerate');
});

t.test('allocateBatch: one budget across the batch, by value per unit of cost', async (t) => {
  const flatThenLinear = { at: (n: number) => (n <= 3 ? 1 : n - 2) };
  t.same(allocateBatch([[0.9, 0.2], [0.8]], flatThenLinear, 2, 2, 100), [1, 0], 'the doc example');
  // A free step (flat cost) takes every node worth anything; room caps it.
  const flat = { at: () => 1 };
  t.same(allocateBatch([[0.9, 0.5], [0.7, 0.6, 0.1]], flat, 2, 2, 100), [2, 3]);
  t.same(allocateBatch([[0.9, 0.5], [0.7, 0.6, 0.1]], flat, 2, 2, 3), [1, 2], 'the 3 best nodes across both');
  // Linear cost: more members → fewer drafts each (speculation shrinks with load).
  const linear = { at: (n: number) => 4 + n };
  const lists = (b: number) => Array.from({ length: b }, () => [0.9, 0.8, 0.7, 0.5, 0.3, 0.2]);
  const per = (b: number) => allocateBatch(lists(b), linear, b, b, 1000).reduce((a, x) => a + x, 0) / b;
  t.ok(per(1) > per(4) && per(4) > per(16), `drafts per member: ${per(1)}, ${per(4)}, ${per(16)}`);
  // A member whose drafts are worth less than the batch's rate gets none this step.
  const mixed = [...lists(15), [0.5, 0.4]];
  const sizes = allocateBatch(mixed, linear, 16, 16, 1000);
  t.equal(sizes[15], 0, 'the weak member drafts nothing');
  t.ok(sizes.slice(0, 15).every((k) => k >= 1), 'the others draft');
});

t.test('a long prompt is prefilled in chunks inside the others\' steps: their streams keep going, its output is unchanged', async (t) => {
  const { runner, batcher, resources } = await load(t);
  const rng = new Rng(8);
  const long = Array.from({ length: 180 }, () => 1 + (rng.nextU32() % 299));
  const ref = await generate(runner, { promptTokens: long, maxTokens: 8, sampling: GREEDY, eosIds: [], drafters: ['none'] });
  const counts = [0, 0, 0];
  let seenAtFirstToken: number[] | null = null;
  const others = counts.map((_, i) => member(batcher, runner, {
    promptTokens: [1, 2 + i], maxTokens: 60, sampling: GREEDY, eosIds: [], drafters: ['none'],
  }, 0, resources, (n) => (counts[i] = n)));
  while (counts.some((c) => c < 2)) await sleep(1);
  const seenAtJoin = [...counts];
  const forwardsAtJoin = batcher.counts.forwards;
  const out = await member(batcher, runner, { promptTokens: long, maxTokens: 8, sampling: GREEDY, eosIds: [], drafters: ['none'] }, 0, resources, () => (seenAtFirstToken ??= [...counts]));
  await Promise.all(others);
  t.same(out.tokens, ref.tokens);
  t.ok(seenAtFirstToken!.every((c, i) => c > seenAtJoin[i] + 1), `the others went on while it prefilled: ${seenAtJoin} → ${seenAtFirstToken}`);
  t.ok(batcher.counts.forwards - forwardsAtJoin > 3, 'its prompt took several shared forwards');
});

t.test('prefill chunks keep a step within 1.5x of the others\' decode step, down to 4 rows, without ratcheting up', async (t) => {
  const dir = testModel('batch-target', TARGET);
  const runner = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(() => runner.dispose());
  const chunkFor = (at: (rows: number) => number) => {
    const batcher = new Batcher(runner, { maxBatchTokens: 512, stepCost: { at } });
    const slots = [1, 2, 3, 4].map(() => batcher.join()); // three decoding, one prefilling
    const chunk = batcher.prefillChunk();
    for (const s of slots) s.leave();
    return chunk;
  };
  t.equal(chunkFor((rows) => 10 + rows), 4, 'steep cost (3 decode rows = 13 ms, limit 19.5): 4 rows');
  t.equal(chunkFor((rows) => 10 + 0.5 * rows), 8, 'limit 17.25 ms: 3 + 8 rows = 15.5 ms fits, 3 + 16 = 19.5 ms does not');
  t.equal(chunkFor((rows) => 10 + 0.001 * rows), 256, 'flat cost: the largest chunk');
  const lone = new Batcher(runner, { maxBatchTokens: 512, soloPrefillChunk: 128, stepCost: { at: (rows) => 10 + rows } });
  const slot = lone.join();
  t.equal(lone.prefillChunk(), 128, 'alone: the solo chunk');
  slot.leave();
});

t.test('by default a shared step verifies no drafts, and the outputs are still exact', async (t) => {
  const { runner, batcher, resources } = await load(t, false);
  const ps = prompts().slice(0, 6);
  const refs: number[][] = [];
  for (const p of ps) refs.push((await generate(runner, { promptTokens: p, maxTokens: 16, sampling: GREEDY, eosIds: [], drafters: ['none'] })).tokens);
  const before = batcher.counts.sharedForwards;
  const outs = await Promise.all(ps.map((p) => member(batcher, runner, { promptTokens: p, maxTokens: 16, sampling: GREEDY, eosIds: [], drafters: ['recycling', 'lookup'] }, 0, resources)));
  t.same(outs.map((o) => o.tokens), refs);
  t.ok(batcher.counts.sharedForwards > before, 'steps were shared');
  t.equal(batcher.allocations.length, 0, 'no tree was sized across the batch');
});

t.test('with shared steps not speculating, an auto-budget member drafts nothing while it shares (no wasted proposals)', async (t) => {
  const { runner, batcher, resources } = await load(t, false);
  const ps = prompts().slice(0, 6);
  let proposals = 0;
  const propose = LookupDrafter.prototype.propose;
  LookupDrafter.prototype.propose = function (this: LookupDrafter, ...args: Parameters<LookupDrafter['propose']>) {
    proposals++;
    return propose.apply(this, args);
  };
  t.teardown(() => {
    LookupDrafter.prototype.propose = propose;
  });
  const outs = await Promise.all(ps.map((p) => member(batcher, runner, { promptTokens: p, maxTokens: 24, sampling: GREEDY, eosIds: [], drafters: ['lookup'], treeBudget: 'auto' }, 0, resources)));
  const steps = outs.reduce((a, o) => a + o.speculation!.steps, 0);
  t.ok(steps > 60, `${steps} steps`);
  t.ok(proposals < steps / 4, `${proposals} proposals in ${steps} steps: only steps run alone draft`);
});

t.test('without the memory for a second copy of the weights, the batched graph stays closed and generations take turns', async (t) => {
  const dir = testModel('batch-target', TARGET);
  const runner = await ModelRunner.load(dir, { threads: 1 });
  const warnings: string[] = [];
  const log = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  const batcher = new Batcher(runner, { maxBatchTokens: 512, freeMemoryBytes: () => 1024, log });
  t.teardown(async () => {
    await batcher.dispose();
    await runner.dispose();
  });
  await t.rejects(batcher.warm(), /batched graph not opened/);
  t.equal(batcher.batched, false);
  t.match(warnings[0], /continuous batching off: .* MB are free/);
  const ps = prompts().slice(0, 4);
  const refs: number[][] = [];
  for (const p of ps) refs.push((await generate(runner, { promptTokens: p, maxTokens: 12, sampling: GREEDY, eosIds: [], drafters: ['none'] })).tokens);
  const outs = await Promise.all(ps.map((p) => member(batcher, runner, { promptTokens: p, maxTokens: 12, sampling: GREEDY, eosIds: [], drafters: ['recycling', 'lookup'] }, 0, {})));
  t.same(outs.map((o) => o.tokens), refs, 'outputs are unchanged');
  t.equal(batcher.batched, false);
  t.equal(warnings.length, 1, 'said once');
});
