// openGgufModel: llama.cpp's stories260K.gguf serves exactly stories260K-hf's tensors (names mapped, Q/K rows
// un-permuted); the spec comes from the metadata; unsupported files fail naming what is wrong.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openGgufModel } from '../../../model/gguf/checkpoint.ts';
import { readGguf, readTensorData } from '../../../model/gguf/read.ts';
import { loadCheckpoint, checkpointWeights } from '../../../model/checkpoint.ts';
import { makeTestModel } from '../../../model/make-test-model.ts';
import { dequantize } from '../../../model/quant/dequant.ts';
import type { GgufKv } from '../../../model/gguf/metadata.ts';
import { hasStoriesGguf, patchTensorType, rewriteGguf, SKIP_SHARED, STORIES_GGUF, STORIES_HF } from '../../helpers/gguf.ts';

t.test('stories260K.gguf serves the same tensors as stories260K-hf, in HF names and row order', { skip: hasStoriesGguf ? false : SKIP_SHARED }, async (t) => {
  const m = openGgufModel(STORIES_GGUF);
  const hf = loadCheckpoint(STORIES_HF);
  const ws = checkpointWeights(hf);
  t.equal(hf.tensors.size, 48);
  for (const name of hf.tensors.keys()) {
    t.ok(m.weights.has(name), name);
    const a = ws.get(name);
    const b = m.weights.get(name);
    t.same(b.shape, a.shape, `${name} shape`);
    t.ok(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer)), `${name} equal`);
    const raw = m.weights.raw(name);
    t.equal(raw.type, 'F32');
    t.ok(Buffer.from(raw.data).equals(Buffer.from(a.data.buffer)), `${name} raw equal`);
  }
  // The file really is in llama.cpp's order: its Q rows differ from HF's, so the un-permutation did the work.
  const q = readGguf(STORIES_GGUF).tensors.get('blk.0.attn_q.weight')!;
  t.notOk(Buffer.from(readTensorData(STORIES_GGUF, q)).equals(Buffer.from(ws.get('model.layers.0.self_attn.q_proj.weight').data.buffer)));

  const s = m.spec;
  const h = hf.spec;
  for (const k of ['arch', 'numLayers', 'hidden', 'numHeads', 'numKvHeads', 'headDim', 'intermediate', 'vocabSize', 'contextLength', 'tiedEmbeddings', 'qkvBias', 'bosTokenId'] as const) t.same(s[k], h[k], k);
  t.same(Array.from(s.ropeInvFreq!), Array.from(h.ropeInvFreq!));
  t.equal(s.normEps, 1e-5, 'the f32 field read as the decimal it stands for');
  t.same(s.eosTokenIds, [2]);
  t.equal(s.architecture, 'LlamaForCausalLM (GGUF)');
  t.equal(s.dtype, 'F32');
  t.same(m.typeSummary, { F32: 48 });
  t.equal(m.parameterCount, [...hf.tensors.values()].reduce((n, x) => n + x.shape.reduce((a, b) => a * b, 1), 0));
  t.equal(m.fileBytes, fs.statSync(STORIES_GGUF).size);
});

/** A converted test model (F32) and the HF folder it came from. */
function testPair(dir: string, arch: 'llama' | 'qwen2', extra: Record<string, unknown> = {}): { hf: string; file: string } {
  const hf = path.join(dir, `${arch}-hf`);
  const file = path.join(dir, `${arch}.gguf`);
  makeTestModel(hf, { arch, seed: 3, layers: 2, hidden: 64, heads: 4, kvHeads: 2, vocab: 320, intermediate: 96, ...extra });
  makeTestModel(file, { arch, seed: 3, layers: 2, hidden: 64, heads: 4, kvHeads: 2, vocab: 320, intermediate: 96, ...extra, format: 'gguf', quant: 'f32' });
  return { hf, file };
}

t.test('llama: Q/K rows are stored in llama.cpp order and served back in HF order', async (t) => {
  const { hf, file } = testPair(t.testdir(), 'llama');
  const ws = checkpointWeights(loadCheckpoint(hf));
  const m = openGgufModel(file);
  for (const name of loadCheckpoint(hf).tensors.keys()) t.same(m.weights.get(name).data, ws.get(name).data, name);
  // GGUF row h·hd + 2i + s holds HF row h·hd + s·hd/2 + i (hd = 16, 2 KV heads → 32 rows of 64).
  const g = readGguf(file);
  const k = dequantize('F32', readTensorData(file, g.tensors.get('blk.1.attn_k.weight')!), 32 * 64);
  const kHf = ws.get('model.layers.1.self_attn.k_proj.weight').data;
  for (const [h, i, s] of [[0, 0, 1], [1, 3, 0], [1, 7, 1]]) {
    t.same(k.subarray((h * 16 + 2 * i + s) * 64, (h * 16 + 2 * i + s + 1) * 64), kHf.subarray((h * 16 + s * 8 + i) * 64, (h * 16 + s * 8 + i + 1) * 64), `head ${h} pair ${i} half ${s}`);
  }
  t.notOk(m.weights.has('lm_head.weight') && m.spec.tiedEmbeddings);
});

t.test('qwen2: biases served, rows untouched (NeoX RoPE needs no permutation), tied embeddings', async (t) => {
  const { hf, file } = testPair(t.testdir(), 'qwen2', { tiedEmbeddings: true });
  const ck = loadCheckpoint(hf);
  const ws = checkpointWeights(ck);
  const m = openGgufModel(file);
  t.match(m.spec, { arch: 'qwen2', architecture: 'Qwen2ForCausalLM (GGUF)', qkvBias: true, tiedEmbeddings: true, vocabSize: 320, numKvHeads: 2 });
  t.notOk(m.weights.has('lm_head.weight'));
  t.throws(() => m.weights.get('lm_head.weight'), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /lm_head\.weight is missing/ });
  for (const name of ck.tensors.keys()) t.same(m.weights.get(name).data, ws.get(name).data, name);
  const g = readGguf(file);
  t.same(dequantize('F32', readTensorData(file, g.tensors.get('blk.0.attn_q.bias')!), 64), ws.get('model.layers.0.self_attn.q_proj.bias').data, 'stored in HF order');
});

t.test('RoPE from the metadata: freq_base, linear scaling, Llama 3 rope_freqs divisors', async (t) => {
  const dir = t.testdir();
  const { file } = testPair(dir, 'llama');
  const base = (x: number, i: number) => 1 / Math.pow(x, (2 * i) / 16);
  const edited = path.join(dir, 'rope.gguf');
  const divisors = Float32Array.from({ length: 8 }, (_, i) => 1 + i);
  rewriteGguf(file, edited, {
    kvs: (kvs) => [...kvs.filter((kv) => kv.key !== 'llama.rope.freq_base'), { key: 'llama.rope.freq_base', type: 'f32', value: 500000 }, { key: 'llama.rope.scaling.type', type: 'string', value: 'linear' }, { key: 'llama.rope.scaling.factor', type: 'f32', value: 4 }],
    tensors: (ts) => [...ts, { name: 'rope_freqs.weight', tensor: { type: 'F32', shape: [8], data: new Uint8Array(divisors.buffer) } }],
  });
  const inv = openGgufModel(edited).spec.ropeInvFreq!;
  for (let i = 0; i < 8; i++) {
    const want = base(500000, i) / 4 / divisors[i];
    t.ok(Math.abs(inv[i] - want) <= want * 2 ** -22, `inv_freq[${i}] ${inv[i]} ≈ ${want} (two float32 roundings)`);
  }
  const noBase = path.join(dir, 'nobase.gguf');
  rewriteGguf(file, noBase, { kvs: (kvs) => kvs.filter((kv) => kv.key !== 'llama.rope.freq_base') });
  t.equal(openGgufModel(noBase).spec.ropeInvFreq![1], Math.fround(base(10000, 1)), 'freq_base defaults to 10000');
});

t.test('unsupported or inconsistent files fail naming the problem', async (t) => {
  const dir = t.testdir();
  const { file } = testPair(dir, 'llama');
  const out = path.join(dir, 'bad.gguf');
  const setKv = (key: string, kv: GgufKv | null) => (kvs: GgufKv[]) => [...kvs.filter((x) => x.key !== key), ...(kv ? [kv] : [])];
  const cases: [string, Parameters<typeof rewriteGguf>[2], string, RegExp][] = [
    ['architecture', { kvs: setKv('general.architecture', { key: 'general.architecture', type: 'string', value: 'phi3' }) }, 'SPRIG_ERR_UNSUPPORTED_MODEL', /general\.architecture="phi3" is not supported \(supported: llama, qwen2\)/],
    ['partial rotary', { kvs: setKv('llama.rope.dimension_count', { key: 'llama.rope.dimension_count', type: 'u32', value: 8 }) }, 'SPRIG_ERR_UNSUPPORTED_MODEL', /rope\.dimension_count=8 differs from the head size 16/],
    ['experts', { kvs: (kvs) => [...kvs, { key: 'llama.expert_count', type: 'u32', value: 8 }] }, 'SPRIG_ERR_UNSUPPORTED_MODEL', /expert_count=8/],
    ['yarn', { kvs: (kvs) => [...kvs, { key: 'llama.rope.scaling.type', type: 'string', value: 'yarn' }, { key: 'llama.rope.scaling.factor', type: 'f32', value: 4 }] }, 'SPRIG_ERR_UNSUPPORTED_MODEL', /rope\.scaling\.type="yarn"/],
    ['missing eps', { kvs: setKv('llama.attention.layer_norm_rms_epsilon', null) }, 'SPRIG_ERR_BAD_CHECKPOINT', /llama\.attention\.layer_norm_rms_epsilon is missing/],
    ['missing tensor', { tensors: (ts) => ts.filter((x) => x.name !== 'blk.1.ffn_up.weight') }, 'SPRIG_ERR_BAD_CHECKPOINT', /blk\.1\.ffn_up\.weight \(model\.layers\.1\.mlp\.up_proj\.weight\) is missing/],
    ['unknown tensor', { tensors: (ts) => [...ts, { name: 'blk.0.attn_q_norm.weight', tensor: { type: 'F32', shape: [16], data: new Uint8Array(64) } }] }, 'SPRIG_ERR_UNSUPPORTED_MODEL', /tensor blk\.0\.attn_q_norm\.weight is not part of the llama layout/],
    ['wrong shape', { kvs: setKv('llama.feed_forward_length', { key: 'llama.feed_forward_length', type: 'u32', value: 128 }) }, 'SPRIG_ERR_BAD_CHECKPOINT', /blk\.0\.ffn_gate\.weight has shape \[96,64\] \(HF order\), the metadata implies \[128,64\]/],
    ['vocab', { kvs: (kvs) => kvs.map((kv) => (kv.key === 'tokenizer.ggml.tokens' && kv.type === 'array' && kv.itemType === 'string' ? { ...kv, value: kv.value.slice(1) } : kv)) }, 'SPRIG_ERR_BAD_CHECKPOINT', /token_embd\.weight has 320 rows but tokenizer\.ggml\.tokens has 319 tokens/],
  ];
  for (const [what, edit, code, message] of cases) {
    rewriteGguf(file, out, edit);
    t.throws(() => openGgufModel(out), { code, message }, what);
  }
});

t.test('a tensor of an unsupported ggml type fails at load naming it, its type and the supported types', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'q.gguf');
  makeTestModel(file, { arch: 'llama', layers: 1, hidden: 64, heads: 4, vocab: 320, intermediate: 96, format: 'gguf', quant: 'q4_0' });
  patchTensorType(file, 'blk.0.attn_v.weight', 20); // IQ4_NL has Q4_0's block size
  t.equal(readGguf(file).tensors.get('blk.0.attn_v.weight')!.typeName, 'IQ4_NL', 'the reader still lists it');
  t.throws(() => openGgufModel(file), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /tensor blk\.0\.attn_v\.weight is stored as IQ4_NL \(ggml type 20\), which Sprig cannot decode \(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K\)/ });
});
