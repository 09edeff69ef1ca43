// Quantized graphs (--quantize q8|q4 on float checkpoints) against the reference forward over the same weights
// quantized and dequantized in TypeScript. The graph's int8 activations (accuracy level 4, as llama.cpp's q8
// dot products) add a small error of their own; the tolerance below is stated relative to the logits' spread.
import t from 'tap';
import { ModelRunner, causalBias } from '../../../model/runner.ts';
import { openModelSource } from '../../../model/source.ts';
import { Rng } from '../../../common/rng.ts';
import { maxDiff, spread } from '../../helpers/logits.ts';
import { referenceForward } from '../../helpers/reference-forward.ts';
import { quantizedWeights } from '../../helpers/quantized-weights.ts';
import { testModel } from '../../helpers/models.ts';

const MODELS = {
  llama: { arch: 'llama' as const, seed: 21, layers: 2, hidden: 64, heads: 4, kvHeads: 2, vocab: 300, intermediate: 96 },
  llamaTiedF16: { arch: 'llama' as const, seed: 22, layers: 2, hidden: 64, heads: 4, kvHeads: 1, vocab: 300, intermediate: 128, dtype: 'float16' as const, tiedEmbeddings: true },
  qwen2: { arch: 'qwen2' as const, seed: 23, layers: 2, hidden: 64, heads: 4, kvHeads: 2, vocab: 300, intermediate: 96 },
  gpt2: { arch: 'gpt2' as const, seed: 24, layers: 2, hidden: 64, heads: 4, vocab: 300 },
};

/** Max |graph − reference| over the logits spread; int8 activations stay well under this. */
const REL_TOL = { q8: 0.02, q4: 0.02 };

for (const [name, opts] of Object.entries(MODELS)) {
  for (const mode of ['q8', 'q4'] as const) {
    t.test(`${name} --quantize ${mode}: logits match the reference over the quantized weights`, async (t) => {
      const dir = testModel(`${name}-q`, opts);
      const runner = await ModelRunner.load(dir, { threads: 1, quantize: mode });
      t.teardown(() => runner.dispose());
      const rng = new Rng(5);
      const tokens = Array.from({ length: 7 }, () => rng.nextU32() % runner.vocab);
      const positions = tokens.map((_, i) => i);
      const logits = await runner.forward(runner.newCache(), tokens, positions, causalBias(7, 0));
      const src = openModelSource(dir);
      const qRef = referenceForward({ spec: src.spec, weights: quantizedWeights(src.spec, src.weights, mode) }, tokens, positions, (i, j) => j <= i);
      const fRef = referenceForward(dir, tokens, positions, (i, j) => j <= i);
      let worstQ = 0;
      let worstF = 0;
      for (let i = 0; i < tokens.length; i++) {
        const row = logits.subarray(i * runner.vocab, (i + 1) * runner.vocab);
        const s = spread(qRef[i]);
        worstQ = Math.max(worstQ, maxDiff(row, qRef[i]) / s);
        worstF = Math.max(worstF, maxDiff(row, fRef[i]) / s);
      }
      t.ok(worstQ < REL_TOL[mode], `max |graph − quantized reference| / spread = ${worstQ.toExponential(2)} < ${REL_TOL[mode]}`);
      // 4-bit weights move the logits more than int8 activations do, so the graph must be nearer the 4-bit reference.
      if (mode === 'q4') t.ok(worstQ < worstF / 2, `nearer the quantized weights (${worstQ.toExponential(2)}) than the float ones (${worstF.toExponential(2)})`);
      t.equal(runner.compileInfo.quantize, mode);
    });
  }
}

t.test('the graph cache is keyed by the quantization', async (t) => {
  const dir = testModel('llama-q', MODELS.llama);
  const a = await ModelRunner.load(dir, { threads: 1, quantize: 'q8' });
  const b = await ModelRunner.load(dir, { threads: 1, quantize: 'q4' });
  const c = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(async () => {
    await a.dispose();
    await b.dispose();
    await c.dispose();
  });
  t.not(a.compileInfo.modelPath, b.compileInfo.modelPath);
  t.not(a.compileInfo.modelPath, c.compileInfo.modelPath);
});
