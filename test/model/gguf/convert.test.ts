// HF → GGUF: make-test-model checkpoints converted to every matrix type re-open with weights close to the HF
// ones; fallbacks for rows that are not whole blocks; RoPE scaling and tokenizer metadata carried over.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { convertCheckpointToGguf, matrixType, type GgufQuant } from '../../../model/gguf/convert.ts';
import { openGgufModel } from '../../../model/gguf/checkpoint.ts';
import { readGguf } from '../../../model/gguf/read.ts';
import { loadCheckpoint, checkpointWeights } from '../../../model/checkpoint.ts';
import { makeTestModel, type TestModelOptions } from '../../../model/make-test-model.ts';
import { relMaxError } from '../../helpers/gguf.ts';

const SMALL: TestModelOptions = { arch: 'llama', seed: 8, layers: 1, hidden: 256, heads: 4, kvHeads: 2, vocab: 320, intermediate: 256 };

// Largest error over largest |weight|, per tensor: the quantizers' bounds (test/model/quant/quantize.test.ts).
const MAX_REL: Record<string, number> = { F32: 0, F16: 2 ** -11, Q8_0: 0.0045, Q4_0: 0.126, Q4_K: 0.075, Q5_K: 0.037, Q6_K: 0.018 };
const TYPE: Record<GgufQuant, string> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0', q4_k: 'Q4_K', q5_k: 'Q5_K', q6_k: 'Q6_K' };

for (const arch of ['llama', 'qwen2'] as const) {
  t.test(`${arch}: every quant type re-opens close to the HF weights`, async (t) => {
    const dir = t.testdir();
    const hf = path.join(dir, 'hf');
    makeTestModel(hf, { ...SMALL, arch });
    const ck = loadCheckpoint(hf);
    const ws = checkpointWeights(ck);
    for (const quant of Object.keys(TYPE) as GgufQuant[]) {
      const file = path.join(dir, `${quant}.gguf`);
      makeTestModel(file, { ...SMALL, arch, format: 'gguf', quant });
      const m = openGgufModel(file);
      const matrices = 9; // embed, head, q k v o, gate up down
      const vectors = 3 + (arch === 'qwen2' ? 3 : 0); // norms (+ q/k/v biases)
      t.same(m.typeSummary, quant === 'f32' ? { F32: matrices + vectors } : { [TYPE[quant]]: matrices, F32: vectors }, `${quant}: types`);
      t.same({ ...m.spec, dtype: '', architecture: '' }, { ...ck.spec, dtype: '', architecture: '' }, `${quant}: spec equals the HF one`);
      t.equal(m.metadata['general.architecture'], arch);
      for (const name of ck.tensors.keys()) {
        const a = ws.get(name).data;
        const type = m.weights.typeOf(name);
        const err = relMaxError(a, m.weights.get(name).data);
        if (type === 'F16') t.ok(err <= 2 ** -11, `${quant} ${name}`);
        else if (err > MAX_REL[type]) t.fail(`${quant} ${name} (${type}): max error ${err} > ${MAX_REL[type]}`);
      }
      t.pass(`${quant}: every tensor within ${MAX_REL[TYPE[quant]]} of its largest weight`);
    }
  });
}

t.test('rows that are not whole blocks fall back: K-quants to Q8_0, then F16', async (t) => {
  t.equal(matrixType('Q4_K', 256), 'Q4_K');
  t.equal(matrixType('Q4_K', 96), 'Q8_0');
  t.equal(matrixType('Q6_K', 96), 'Q8_0');
  t.equal(matrixType('Q4_K', 80), 'F16');
  t.equal(matrixType('Q4_0', 80), 'F16');
  t.equal(matrixType('F32', 7), 'F32');
  const dir = t.testdir();
  const hf = path.join(dir, 'hf');
  makeTestModel(hf, { ...SMALL, hidden: 256, intermediate: 96 }); // down_proj rows of 96
  const out = path.join(dir, 'k.gguf');
  const sum = convertCheckpointToGguf(hf, out, 'q4_k');
  t.same(sum.fallbacks, [{ name: 'blk.0.ffn_down.weight', wanted: 'Q4_K', used: 'Q8_0', cols: 96 }]);
  t.same(openGgufModel(out).typeSummary, { Q4_K: 8, Q8_0: 1, F32: 3 });
});

t.test('RoPE scaling: linear → metadata, llama3 → rope_freqs.weight; both read back to the HF frequencies', async (t) => {
  const dir = t.testdir();
  for (const [kind, scaling] of [['linear', { type: 'linear', factor: 4 }], ['llama3', { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 }]] as const) {
    const hf = path.join(dir, kind);
    makeTestModel(hf, { ...SMALL, hidden: 64, heads: 2, kvHeads: 1, intermediate: 64 });
    const cfgFile = path.join(hf, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), rope_theta: 50000, rope_scaling: scaling }));
    const out = path.join(dir, `${kind}.gguf`);
    convertCheckpointToGguf(hf, out, 'f32');
    const g = readGguf(out);
    t.equal(g.tensors.has('rope_freqs.weight'), kind === 'llama3', `${kind}: rope_freqs.weight`);
    if (kind === 'linear') t.match(g.metadata, { 'llama.rope.scaling.type': 'linear', 'llama.rope.scaling.factor': 4 });
    const want = loadCheckpoint(hf).spec.ropeInvFreq!;
    const got = openGgufModel(out).spec.ropeInvFreq!;
    t.ok(got.every((v, i) => Math.abs(v - want[i]) <= want[i] * 2 ** -21), `${kind}: inv_freq within float32 rounding`);
    t.ok(got.some((v, i) => Math.abs(v - 1 / Math.pow(50000, (2 * i) / 32)) > 1e-3 * v), `${kind}: scaling applied`);
  }
});

t.test('tokenizer metadata goes in; a gpt2 checkpoint is refused', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'm.gguf');
  makeTestModel(file, { ...SMALL, hidden: 64, intermediate: 64, format: 'gguf', quant: 'q8_0' });
  const md = readGguf(file).metadata;
  t.equal((md['tokenizer.ggml.tokens'] as string[]).length, 320);
  t.match(md, { 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2, 'general.file_type': 7, 'general.quantization_version': 2, 'llama.block_count': 1, 'llama.attention.head_count_kv': 2 });
  const gpt2 = path.join(dir, 'gpt2');
  makeTestModel(gpt2, { arch: 'gpt2', layers: 1, hidden: 32, heads: 2 });
  t.throws(() => convertCheckpointToGguf(gpt2, path.join(dir, 'g.gguf'), 'f32'), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /GPT2LMHeadModel cannot be converted to GGUF/ });
  t.throws(() => makeTestModel(path.join(dir, 'g.gguf'), { arch: 'gpt2', format: 'gguf' }), { code: 'SPRIG_ERR_INVALID_PARAM' });
});

t.test('the same options give the same bytes', async (t) => {
  const dir = t.testdir();
  const opts = { ...SMALL, hidden: 64, intermediate: 64, format: 'gguf' as const, quant: 'q4_k' as const };
  makeTestModel(path.join(dir, 'a', 'm.gguf'), opts);
  makeTestModel(path.join(dir, 'b', 'm.gguf'), opts);
  t.ok(fs.readFileSync(path.join(dir, 'a', 'm.gguf')).equals(fs.readFileSync(path.join(dir, 'b', 'm.gguf'))));
  t.equal(readGguf(path.join(dir, 'a', 'm.gguf')).metadata['general.name'], 'm');
});

t.test('sprig make-test-model --format gguf --quant q4_0 writes a file that opens', async (t) => {
  const file = path.join(t.testdir(), 'cli.gguf');
  const bin = path.resolve(import.meta.dirname, '../../../bin/sprig.js');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'make-test-model', '--arch', 'qwen2', '--format', 'gguf', '--quant', 'q4_0', '--out', file, '--layers', '1', '--hidden', '64', '--heads', '2', '--vocab', '300', '--intermediate', '64']);
  t.match(stdout, /GGUF, q4_0/);
  t.match(openGgufModel(file), { spec: { arch: 'qwen2', vocabSize: 300, hidden: 64 }, typeSummary: { Q4_0: 9, F32: 6 } });
});
