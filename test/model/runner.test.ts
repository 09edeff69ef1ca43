// ONNX runtime vs the plain-TS reference forward, the tree-attention property, KV commit and truncate.
import t from 'tap';
import { ModelRunner, causalBias, MASKED } from '../../model/runner.ts';
import { openModelSource } from '../../model/source.ts';
import { Rng } from '../../common/rng.ts';
import { referenceForward } from '../helpers/reference-forward.ts';
import { testModel, hasStories, STORIES } from '../helpers/models.ts';
import { randomTree, treeBias } from '../helpers/trees.ts';

const TOL = 1e-4;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const MODELS = {
  llamaGqa: { arch: 'llama' as const, seed: 11, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 },
  llamaTiedF16: { arch: 'llama' as const, seed: 12, layers: 2, hidden: 32, heads: 4, kvHeads: 1, vocab: 300, intermediate: 40, dtype: 'float16' as const, tiedEmbeddings: true },
  llamaBf16: { arch: 'llama' as const, seed: 13, layers: 1, hidden: 32, heads: 2, kvHeads: 2, vocab: 300, intermediate: 40, dtype: 'bfloat16' as const },
  qwen2: { arch: 'qwen2' as const, seed: 14, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 },
  gpt2: { arch: 'gpt2' as const, seed: 15, layers: 2, hidden: 32, heads: 4, vocab: 300 },
};

for (const [name, opts] of Object.entries(MODELS)) {
  t.test(`${name}: ONNX logits match the reference forward`, async (t) => {
    const dir = testModel(name, opts);
    const runner = await ModelRunner.load(dir, { threads: 1 });
    t.teardown(() => runner.dispose());
    const rng = new Rng(7);
    const tokens = Array.from({ length: 9 }, () => rng.nextU32() % runner.vocab);
    const positions = tokens.map((_, i) => i);
    const cache = runner.newCache();
    // Two chunks: 5 tokens causal, then 4 more over the committed prefix.
    const a = await runner.forward(cache, tokens.slice(0, 5), positions.slice(0, 5), causalBias(5, 0));
    cache.commitAll();
    const b = await runner.forward(cache, tokens.slice(5), positions.slice(5), causalBias(4, 5));
    const ref = referenceForward(dir, tokens, positions, (i, j) => j <= i);
    let worst = 0;
    for (let i = 0; i < 9; i++) {
      const row = i < 5 ? a.subarray(i * runner.vocab, (i + 1) * runner.vocab) : b.subarray((i - 5) * runner.vocab, (i - 4) * runner.vocab);
      worst = Math.max(worst, maxDiff(row, ref[i]));
    }
    t.ok(worst < TOL, `max |onnx - reference| = ${worst.toExponential(2)} < ${TOL}`);
    // The logits are not trivially flat: a wrong graph would not pass by accident.
    t.ok(maxDiff(ref[0], ref[1]) > 1e-2, 'rows differ');
  });
}

function rootPath(parents: number[], node: number): number[] {
  const path: number[] = [];
  for (let j = node; j >= 0; j = parents[j]) path.unshift(j);
  return path;
}

for (const name of ['llamaGqa', 'qwen2', 'gpt2'] as const) {
  t.test(`${name}: one tree-masked forward equals token-by-token decoding of every root path`, async (t) => {
    const dir = testModel(name, MODELS[name]);
    const runner = await ModelRunner.load(dir, { threads: 1 });
    t.teardown(() => runner.dispose());
    const rng = new Rng(99);
    const prefix = Array.from({ length: 6 }, () => rng.nextU32() % runner.vocab);
    const tree = randomTree(rng, 17, runner.vocab);

    const cache = runner.newCache();
    await runner.prefill(cache, prefix);
    const treeLogits = await runner.forward(cache, tree.tokens, tree.depth.map((d) => prefix.length + d), treeBias(tree.parents, prefix.length));

    let worst = 0;
    for (let node = 0; node < tree.tokens.length; node++) {
      const c = runner.newCache();
      await runner.prefill(c, prefix);
      let last: Float32Array | null = null;
      for (const j of rootPath(tree.parents, node)) {
        last = await runner.forward(c, [tree.tokens[j]], [c.length], causalBias(1, c.length));
        c.commitAll();
      }
      worst = Math.max(worst, maxDiff(treeLogits.subarray(node * runner.vocab, (node + 1) * runner.vocab), last as Float32Array));
    }
    t.ok(worst < TOL, `17-node tree, max diff ${worst.toExponential(2)} < ${TOL}`);
    t.ok(Math.max(...tree.depth) >= 3, 'the tree has depth');
  });
}

t.test('commit(path) then continuing equals never having drafted the rejected nodes', async (t) => {
  const dir = testModel('llamaGqa', MODELS.llamaGqa);
  const runner = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(() => runner.dispose());
  const rng = new Rng(5);
  const prefix = Array.from({ length: 5 }, () => rng.nextU32() % runner.vocab);
  const tree = randomTree(rng, 16, runner.vocab);
  const leaf = tree.depth.indexOf(Math.max(...tree.depth));
  const path = rootPath(tree.parents, leaf);
  const next = [rng.nextU32() % runner.vocab, rng.nextU32() % runner.vocab];

  const a = runner.newCache();
  await runner.prefill(a, prefix);
  await runner.forward(a, tree.tokens, tree.depth.map((d) => prefix.length + d), treeBias(tree.parents, prefix.length));
  a.commit(path);
  t.equal(a.length, prefix.length + path.length);
  const afterCommit = await runner.forward(a, next, [a.length, a.length + 1], causalBias(2, a.length));

  const b = runner.newCache();
  await runner.prefill(b, [...prefix, ...path.map((j) => tree.tokens[j])]);
  const clean = await runner.forward(b, next, [b.length, b.length + 1], causalBias(2, b.length));
  t.ok(maxDiff(afterCommit, clean) < TOL, `diff ${maxDiff(afterCommit, clean).toExponential(2)}`);

  // truncate back to the prefix and decode the same path again: same logits as a fresh decode.
  a.truncate(prefix.length);
  await runner.forward(a, path.map((j) => tree.tokens[j]), path.map((_, i) => prefix.length + i), causalBias(path.length, prefix.length));
  a.commitAll();
  const again = await runner.forward(a, next, [a.length, a.length + 1], causalBias(2, a.length));
  t.ok(maxDiff(again, clean) < TOL, 'truncate + redo equals clean');
});

t.test('context overflow and bad commits fail loudly', async (t) => {
  const dir = testModel('gpt2small', { arch: 'gpt2', seed: 3, layers: 1, hidden: 16, heads: 2, vocab: 300, contextLength: 16 });
  const runner = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(() => runner.dispose());
  const cache = runner.newCache();
  await t.rejects(runner.prefill(cache, Array.from({ length: 17 }, (_, i) => i)), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', message: /17 tokens .* 16 tokens/ });
  await runner.prefill(cache, [1, 2, 3]);
  await runner.forward(cache, [4, 5], [3, 4], causalBias(2, 3));
  t.throws(() => cache.commit([1, 0]), { code: 'SPRIG_ERR_INTERNAL' });
  await t.rejects(runner.forward(cache, [400], [3], causalBias(1, 3)), { code: 'SPRIG_ERR_INVALID_PARAM' });
});

t.test('causal bias: each new token sees the prefix and the new tokens up to itself', async (t) => {
  const X = Math.fround(MASKED);
  t.same(Array.from(causalBias(3, 1)), [0, 0, X, X, 0, 0, 0, X, 0, 0, 0, 0]);
});

t.test('stories260K greedy continuation equals the reference text', { skip: !hasStories && 'no ../shared/models' }, async (t) => {
  const runner = await ModelRunner.load(STORIES, { threads: 1 });
  t.teardown(() => runner.dispose());
  const expected = [432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432];
  const cache = runner.newCache();
  let logits = await runner.prefill(cache, [1, 403, 407, 261, 378]);
  const out: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    let best = 0;
    for (let v = 1; v < runner.vocab; v++) if (logits[v] > logits[best]) best = v;
    out.push(best);
    logits = await runner.forward(cache, [best], [cache.length], causalBias(1, cache.length));
    cache.commitAll();
  }
  t.same(out, expected);
});

t.test('--ctx-size sets the context window, never past the model\'s own', async (t) => {
  const dir = testModel('llamaGqa', MODELS.llamaGqa);
  const small = await ModelRunner.load(dir, { threads: 1, contextLength: 64 });
  const big = await ModelRunner.load(dir, { threads: 1, contextLength: 1 << 20 });
  t.teardown(async () => {
    await small.dispose();
    await big.dispose();
  });
  t.equal(small.contextLength, 64);
  t.throws(() => small.checkFits(65), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW', message: /65 tokens do not fit the context window of 64/ });
  const own = openModelSource(dir).spec.contextLength;
  t.equal(big.contextLength, own, `capped at the model's own ${own}`);
  t.not(small.compileInfo.modelPath, big.compileInfo.modelPath, 'the graph is keyed by the context (its rotary tables)');
});
