// A llama.cpp GGUF file as a Sprig model: ModelSpec from the metadata, and a WeightSource that serves HF names
// and HF row order (the llama arch's rotary Q/K permutation undone), reading one tensor per call.
// Architectures: llama (Llama 1/2/3, Mistral-style, TinyLlama, SmolLM) and qwen2.
import path from 'node:path';
import { errors } from '../../common/errors.ts';
import { ropeInvFreq, type ModelSpec } from '../config.ts';
import type { GgmlType, RawTensor, WeightSource } from '../weights.ts';
import { dequantize } from '../quant/dequant.ts';
import { SUPPORTED_TYPES } from '../quant/ggml-types.ts';
import type { GgufMetadata } from './metadata.ts';
import { ggufNameOf, hfNameOf, isRotaryProjection } from './names.ts';
import { ggufToHfRows } from './permute.ts';
import { readGguf, readTensorData, type GgufTensorInfo } from './read.ts';
import { ggufSpecialIds } from './tokenizer.ts';

export interface GgufModel {
  file: string;
  spec: ModelSpec;
  /** HF names, HF row order. */
  weights: WeightSource;
  metadata: GgufMetadata;
  /** All tensors of the file by GGUF name (read.ts). */
  tensors: Map<string, GgufTensorInfo>;
  fileBytes: number;
  /** Elements of the mapped weight tensors (rope_freqs not counted). */
  parameterCount: number;
  /** Tensor count per ggml type name, e.g. { Q4_K: 32, Q6_K: 5, F32: 11 }. */
  typeSummary: Record<string, number>;
}

const ARCHS: Record<string, { arch: 'llama' | 'qwen2'; architecture: string }> = {
  llama: { arch: 'llama', architecture: 'LlamaForCausalLM (GGUF)' },
  qwen2: { arch: 'qwen2', architecture: 'Qwen2ForCausalLM (GGUF)' },
};

export function openGgufModel(file: string): GgufModel {
  const abs = path.resolve(file);
  const g = readGguf(abs);
  const md = g.metadata;
  const archName = md['general.architecture'];
  if (typeof archName !== 'string') throw errors.badCheckpoint(`${abs}: general.architecture is missing`);
  const known = ARCHS[archName];
  if (!known) throw errors.unsupportedModel(`${abs}: general.architecture=${JSON.stringify(archName)} is not supported (supported: ${Object.keys(ARCHS).join(', ')})`);

  // HF name → tensor; every tensor must be a known one (an unknown one means a model Sprig would run wrong).
  const byHf = new Map<string, GgufTensorInfo>();
  let ropeFreqs: GgufTensorInfo | undefined;
  for (const t of g.tensors.values()) {
    if (t.name === 'rope_freqs.weight') {
      ropeFreqs = t;
      continue;
    }
    const hf = hfNameOf(t.name);
    if (!hf) throw errors.unsupportedModel(`${abs}: tensor ${t.name} is not part of the ${archName} layout Sprig runs`);
    if (!t.type) {
      throw errors.unsupportedModel(`${abs}: tensor ${t.name} is stored as ${t.typeName} (ggml type ${t.ggmlTypeId}), which Sprig cannot decode (supported: ${SUPPORTED_TYPES.join(', ')})`);
    }
    byHf.set(hf, t);
  }

  const spec = specFromMetadata(abs, md, known, byHf, ropeFreqs);
  checkShapes(abs, spec, byHf);
  // llama.cpp's converter reorders Q/K rows for the llama arch only; qwen2 uses NeoX (rotate-half) RoPE as HF does.
  const permuteHeadDim = known.arch === 'llama' ? spec.headDim : 0;

  const find = (name: string): GgufTensorInfo => {
    const t = byHf.get(name);
    if (!t) throw errors.badCheckpoint(`${abs}: tensor ${name} is missing (GGUF ${archName})`);
    return t;
  };
  const raw = (name: string): RawTensor => {
    const t = find(name);
    const type = t.type as GgmlType;
    let data = readTensorData(abs, t);
    if (permuteHeadDim && isRotaryProjection(name)) {
      const rows = t.shape[0]; // [rows, cols] weight or [rows] bias
      data = ggufToHfRows(data, rows, t.byteLength / rows, permuteHeadDim);
    }
    return { type, shape: [...t.shape], data };
  };
  const weights: WeightSource = {
    has: (name) => byHf.has(name),
    typeOf: (name) => find(name).type as GgmlType,
    raw,
    get: (name) => {
      const r = raw(name);
      return { data: dequantize(r.type, r.data, r.shape.reduce((a, b) => a * b, 1)), shape: r.shape };
    },
  };

  const typeSummary: Record<string, number> = {};
  for (const t of g.tensors.values()) typeSummary[t.typeName] = (typeSummary[t.typeName] ?? 0) + 1;
  let parameterCount = 0;
  for (const t of byHf.values()) parameterCount += t.shape.reduce((a, b) => a * b, 1);
  spec.dtype = Object.entries(typeSummary).sort((a, b) => b[1] - a[1]).map(([k]) => k).join('+');
  return { file: abs, spec, weights, metadata: md, tensors: g.tensors, fileBytes: g.fileBytes, parameterCount, typeSummary };
}

function specFromMetadata(file: string, md: GgufMetadata, known: { arch: 'llama' | 'qwen2'; architecture: string }, byHf: Map<string, GgufTensorInfo>, ropeFreqs: GgufTensorInfo | undefined): ModelSpec {
  const arch = String(md['general.architecture']);
  const num = (key: string, fallback?: number): number => {
    const v = md[`${arch}.${key}`];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw errors.badCheckpoint(`${file}: metadata ${arch}.${key} is missing`);
    }
    if (Array.isArray(v)) throw errors.unsupportedModel(`${file}: ${arch}.${key} varies per layer (${v.length} values), which Sprig does not support`);
    if (typeof v !== 'number' && typeof v !== 'bigint') throw errors.badCheckpoint(`${file}: ${arch}.${key}=${JSON.stringify(v)} is not a number`);
    return typeof v === 'number' ? shortestF32(v) : Number(v);
  };
  const experts = num('expert_count', 0);
  if (experts > 0) throw errors.unsupportedModel(`${file}: ${arch}.expert_count=${experts}: mixture-of-experts models are not supported`);

  const hidden = num('embedding_length');
  const numHeads = num('attention.head_count');
  const numKvHeads = num('attention.head_count_kv', numHeads);
  const headDim = num('attention.key_length', hidden / numHeads);
  if (!Number.isInteger(headDim)) throw errors.unsupportedModel(`${file}: ${arch}.embedding_length=${hidden} is not divisible by ${arch}.attention.head_count=${numHeads}`);
  const valueDim = num('attention.value_length', headDim);
  if (valueDim !== headDim) throw errors.unsupportedModel(`${file}: ${arch}.attention.value_length=${valueDim} differs from the key length ${headDim}`);
  if (numHeads % numKvHeads !== 0) throw errors.unsupportedModel(`${file}: ${arch}.attention.head_count=${numHeads} is not a multiple of head_count_kv=${numKvHeads}`);
  const ropeDims = num('rope.dimension_count', headDim);
  if (ropeDims !== headDim) throw errors.unsupportedModel(`${file}: ${arch}.rope.dimension_count=${ropeDims} differs from the head size ${headDim} (partial rotary embeddings are not supported)`);

  // RoPE: freq_base, linear scaling (llama.cpp's default scaling type when a factor is given), Llama 3's rope_freqs.
  const scalingType = md[`${arch}.rope.scaling.type`] ?? 'linear';
  const factor = num('rope.scaling.factor', num('rope.scale_linear', 1));
  let ropeScaling: Record<string, unknown> | null = null;
  if (scalingType === 'linear') {
    if (factor !== 1 && factor !== 0) ropeScaling = { type: 'linear', factor };
  } else if (scalingType !== 'none' && factor !== 1 && factor !== 0) {
    throw errors.unsupportedModel(`${file}: ${arch}.rope.scaling.type=${JSON.stringify(scalingType)} is not supported (supported: none, linear; Llama 3 scaling via rope_freqs.weight)`);
  }
  const source = `${file} metadata`;
  const inv = ropeInvFreq({ rope_theta: num('rope.freq_base', 10000), rope_scaling: ropeScaling }, headDim, source);
  if (ropeFreqs) {
    if (ropeFreqs.type !== 'F32' || ropeFreqs.shape.join() !== String(headDim / 2)) {
      throw errors.badCheckpoint(`${file}: rope_freqs.weight is ${ropeFreqs.typeName} [${ropeFreqs.shape}], expected F32 [${headDim / 2}]`);
    }
    const div = dequantize('F32', readTensorData(file, ropeFreqs), headDim / 2);
    for (let i = 0; i < inv.length; i++) inv[i] = inv[i] / div[i];
  }

  const embed = byHf.get('model.embed_tokens.weight');
  if (!embed) throw errors.badCheckpoint(`${file}: tensor token_embd.weight is missing`);
  const tokens = md['tokenizer.ggml.tokens'];
  const vocabSize = Array.isArray(tokens) ? tokens.length : embed.shape[0];
  if (embed.shape[0] !== vocabSize) throw errors.badCheckpoint(`${file}: token_embd.weight has ${embed.shape[0]} rows but tokenizer.ggml.tokens has ${vocabSize} tokens`);
  const special = ggufSpecialIds(md, vocabSize); // the same ids (and llama.cpp's defaults) the tokenizer uses

  const hasBias = (part: string) => byHf.has(`model.layers.0.${part}.bias`);
  return {
    arch: known.arch,
    architecture: known.architecture,
    numLayers: num('block_count'),
    hidden,
    numHeads,
    numKvHeads,
    headDim,
    intermediate: num('feed_forward_length'),
    vocabSize,
    contextLength: num('context_length'),
    normEps: num('attention.layer_norm_rms_epsilon'),
    norm: 'rms',
    act: 'silu',
    ropeInvFreq: inv,
    qkvBias: known.arch === 'qwen2' || hasBias('self_attn.q_proj'),
    oBias: hasBias('self_attn.o_proj'),
    mlpBias: hasBias('mlp.down_proj'),
    tiedEmbeddings: !byHf.has('lm_head.weight'),
    dtype: '',
    bosTokenId: special.bos,
    eosTokenIds: special.eosIds,
  };
}

/** Every tensor the graph builder reads is present with the shape the spec implies. */
function checkShapes(file: string, s: ModelSpec, byHf: Map<string, GgufTensorInfo>): void {
  const q = s.numHeads * s.headDim;
  const kv = s.numKvHeads * s.headDim;
  const want = new Map<string, number[]>([['model.embed_tokens.weight', [s.vocabSize, s.hidden]], ['model.norm.weight', [s.hidden]]]);
  if (!s.tiedEmbeddings) want.set('lm_head.weight', [s.vocabSize, s.hidden]);
  for (let l = 0; l < s.numLayers; l++) {
    const b = `model.layers.${l}`;
    want.set(`${b}.input_layernorm.weight`, [s.hidden]);
    want.set(`${b}.post_attention_layernorm.weight`, [s.hidden]);
    want.set(`${b}.self_attn.q_proj.weight`, [q, s.hidden]);
    want.set(`${b}.self_attn.k_proj.weight`, [kv, s.hidden]);
    want.set(`${b}.self_attn.v_proj.weight`, [kv, s.hidden]);
    want.set(`${b}.self_attn.o_proj.weight`, [s.hidden, q]);
    want.set(`${b}.mlp.gate_proj.weight`, [s.intermediate, s.hidden]);
    want.set(`${b}.mlp.up_proj.weight`, [s.intermediate, s.hidden]);
    want.set(`${b}.mlp.down_proj.weight`, [s.hidden, s.intermediate]);
    if (s.qkvBias) {
      want.set(`${b}.self_attn.q_proj.bias`, [q]);
      want.set(`${b}.self_attn.k_proj.bias`, [kv]);
      want.set(`${b}.self_attn.v_proj.bias`, [kv]);
    }
    if (s.oBias) want.set(`${b}.self_attn.o_proj.bias`, [s.hidden]);
    if (s.mlpBias) for (const p of ['gate_proj', 'up_proj']) want.set(`${b}.mlp.${p}.bias`, [s.intermediate]);
    if (s.mlpBias) want.set(`${b}.mlp.down_proj.bias`, [s.hidden]);
  }
  for (const [name, shape] of want) {
    const t = byHf.get(name);
    if (!t) throw errors.badCheckpoint(`${file}: tensor ${ggufLabel(name)} is missing (expected from the metadata: ${s.numLayers} layers)`);
    if (t.shape.join() !== shape.join()) throw errors.badCheckpoint(`${file}: tensor ${t.name} has shape [${t.shape}] (HF order), the metadata implies [${shape}]`);
  }
  for (const [name, t] of byHf) {
    if (!want.has(name)) throw errors.badCheckpoint(`${file}: tensor ${t.name} does not fit the metadata (${s.numLayers} layers, biases ${s.qkvBias ? 'on' : 'off'})`);
  }
}

function ggufLabel(hfName: string): string {
  return `${ggufNameOf(hfName)} (${hfName})`;
}

/** The shortest decimal that is the same float32 (an f32 field's 9.99999975e-6 reads as 1e-5, as HF configs say). */
function shortestF32(v: number): number {
  if (Math.fround(v) !== v) return v;
  for (let digits = 1; digits < 10; digits++) {
    const d = Number(v.toPrecision(digits));
    if (Math.fround(d) === v) return d;
  }
  return v;
}
