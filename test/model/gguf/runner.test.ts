// GGUF files through the whole runtime: converted test models of every quantized type against the reference
// forward over the file's dequantized weights, and llama.cpp's own files against llama.cpp's greedy runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { convertCheckpointToGguf, type GgufQuant } from '../../../model/gguf/convert.ts';
import { ModelRunner, causalBias } from '../../../model/runner.ts';
import { generate } from '../../../engine/generate.ts';
import { Rng } from '../../../common/rng.ts';
import { maxDiff, spread } from '../../helpers/logits.ts';
import { referenceForward } from '../../helpers/reference-forward.ts';
import { SHARED, testModel } from '../../helpers/models.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sprig-gguf-run-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Rows of 256 so every K-quant fits (k-quant super-blocks are 256 wide).
const OPTS = { arch: 'llama' as const, seed: 31, layers: 2, hidden: 256, heads: 4, kvHeads: 2, vocab: 300, intermediate: 256 };
const QWEN = { arch: 'qwen2' as const, seed: 32, layers: 1, hidden: 256, heads: 4, kvHeads: 2, vocab: 300, intermediate: 256 };

/**
 * Max |graph − reference| over the logits' spread, per type. The reference uses the file's exact weights; the
 * graph adds int8 activations (MatMulNBits accuracy level 4, as llama.cpp's q8 dot products). Measured: ≤ 1e-6 for
 * f32/f16, ≤ 6e-3 for Q8_0/Q4_0/Q6_K, ≤ 1.6e-2 for Q4_K and Q5_K (their min term is a second product over int8
 * sums of the activations, so the two products cancel and their rounding adds up; see model/quant/nbits.ts).
 */
const TOL: Record<GgufQuant, number> = { f32: 1e-4, f16: 1e-4, q8_0: 0.02, q4_0: 0.02, q4_k: 0.03, q5_k: 0.03, q6_k: 0.02 };

for (const [name, opts] of [['llama', OPTS], ['qwen2', QWEN]] as const) {
  for (const quant of ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'] as GgufQuant[]) {
    t.test(`${name} GGUF ${quant}: logits match the reference over the file's weights`, async (t) => {
      const file = path.join(tmp, `${name}-${quant}.gguf`);
      convertCheckpointToGguf(testModel(`${name}-gguf-src`, opts), file, quant);
      const runner = await ModelRunner.load(file, { threads: 1 });
      t.teardown(() => runner.dispose());
      const rng = new Rng(9);
      const tokens = Array.from({ length: 6 }, () => rng.nextU32() % runner.vocab);
      const positions = tokens.map((_, i) => i);
      const cache = runner.newCache();
      const a = await runner.forward(cache, tokens.slice(0, 4), positions.slice(0, 4), causalBias(4, 0));
      cache.commitAll();
      const b = await runner.forward(cache, tokens.slice(4), positions.slice(4), causalBias(2, 4));
      const ref = referenceForward(file, tokens, positions, (i, j) => j <= i);
      let worst = 0;
      for (let i = 0; i < tokens.length; i++) {
        const row = i < 4 ? a.subarray(i * runner.vocab, (i + 1) * runner.vocab) : b.subarray((i - 4) * runner.vocab, (i - 3) * runner.vocab);
        worst = Math.max(worst, maxDiff(row, ref[i]) / spread(ref[i]));
      }
      t.ok(worst < TOL[quant], `max |graph − reference| / spread = ${worst.toExponential(2)} < ${TOL[quant]}`);
      t.equal(runner.source.format, 'gguf');
    });
  }
}

t.test('a GGUF draft (Q4_0) for an HF target stays lossless', async (t) => {
  const target = testModel('llama-gguf-src', OPTS);
  const draftFile = path.join(tmp, 'draft-q4_0.gguf');
  convertCheckpointToGguf(target, draftFile, 'q4_0');
  const runner = await ModelRunner.load(target, { threads: 1 });
  const draft = await ModelRunner.load(draftFile, { threads: 1 });
  t.teardown(async () => {
    await runner.dispose();
    await draft.dispose();
  });
  const promptTokens = [1, 40, 41, 42, 43];
  const plain = await generate(runner, { promptTokens, maxTokens: 40, sampling: { temperature: 0, topK: 0, topP: 1 }, drafters: ['none'], treeBudget: 0 });
  for (const budget of [4, 16] as const) {
    const spec = await generate(runner, { promptTokens, maxTokens: 40, sampling: { temperature: 0, topK: 0, topP: 1 }, drafters: ['draft'], treeBudget: budget }, undefined, { draft });
    t.same(spec.tokens, plain.tokens, `budget ${budget}: greedy tokens equal plain decoding`);
    t.ok((spec.speculation?.accepted ?? 0) > 0, `budget ${budget}: drafts were accepted (${spec.speculation?.accepted})`);
  }
});

// ---- llama.cpp's files (../shared; skipped on a fresh clone) ----
const MODELS = path.join(SHARED, 'models');
const STORIES_IDS = [432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432];

async function greedy(file: string, prompt: string, maxTokens: number) {
  const runner = await ModelRunner.load(file, { threads: 1 });
  const tokenizer = await runner.source.loadTokenizer();
  const promptTokens = tokenizer.encode(prompt);
  const r = await generate(runner, { promptTokens, maxTokens, sampling: { temperature: 0, topK: 0, topP: 1 }, drafters: ['none'], treeBudget: 0 });
  return { runner, promptTokens, tokens: r.tokens };
}

t.test('stories260K.gguf (F32, written by llama.cpp) gives stories260K-hf\'s greedy ids exactly', { skip: fs.existsSync(path.join(MODELS, 'stories260K.gguf')) ? false : 'no ../shared/models/stories260K.gguf' }, async (t) => {
  const { runner, promptTokens, tokens } = await greedy(path.join(MODELS, 'stories260K.gguf'), 'Once upon a time', 48);
  t.teardown(() => runner.dispose());
  t.same(promptTokens, [1, 403, 407, 261, 378]);
  t.same(tokens, STORIES_IDS);
});

const refFile = path.join(MODELS, 'gguf', 'reference-greedy.json');
const refs: Record<string, { prompt: string; prompt_ids: number[]; completion_ids: number[]; top2_prob_gap: number[] }> = fs.existsSync(refFile) ? JSON.parse(fs.readFileSync(refFile, 'utf8')) : {};
t.test('llama.cpp\'s GGUF files match llama.cpp\'s greedy ids up to the first near-tie', { skip: Object.keys(refs).length ? false : 'no ../shared/models/gguf' }, async (t) => {
  for (const [name, ref] of Object.entries(refs)) {
    const file = path.join(MODELS, 'gguf', name);
    const { runner, promptTokens, tokens } = await greedy(file, ref.prompt, ref.completion_ids.length);
    t.same(promptTokens, ref.prompt_ids, `${name}: prompt ids`);
    const firstTie = ref.top2_prob_gap.findIndex((g) => g < 0.05);
    const split = tokens.findIndex((id, i) => id !== ref.completion_ids[i]);
    if (split === -1 || (firstTie !== -1 && split >= firstTie)) {
      t.pass(`${name}: equal ${split === -1 ? 'throughout' : `up to step ${split}`} (first near-tie at ${firstTie})`);
    } else {
      // Parting before a near-tie is allowed only where exact arithmetic (float64 over the file's dequantized
      // weights) agrees with Sprig: then llama.cpp's own rounding (its q8 activations) made the difference.
      const ctx = [...promptTokens, ...tokens.slice(0, split)];
      const logits = referenceForward(file, ctx, ctx.map((_, i) => i), (i, j) => j <= i)[ctx.length - 1];
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      let z = 0;
      for (const v of logits) z += Math.exp(v - logits[best]);
      const prob = (id: number) => Math.exp(logits[id] - logits[best]) / z;
      const gap = prob(best) - prob(ref.completion_ids[split]);
      t.equal(best, tokens[split], `${name}: parts from llama.cpp at step ${split} (llama.cpp gap ${ref.top2_prob_gap[split].toFixed(3)}), where exact float64 arithmetic picks Sprig's token ${tokens[split]} over llama.cpp's ${ref.completion_ids[split]} (probability gap ${gap.toFixed(3)})`);
    }
    await runner.dispose();
  }
});
