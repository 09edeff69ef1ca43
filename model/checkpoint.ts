// A Hugging Face checkpoint folder: config.json, safetensors weights (single or sharded),
// generation_config.json. Validates weight shapes against the config and fails naming the numbers.
import fs from 'node:fs';
import path from 'node:path';
import { errors } from '../common/errors.ts';
import { parseConfig, type ModelSpec } from './config.ts';
import { listCheckpointTensors, readTensorF32, type TensorInfo } from './safetensors.ts';
import type { WeightSource } from './weights.ts';

export interface Checkpoint {
  dir: string;
  spec: ModelSpec;
  configText: string;
  tensors: Map<string, TensorInfo>;
  generationConfig: { eos_token_id?: number | number[]; bos_token_id?: number };
  /** Files whose content defines the compiled graph. */
  weightFiles: string[];
}

export function loadCheckpoint(dir: string): Checkpoint {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw errors.checkpointMissing(`model path ${abs} is not a folder (expected a Hugging Face checkpoint with config.json)`);
  }
  const cfgPath = path.join(abs, 'config.json');
  if (!fs.existsSync(cfgPath)) throw errors.checkpointMissing(`${cfgPath} is missing`);
  const configText = fs.readFileSync(cfgPath, 'utf8');
  const spec = parseConfig(JSON.parse(configText), cfgPath);
  const tensors = listCheckpointTensors(abs);
  const genPath = path.join(abs, 'generation_config.json');
  const generationConfig = fs.existsSync(genPath) ? JSON.parse(fs.readFileSync(genPath, 'utf8')) : {};
  if (generationConfig.eos_token_id !== undefined) {
    const eos = generationConfig.eos_token_id;
    spec.eosTokenIds = Array.isArray(eos) ? eos : [eos];
  }
  const embedName = spec.arch === 'gpt2' ? (tensors.has('transformer.wte.weight') ? 'transformer.wte.weight' : 'wte.weight') : 'model.embed_tokens.weight';
  const embed = tensors.get(embedName);
  if (!embed) throw errors.badCheckpoint(`${abs}: tensor ${embedName} is missing`);
  if (embed.shape[0] !== spec.vocabSize || embed.shape[1] !== spec.hidden) {
    throw errors.badCheckpoint(`${abs}: ${embedName} has shape [${embed.shape}], config says vocab_size=${spec.vocabSize} hidden=${spec.hidden}`);
  }
  const weightFiles = [...new Set([...tensors.values()].map((t) => t.file))].sort();
  return { dir: abs, spec, configText, tensors, generationConfig, weightFiles };
}

/** WeightSource over a checkpoint: reads (and converts to f32) one tensor per call. */
export function checkpointWeights(ckpt: Checkpoint): WeightSource {
  const info = (name: string) => {
    const t = ckpt.tensors.get(name);
    if (!t) throw errors.badCheckpoint(`${ckpt.dir}: tensor ${name} is missing (architecture ${ckpt.spec.architecture})`);
    return t;
  };
  const get = (name: string) => ({ data: readTensorF32(info(name)), shape: info(name).shape });
  return {
    has: (name) => ckpt.tensors.has(name),
    typeOf: (name) => info(name).dtype,
    get,
    // NOTE: served as f32 (what the graph stores for an unquantized checkpoint), whatever the file's float type.
    raw: (name) => {
      const t = get(name);
      return { type: 'F32', shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
    },
  };
}

/** Number of parameters (tied embeddings counted once). */
export function parameterCount(ckpt: Checkpoint): number {
  let n = 0;
  for (const t of ckpt.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}
