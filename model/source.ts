// A model as Sprig loads it: a Hugging Face folder or a GGUF file, behind one shape — the spec, a WeightSource
// the graph builder reads one tensor at a time, what keys the compiled graph, and how to build the tokenizer.
import fs from 'node:fs';
import path from 'node:path';
import { errors } from '../common/errors.ts';
import { loadCheckpoint, checkpointWeights, parameterCount } from './checkpoint.ts';
import type { ModelSpec } from './config.ts';
import { openGgufModel } from './gguf/checkpoint.ts';
import { tokenizerFromGguf } from './gguf/tokenizer.ts';
import { loadTokenizer, type Tokenizer } from './tokenizer.ts';
import type { WeightSource } from './weights.ts';

export interface ModelSource {
  /** The folder or file the user named (absolute). */
  path: string;
  format: 'hf' | 'gguf';
  /** Name the API reports: the folder name, or the file name without .gguf. */
  name: string;
  spec: ModelSpec;
  weights: WeightSource;
  /** Files whose bytes define the weights, and text that defines the rest: together they key the compiled graph. */
  keyFiles: string[];
  keyText: string;
  parameterCount: number;
  /** Tensors per storage type, e.g. { Q4_K: 32, Q6_K: 5, F32: 11 }. */
  typeSummary: Record<string, number>;
  /** Bytes of the weight files. */
  fileBytes: number;
  generationConfig: { eos_token_id?: number | number[]; bos_token_id?: number };
  loadTokenizer(): Promise<Tokenizer>;
}

export function isGgufPath(p: string): boolean {
  return p.toLowerCase().endsWith('.gguf');
}

/** Opens a HF checkpoint folder or a .gguf file (by extension, or by a file's GGUF magic). */
export function openModelSource(p: string): ModelSource {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) throw errors.checkpointMissing(`model path ${abs} does not exist (expected a Hugging Face checkpoint folder or a .gguf file)`);
  if (fs.statSync(abs).isFile()) {
    if (!isGgufPath(abs) && !hasGgufMagic(abs)) throw errors.checkpointMissing(`model path ${abs} is a file but not GGUF (expected a .gguf file or a Hugging Face checkpoint folder)`);
    return ggufSource(abs);
  }
  return hfSource(abs);
}

function hasGgufMagic(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, 0);
    return b.toString('latin1') === 'GGUF';
  } finally {
    fs.closeSync(fd);
  }
}

function hfSource(dir: string): ModelSource {
  const ckpt = loadCheckpoint(dir);
  const typeSummary: Record<string, number> = {};
  for (const t of ckpt.tensors.values()) typeSummary[t.dtype] = (typeSummary[t.dtype] ?? 0) + 1;
  return {
    path: ckpt.dir,
    format: 'hf',
    name: path.basename(ckpt.dir),
    spec: ckpt.spec,
    weights: checkpointWeights(ckpt),
    keyFiles: ckpt.weightFiles,
    keyText: ckpt.configText,
    parameterCount: parameterCount(ckpt),
    typeSummary,
    fileBytes: ckpt.weightFiles.reduce((a, f) => a + fs.statSync(f).size, 0),
    generationConfig: ckpt.generationConfig,
    loadTokenizer: () => loadTokenizer(ckpt.dir, ckpt.generationConfig),
  };
}

function ggufSource(file: string): ModelSource {
  const m = openGgufModel(file);
  const eos = m.spec.eosTokenIds;
  return {
    path: file,
    format: 'gguf',
    name: path.basename(file).replace(/\.gguf$/i, ''),
    spec: m.spec,
    weights: m.weights,
    keyFiles: [file],
    keyText: 'gguf',
    parameterCount: m.parameterCount,
    typeSummary: m.typeSummary,
    fileBytes: m.fileBytes,
    generationConfig: { eos_token_id: eos.length === 1 ? eos[0] : eos, bos_token_id: m.spec.bosTokenId ?? undefined },
    loadTokenizer: async () => tokenizerFromGguf(m.metadata, file),
  };
}
