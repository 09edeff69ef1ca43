// The batched forward: sequences of different lengths, each with its own draft tree (or a prefill chunk), in one
// forward give the same logits and the same K/V as each sequence alone; with fewer sequences than the graph's
// slots, exactly as many, and more (several forwards); f32 and quantized weights.
import t, { type Test } from 'tap';
import { BatchRunner, type BatchItem } from '../../model/batch-runner.ts';
import { ModelRunner, causalBias } from '../../model/runner.ts';
import { Rng } from '../../common/rng.ts';
import { testModel } from '../helpers/models.ts';
import { randomTree, treeBias } from '../helpers/trees.ts';

const TOL = 1e-4;

const MODELS = {
  llamaGqa: { arch: 'llama' as const, seed: 11, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 },
  qwen2: { arch: 'qwen2' as const, seed: 14, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 },
  gpt2: { arch: 'gpt2' as const, seed: 15, layers: 2, hidden: 32, heads: 4, vocab: 300 },
};

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A random tree over `prefix` committed rows: its tokens, positions, bias [n, prefix + n] and parents. */
function randomTreeItem(rng: Rng, size: number, vocab: number, prefix: number) {
  const { parents, depth, tokens } = randomTree(rng, size, vocab);
  return { tokens, positions: depth.map((d) => prefix + d), bias: treeBias(parents, prefix), parents };
}

type Spec = { prefix: number; kind: 'chunk' | 'tree'; size: number };

// Prefix lengths 0 (a first prefill chunk), 3, 11, 6 and 9; tree sizes 1, 7, 13 and causal chunks of 4 and 5.
const SPECS: Spec[] = [
  { prefix: 0, kind: 'chunk', size: 4 },
  { prefix: 3, kind: 'tree', size: 1 },
  { prefix: 11, kind: 'tree', size: 13 },
  { prefix: 6, kind: 'tree', size: 7 },
  { prefix: 9, kind: 'chunk', size: 5 },
];

/**
 * Runs `specs` (sequence 4, when there is one, asks for logit rows [4, 0] only) through a BatchRunner with `slots`
 * slots and each alone on the single-sequence graph; checks the logits, then that the pending K/V rows are each
 * sequence's own by committing the deepest path and continuing alone in both caches.
 */
async function checkBatch(t: Test, runner: ModelRunner, specs: Spec[], slots: number, tol = TOL): Promise<void> {
  const batch = await BatchRunner.open(runner, slots);
  t.teardown(() => batch.dispose());
  t.equal(batch.slots, slots);
  const rng = new Rng(3);
  const seqs = await Promise.all(specs.map(async (sp) => {
    const prompt = Array.from({ length: sp.prefix }, () => rng.nextU32() % runner.vocab);
    const alone = runner.newCache();
    const batched = runner.newCache();
    if (sp.prefix > 0) {
      await runner.prefill(alone, prompt);
      await runner.prefill(batched, prompt);
    }
    const step = sp.kind === 'tree'
      ? randomTreeItem(rng, sp.size, runner.vocab, sp.prefix)
      : (() => {
        const tokens = Array.from({ length: sp.size }, () => rng.nextU32() % runner.vocab);
        return { tokens, positions: tokens.map((_, i) => sp.prefix + i), bias: causalBias(sp.size, sp.prefix), parents: tokens.map((_, i) => i - 1) };
      })();
    return { alone, batched, step };
  }));
  // The rows after each past hold NaN, as a stale tree could: the graph must write its new K/V rows there before it
  // attends over them.
  for (const s of seqs) {
    const n = s.step.tokens.length;
    s.batched.reserve(n);
    const nan = new Float32Array(n * runner.spec.numKvHeads * runner.spec.headDim).fill(NaN);
    for (let l = 0; l < runner.spec.numLayers; l++) s.batched.writePending(l, nan, nan, n);
  }
  const items: BatchItem[] = seqs.map((s, i) => ({ cache: s.batched, tokens: s.step.tokens, positions: s.step.positions, bias: s.step.bias, logitRows: i === 4 ? [4, 0] : undefined }));
  const outs = await batch.forward(items);
  t.equal(outs.length, items.length);
  let worst = 0;
  for (let i = 0; i < seqs.length; i++) {
    const s = seqs[i];
    const ref = await runner.forward(s.alone, s.step.tokens, s.step.positions, s.step.bias, items[i].logitRows);
    t.equal(outs[i].length, ref.length, `sequence ${i}: ${ref.length / runner.vocab} logit rows`);
    worst = Math.max(worst, maxDiff(outs[i], ref));
  }
  t.ok(worst < tol, `max |batched − alone| = ${worst.toExponential(2)} < ${tol}`);
  t.ok(maxDiff(outs[0].subarray(0, runner.vocab), outs[1].subarray(0, runner.vocab)) > 1e-2, 'sequences differ');

  let worstNext = 0;
  for (const s of seqs) {
    const leaf = s.step.parents.length - 1;
    const path: number[] = [];
    for (let j = leaf; j >= 0; j = s.step.parents[j]) path.unshift(j);
    s.alone.commit(path);
    s.batched.commit(path);
    const next = [rng.nextU32() % runner.vocab];
    const a = await runner.forward(s.alone, next, [s.alone.length], causalBias(1, s.alone.length));
    const b = await runner.forward(s.batched, next, [s.batched.length], causalBias(1, s.batched.length));
    worstNext = Math.max(worstNext, maxDiff(a, b));
  }
  t.ok(worstNext < tol, `after commit, continuing gives the same logits (${worstNext.toExponential(2)})`);
}

async function load(t: Test, name: string, opts: Parameters<typeof testModel>[1], quantize?: 'q4' | 'q8'): Promise<ModelRunner> {
  const runner = await ModelRunner.load(testModel(name, opts), { threads: 1, quantize });
  t.teardown(() => runner.dispose());
  return runner;
}

for (const [name, opts] of Object.entries(MODELS)) {
  t.test(`${name}: a batched forward over sequences of different lengths, each with its own tree, equals each alone`, async (t) => {
    await checkBatch(t, await load(t, name, opts), SPECS, 8); // fewer sequences than slots
  });
}

t.test('exactly as many sequences as slots, and more (several forwards), with very different lengths', async (t) => {
  const runner = await load(t, 'llamaGqa', MODELS.llamaGqa);
  const specs: Spec[] = [...SPECS, { prefix: 1, kind: 'tree', size: 3 }, { prefix: 140, kind: 'chunk', size: 1 }];
  await checkBatch(t, runner, specs, specs.length);
  await checkBatch(t, runner, specs, 3);
  await checkBatch(t, runner, specs.slice(5), 1);
});

for (const mode of ['q8', 'q4'] as const) {
  t.test(`--quantize ${mode}: the batched forward equals each alone`, async (t) => {
    const runner = await load(t, 'llamaGqa-q', { ...MODELS.llamaGqa, hidden: 64, intermediate: 96 }, mode);
    await checkBatch(t, runner, SPECS, 8);
  });
}

t.test('a batch of one equals the single-sequence graph', async (t) => {
  const runner = await ModelRunner.load(testModel('llamaGqa', MODELS.llamaGqa), { threads: 1 });
  const batch = await BatchRunner.open(runner);
  t.teardown(async () => {
    await batch.dispose();
    await runner.dispose();
  });
  const a = runner.newCache();
  const b = runner.newCache();
  await runner.prefill(a, [5, 6, 7]);
  await runner.prefill(b, [5, 6, 7]);
  const ref = await runner.forward(a, [8, 9], [3, 4], causalBias(2, 3));
  const [out] = await batch.forward([{ cache: b, tokens: [8, 9], positions: [3, 4], bias: causalBias(2, 3) }]);
  t.ok(maxDiff(out, ref) < TOL);
  await t.rejects(batch.forward([{ cache: b, tokens: [400], positions: [3], bias: causalBias(1, 3) }]), { code: 'SPRIG_ERR_INVALID_PARAM' });
});
