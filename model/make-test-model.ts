// Deterministic random-weight checkpoints in Hugging Face format (config, safetensors, tokenizer),
// for tests and benchmarks. The same options and seed always give the same bytes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errors } from '../common/errors.ts';
import { Rng } from '../common/rng.ts';
import type { Arch } from './config.ts';
import { convertCheckpointToGguf, GGUF_QUANTS, type GgufQuant } from './gguf/convert.ts';
import { writeTestTokenizer } from './make-tokenizer.ts';
import { writeSafetensors, type StDtype } from './safetensors.ts';

export interface TestModelOptions {
  arch: Arch;
  seed?: number;
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  vocab?: number;
  intermediate?: number;
  contextLength?: number;
  dtype?: 'float32' | 'float16' | 'bfloat16';
  tiedEmbeddings?: boolean;
  /** 'hf' (default): a checkpoint folder at outDir. 'gguf': a llama.cpp file at outDir (llama and qwen2 only). */
  format?: 'hf' | 'gguf';
  /** Storage type of the GGUF file's matrices (format 'gguf'; default f32). */
  quant?: GgufQuant;
}

const ST_DTYPE: Record<string, StDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

export function makeTestModel(outDir: string, o: TestModelOptions): void {
  if (o.format === 'gguf') return makeTestGguf(outDir, o);
  if (o.format !== undefined && o.format !== 'hf') throw errors.invalidParam(`--format ${o.format} is not one of hf, gguf`, 'format');
  const arch = o.arch;
  if (!['llama', 'qwen2', 'gpt2'].includes(arch)) throw errors.invalidParam(`--arch ${arch} is not one of llama, qwen2, gpt2`, 'arch');
  const seed = o.seed ?? 0;
  const L = o.layers ?? 2;
  const D = o.hidden ?? 64;
  const H = o.heads ?? 4;
  const KV = arch === 'gpt2' ? H : (o.kvHeads ?? Math.max(1, H / 2));
  const V = o.vocab ?? 384;
  const I = o.intermediate ?? (arch === 'gpt2' ? 4 * D : 2 * D + 16);
  const ctx = o.contextLength ?? 512;
  const dtype = o.dtype ?? 'float32';
  const check = (ok: boolean, msg: string, param: string) => {
    if (!ok) throw errors.invalidParam(msg, param);
  };
  check(Number.isInteger(L) && L >= 1, `--layers ${L} must be a positive integer`, 'layers');
  check(D % H === 0 && (D / H) % 2 === 0, `--hidden ${D} must be divisible by --heads ${H} into an even head size`, 'hidden');
  check(H % KV === 0, `--heads ${H} must be a multiple of --kv-heads ${KV}`, 'kv-heads');
  check(dtype in ST_DTYPE, `--dtype ${dtype} is not one of float32, float16, bfloat16`, 'dtype');
  const HD = D / H;
  const tied = o.tiedEmbeddings ?? arch === 'gpt2';

  const rng = new Rng(seed);
  const gauss = () => {
    const u = Math.max(rng.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  };
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  const add = (name: string, shape: number[], std: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * gauss();
    tensors.push({ name, shape, data });
  };
  const lin = (inF: number) => 0.6 / Math.sqrt(inF);

  let config: Record<string, unknown>;
  if (arch === 'gpt2') {
    add('wte.weight', [V, D], 0.3);
    add('wpe.weight', [ctx, D], 0.1);
    for (let l = 0; l < L; l++) {
      const b = `h.${l}`;
      add(`${b}.ln_1.weight`, [D], 0.1, 1);
      add(`${b}.ln_1.bias`, [D], 0.1);
      add(`${b}.attn.c_attn.weight`, [D, 3 * D], lin(D)); // Conv1D: [in, out]
      add(`${b}.attn.c_attn.bias`, [3 * D], 0.1);
      add(`${b}.attn.c_proj.weight`, [D, D], lin(D));
      add(`${b}.attn.c_proj.bias`, [D], 0.1);
      add(`${b}.ln_2.weight`, [D], 0.1, 1);
      add(`${b}.ln_2.bias`, [D], 0.1);
      add(`${b}.mlp.c_fc.weight`, [D, I], lin(D));
      add(`${b}.mlp.c_fc.bias`, [I], 0.1);
      add(`${b}.mlp.c_proj.weight`, [I, D], lin(I));
      add(`${b}.mlp.c_proj.bias`, [D], 0.1);
    }
    add('ln_f.weight', [D], 0.1, 1);
    add('ln_f.bias', [D], 0.1);
    config = {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: D, n_head: H, n_layer: L, n_positions: ctx, n_inner: I,
      vocab_size: V, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: V - 1, eos_token_id: V - 1, torch_dtype: dtype,
    };
  } else {
    add('model.embed_tokens.weight', [V, D], 1);
    for (let l = 0; l < L; l++) {
      const b = `model.layers.${l}`;
      add(`${b}.input_layernorm.weight`, [D], 0.1, 1);
      add(`${b}.self_attn.q_proj.weight`, [H * HD, D], lin(D));
      add(`${b}.self_attn.k_proj.weight`, [KV * HD, D], lin(D));
      add(`${b}.self_attn.v_proj.weight`, [KV * HD, D], lin(D));
      if (arch === 'qwen2') {
        add(`${b}.self_attn.q_proj.bias`, [H * HD], 0.2);
        add(`${b}.self_attn.k_proj.bias`, [KV * HD], 0.2);
        add(`${b}.self_attn.v_proj.bias`, [KV * HD], 0.2);
      }
      add(`${b}.self_attn.o_proj.weight`, [D, H * HD], lin(H * HD));
      add(`${b}.post_attention_layernorm.weight`, [D], 0.1, 1);
      add(`${b}.mlp.gate_proj.weight`, [I, D], lin(D));
      add(`${b}.mlp.up_proj.weight`, [I, D], lin(D));
      add(`${b}.mlp.down_proj.weight`, [D, I], lin(I));
    }
    add('model.norm.weight', [D], 0.1, 1);
    if (!tied) add('lm_head.weight', [V, D], 0.3);
    config = {
      architectures: [arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'], model_type: arch,
      hidden_size: D, intermediate_size: I, num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: KV,
      vocab_size: V, max_position_embeddings: ctx, rms_norm_eps: 1e-5, rope_theta: 10000, hidden_act: 'silu',
      tie_word_embeddings: tied, bos_token_id: 1, eos_token_id: 2, torch_dtype: dtype,
    };
  }

  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'config.json'), JSON.stringify(config, null, 2));
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, ST_DTYPE[dtype]);
  fs.writeFileSync(path.join(outDir, 'generation_config.json'), JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }, null, 2));
  writeTestTokenizer(outDir, { style: arch === 'gpt2' ? 'gpt2' : 'llama', vocabSize: V });
}

/** The HF checkpoint generated into a temporary folder, then converted (model/gguf/convert.ts) to `file`. */
function makeTestGguf(file: string, o: TestModelOptions): void {
  const quant = o.quant ?? 'f32';
  if (!GGUF_QUANTS.includes(quant)) throw errors.invalidParam(`--quant ${quant} is not one of ${GGUF_QUANTS.join(', ')}`, 'quant');
  if (o.arch === 'gpt2') throw errors.invalidParam('--format gguf supports --arch llama and qwen2, not gpt2', 'format');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sprig-gguf-src-'));
  try {
    // The folder's name becomes general.name: the file's own, so the same options give the same bytes.
    const src = path.join(tmp, path.basename(file).replace(/\.gguf$/i, ''));
    makeTestModel(src, { ...o, format: 'hf' });
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    convertCheckpointToGguf(src, file, quant);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
