// Hugging Face llama/qwen2 checkpoint → GGUF, as llama.cpp's convert_hf_to_gguf.py lays it out: its tensor
// names, the llama arch's rotary Q/K row order, the hyperparameters under `<arch>.*`, tokenizer metadata.
// Matrices (embedding and head included) are stored as `quant`; norms and biases stay F32.
// A matrix whose rows are not whole blocks of the chosen type falls back, as llama.cpp does: a K-quant to
// Q8_0 when rows are whole 32-blocks (llama.cpp picks Q5_0 for Q4_K, Q8_0 for Q6_K; Sprig has no Q5_0, so the
// more precise Q8_0), anything else to F16 (what llama.cpp's converter does for Q8_0).
import path from 'node:path';
import { errors } from '../../common/errors.ts';
import { loadCheckpoint, checkpointWeights } from '../checkpoint.ts';
import { ropeInvFreq } from '../config.ts';
import type { GgmlType, RawTensor } from '../weights.ts';
import { quantize } from '../quant/quantize.ts';
import { blockElems } from '../quant/ggml-types.ts';
import type { GgufKv } from './metadata.ts';
import { ggufNameOf, isRotaryProjection } from './names.ts';
import { hfToGgufRows } from './permute.ts';
import { tokenizerMetadataFromHf } from './tokenizer-metadata.ts';
import { writeGguf } from './write.ts';

export type GgufQuant = 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q5_k' | 'q6_k';
export const GGUF_QUANTS: readonly GgufQuant[] = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'];

const TYPE: Record<GgufQuant, GgmlType> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0', q4_k: 'Q4_K', q5_k: 'Q5_K', q6_k: 'Q6_K' };
// llama_ftype values for general.file_type (all-Q4_K is llama.cpp's Q4_K_S, all-Q5_K its Q5_K_S).
const FILE_TYPE: Record<GgufQuant, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k: 14, q5_k: 16, q6_k: 18 };

export interface ConvertSummary {
  file: string;
  /** Tensor count per stored type. */
  types: Record<string, number>;
  /** Matrices stored in another type than asked, and why. */
  fallbacks: { name: string; wanted: GgmlType; used: GgmlType; cols: number }[];
}

/** The type a [rows, cols] matrix gets when `wanted` is asked for (see the fallback rule above). */
export function matrixType(wanted: GgmlType, cols: number): GgmlType {
  if (cols % blockElems(wanted) === 0) return wanted;
  if ((wanted === 'Q4_K' || wanted === 'Q5_K' || wanted === 'Q6_K') && cols % 32 === 0) return 'Q8_0';
  return 'F16';
}

export function convertCheckpointToGguf(hfDir: string, outFile: string, quant: GgufQuant): ConvertSummary {
  if (!TYPE[quant]) throw errors.invalidParam(`quantization ${quant} is not one of ${GGUF_QUANTS.join(', ')}`, 'quant');
  const ckpt = loadCheckpoint(hfDir);
  const s = ckpt.spec;
  if (s.arch !== 'llama' && s.arch !== 'qwen2') throw errors.unsupportedModel(`${ckpt.dir}: ${s.architecture} cannot be converted to GGUF (supported: llama, qwen2 architectures)`);
  const arch = s.arch;
  const ws = checkpointWeights(ckpt);
  const wanted = TYPE[quant];

  const tensors: { name: string; tensor: RawTensor }[] = [];
  const summary: ConvertSummary = { file: path.resolve(outFile), types: {}, fallbacks: [] };
  const add = (name: string, tensor: RawTensor) => {
    tensors.push({ name, tensor });
    summary.types[tensor.type] = (summary.types[tensor.type] ?? 0) + 1;
  };

  // Llama 3 RoPE scaling is stored as per-frequency divisors (llama.cpp's rope_freqs.weight).
  const cfg = JSON.parse(ckpt.configText) as Record<string, unknown>;
  const scaling = cfg.rope_scaling as Record<string, unknown> | null | undefined;
  const scalingType = scaling ? (scaling.rope_type ?? scaling.type) : null;
  if (scalingType === 'llama3') {
    const plain = ropeInvFreq({ rope_theta: cfg.rope_theta }, s.headDim, ckpt.dir);
    const div = Float32Array.from(plain, (v, i) => v / s.ropeInvFreq![i]);
    add('rope_freqs.weight', { type: 'F32', shape: [div.length], data: new Uint8Array(div.buffer) });
  }

  for (const hfName of ckpt.tensors.keys()) {
    if (hfName.endsWith('.rotary_emb.inv_freq')) continue; // recomputed from the metadata
    const name = ggufNameOf(hfName);
    if (!name) throw errors.unsupportedModel(`${ckpt.dir}: tensor ${hfName} has no place in llama.cpp's ${arch} layout`);
    const { data, shape } = ws.get(hfName);
    let type: GgmlType = 'F32';
    if (shape.length === 2) {
      type = matrixType(wanted, shape[1]);
      if (type !== wanted) summary.fallbacks.push({ name, wanted, used: type, cols: shape[1] });
    }
    let bytes = quantize(type, data);
    if (arch === 'llama' && isRotaryProjection(hfName)) bytes = hfToGgufRows(bytes, shape[0], bytes.length / shape[0], s.headDim);
    add(name, { type, shape, data: bytes });
  }

  const a = (key: string) => `${arch}.${key}`;
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: arch },
    { key: 'general.name', type: 'string', value: path.basename(ckpt.dir) },
    { key: 'general.file_type', type: 'u32', value: FILE_TYPE[quant] },
    { key: a('context_length'), type: 'u32', value: s.contextLength },
    { key: a('embedding_length'), type: 'u32', value: s.hidden },
    { key: a('block_count'), type: 'u32', value: s.numLayers },
    { key: a('feed_forward_length'), type: 'u32', value: s.intermediate },
    { key: a('attention.head_count'), type: 'u32', value: s.numHeads },
    { key: a('attention.head_count_kv'), type: 'u32', value: s.numKvHeads },
    { key: a('rope.dimension_count'), type: 'u32', value: s.headDim },
    { key: a('rope.freq_base'), type: 'f32', value: typeof cfg.rope_theta === 'number' ? cfg.rope_theta : 10000 },
    { key: a('attention.layer_norm_rms_epsilon'), type: 'f32', value: s.normEps },
  ];
  if (s.headDim !== s.hidden / s.numHeads) kvs.push({ key: a('attention.key_length'), type: 'u32', value: s.headDim }, { key: a('attention.value_length'), type: 'u32', value: s.headDim });
  if (scalingType === 'linear') {
    kvs.push({ key: a('rope.scaling.type'), type: 'string', value: 'linear' }, { key: a('rope.scaling.factor'), type: 'f32', value: Number(scaling!.factor) });
  }
  if (quant !== 'f32' && quant !== 'f16') kvs.push({ key: 'general.quantization_version', type: 'u32', value: 2 });
  const tok = tokenizerMetadataFromHf(ckpt.dir);
  kvs.push(...tok);
  const has = (key: string) => tok.some((kv) => kv.key === key);
  if (!has('tokenizer.ggml.bos_token_id') && s.bosTokenId !== null) kvs.push({ key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: s.bosTokenId });
  if (!has('tokenizer.ggml.eos_token_id') && s.eosTokenIds.length) kvs.push({ key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: s.eosTokenIds[0] });

  writeGguf(outFile, kvs, tensors);
  return summary;
}
