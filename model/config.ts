// Reads a Hugging Face config.json into a ModelSpec: the architecture facts the graph builder needs.
// Anything Sprig cannot run exactly fails here, naming the config field and its value.
import { errors } from '../common/errors.ts';

export type Arch = 'llama' | 'qwen2' | 'gpt2';

export interface ModelSpec {
  arch: Arch;
  /** HF class name, e.g. LlamaForCausalLM. */
  architecture: string;
  numLayers: number;
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediate: number;
  vocabSize: number;
  /** Usable context window in tokens. */
  contextLength: number;
  normEps: number;
  norm: 'rms' | 'layer';
  act: 'silu' | 'gelu_tanh' | 'gelu';
  /** Rotary embedding inverse frequencies [headDim / 2]; null for learned positions (GPT-2). */
  ropeInvFreq: Float32Array | null;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  tiedEmbeddings: boolean;
  dtype: string;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

type Json = Record<string, unknown>;

const SUPPORTED = 'LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel';

export function parseConfig(cfg: Json, source = 'config.json'): ModelSpec {
  const archName = Array.isArray(cfg.architectures) ? String(cfg.architectures[0]) : undefined;
  const modelType = typeof cfg.model_type === 'string' ? cfg.model_type : undefined;
  const kind = archKind(archName, modelType);
  if (!kind) {
    throw errors.unsupportedModel(`${source}: architectures=${JSON.stringify(cfg.architectures ?? null)} model_type=${JSON.stringify(modelType ?? null)} is not supported (supported: ${SUPPORTED})`);
  }
  return kind === 'gpt2' ? parseGpt2(cfg, source) : parseLlamaLike(cfg, kind, archName ?? kind, source);
}

function archKind(archName: string | undefined, modelType: string | undefined): Arch | null {
  switch (archName) {
    case 'LlamaForCausalLM':
    case 'MistralForCausalLM':
      return 'llama';
    case 'Qwen2ForCausalLM':
      return 'qwen2';
    case 'GPT2LMHeadModel':
      return 'gpt2';
    case undefined:
      if (modelType === 'llama' || modelType === 'mistral') return 'llama';
      if (modelType === 'qwen2') return 'qwen2';
      if (modelType === 'gpt2') return 'gpt2';
      return null;
    default:
      return null;
  }
}

function num(cfg: Json, key: string, source: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw errors.badCheckpoint(`${source}: required field ${key} is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw errors.badCheckpoint(`${source}: ${key}=${JSON.stringify(v)} is not a number`);
  return v;
}

function eosList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function parseLlamaLike(cfg: Json, arch: Arch, architecture: string, source: string): ModelSpec {
  const hidden = num(cfg, 'hidden_size', source);
  const numHeads = num(cfg, 'num_attention_heads', source);
  const numKvHeads = num(cfg, 'num_key_value_heads', source, numHeads);
  const headDim = num(cfg, 'head_dim', source, hidden / numHeads);
  if (!Number.isInteger(headDim)) throw errors.unsupportedModel(`${source}: hidden_size=${hidden} is not divisible by num_attention_heads=${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw errors.unsupportedModel(`${source}: num_attention_heads=${numHeads} is not a multiple of num_key_value_heads=${numKvHeads}`);
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') throw errors.unsupportedModel(`${source}: hidden_act=${JSON.stringify(act)} is not supported (supported: "silu")`);
  const partial = cfg.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) throw errors.unsupportedModel(`${source}: partial_rotary_factor=${JSON.stringify(partial)} is not supported (supported: 1)`);

  let contextLength = num(cfg, 'max_position_embeddings', source, 2048);
  // A sliding window at least as long as the context changes nothing; a shorter one caps the context
  // so that full attention stays exact.
  const window = cfg.sliding_window;
  const windowActive = arch === 'qwen2' ? cfg.use_sliding_window === true : true;
  if (typeof window === 'number' && windowActive && window < contextLength) contextLength = window;

  const attentionBias = cfg.attention_bias === true;
  return {
    arch,
    architecture,
    numLayers: num(cfg, 'num_hidden_layers', source),
    hidden,
    numHeads,
    numKvHeads,
    headDim,
    intermediate: num(cfg, 'intermediate_size', source),
    vocabSize: num(cfg, 'vocab_size', source),
    contextLength,
    normEps: num(cfg, 'rms_norm_eps', source, 1e-6),
    norm: 'rms',
    act: 'silu',
    ropeInvFreq: ropeInvFreq(cfg, headDim, source),
    qkvBias: arch === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias: cfg.mlp_bias === true,
    tiedEmbeddings: cfg.tie_word_embeddings === true,
    dtype: String(cfg.torch_dtype ?? 'float32'),
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: eosList(cfg.eos_token_id),
  };
}

/** Rotary inverse frequencies, with the llama3 and linear scalings (HF modeling_rope_utils). [headDim/2] */
export function ropeInvFreq(cfg: Json, headDim: number, source: string): Float32Array {
  const theta = num(cfg, 'rope_theta', source, 10000);
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  const scaling = cfg.rope_scaling as Json | null | undefined;
  if (scaling) {
    const type = scaling.rope_type ?? scaling.type;
    if (type === 'linear') {
      const factor = num(scaling, 'factor', `${source} rope_scaling`);
      for (let i = 0; i < half; i++) inv[i] /= factor;
    } else if (type === 'llama3') {
      // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
      const factor = num(scaling, 'factor', `${source} rope_scaling`);
      const low = num(scaling, 'low_freq_factor', `${source} rope_scaling`);
      const high = num(scaling, 'high_freq_factor', `${source} rope_scaling`);
      const original = num(scaling, 'original_max_position_embeddings', `${source} rope_scaling`);
      const lowWavelen = original / low;
      const highWavelen = original / high;
      for (let i = 0; i < half; i++) {
        const wavelen = (2 * Math.PI) / inv[i];
        if (wavelen > lowWavelen) inv[i] = inv[i] / factor;
        else if (wavelen >= highWavelen) {
          const smooth = (original / wavelen - low) / (high - low);
          inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
        }
      }
    } else if (type !== 'default') {
      throw errors.unsupportedModel(`${source}: rope_scaling.type=${JSON.stringify(type)} is not supported (supported: llama3, linear)`);
    }
  }
  return Float32Array.from(inv);
}

function parseGpt2(cfg: Json, source: string): ModelSpec {
  const hidden = num(cfg, 'n_embd', source);
  const numHeads = num(cfg, 'n_head', source);
  if (hidden % numHeads !== 0) throw errors.unsupportedModel(`${source}: n_embd=${hidden} is not divisible by n_head=${numHeads}`);
  const fn = cfg.activation_function ?? 'gelu_new';
  let act: ModelSpec['act'];
  if (fn === 'gelu_new' || fn === 'gelu_pytorch_tanh' || fn === 'gelu_fast') act = 'gelu_tanh';
  else if (fn === 'gelu') act = 'gelu';
  else throw errors.unsupportedModel(`${source}: activation_function=${JSON.stringify(fn)} is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu)`);
  if (cfg.scale_attn_by_inverse_layer_idx === true) throw errors.unsupportedModel(`${source}: scale_attn_by_inverse_layer_idx=true is not supported`);
  if (cfg.scale_attn_weights === false) throw errors.unsupportedModel(`${source}: scale_attn_weights=false is not supported`);
  const inner = cfg.n_inner;
  return {
    arch: 'gpt2',
    architecture: 'GPT2LMHeadModel',
    numLayers: num(cfg, 'n_layer', source),
    hidden,
    numHeads,
    numKvHeads: numHeads,
    headDim: hidden / numHeads,
    intermediate: typeof inner === 'number' ? inner : 4 * hidden,
    vocabSize: num(cfg, 'vocab_size', source),
    contextLength: num(cfg, 'n_positions', source, num(cfg, 'n_ctx', source, 1024)),
    normEps: num(cfg, 'layer_norm_epsilon', source, 1e-5),
    norm: 'layer',
    act,
    ropeInvFreq: null,
    qkvBias: true,
    oBias: true,
    mlpBias: true,
    tiedEmbeddings: true,
    dtype: String(cfg.torch_dtype ?? 'float32'),
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: eosList(cfg.eos_token_id),
  };
}
