// GGUF test helpers: the shared llama.cpp files, rewriting a file with edits, and patching a tensor's type id
// to one the writer cannot produce (an unsupported ggml type with the same block size).
import fs from 'node:fs';
import path from 'node:path';
import { readGguf, readTensorData } from '../../model/gguf/read.ts';
import { writeGguf } from '../../model/gguf/write.ts';
import type { GgufKv } from '../../model/gguf/metadata.ts';
import type { RawTensor } from '../../model/weights.ts';

export const SHARED_MODELS = path.resolve(import.meta.dirname, '../../../shared/models');
export const STORIES_GGUF = path.join(SHARED_MODELS, 'stories260K.gguf');
export const STORIES_HF = path.join(SHARED_MODELS, 'stories260K-hf');
export const WIDE = (type: string) => path.join(SHARED_MODELS, 'gguf', `stories260K-wide256-${type}.gguf`);
export const hasStoriesGguf = fs.existsSync(STORIES_GGUF) && fs.existsSync(path.join(STORIES_HF, 'model.safetensors'));
export const hasWide = ['F32', 'Q8_0', 'Q4_0', 'Q4_K_M', 'Q6_K'].every((t) => fs.existsSync(WIDE(t)));
export const SKIP_SHARED = 'needs ../shared/models (absent in a fresh clone)';

export interface Edit {
  kvs?: (kvs: GgufKv[]) => GgufKv[];
  tensors?: (tensors: { name: string; tensor: RawTensor }[]) => { name: string; tensor: RawTensor }[];
}

/** Copies a GGUF file through readGguf → writeGguf, applying edits to its metadata and tensors. */
export function rewriteGguf(src: string, dst: string, edit: Edit = {}): void {
  const g = readGguf(src);
  let tensors = [...g.tensors.values()].map((t) => {
    if (!t.type) throw new Error(`test helper: ${t.name} is ${t.typeName}`);
    return { name: t.name, tensor: { type: t.type, shape: t.shape, data: readTensorData(src, t) } };
  });
  if (edit.tensors) tensors = edit.tensors(tensors);
  writeGguf(dst, edit.kvs ? edit.kvs(g.kvs) : g.kvs, tensors, g.alignment);
}

/** Overwrites the ggml type id in tensor `name`'s info (the caller keeps the byte size right). */
export function patchTensorType(file: string, name: string, typeId: number): void {
  const buf = fs.readFileSync(file);
  const key = Buffer.alloc(8 + Buffer.byteLength(name));
  key.writeBigUInt64LE(BigInt(Buffer.byteLength(name)));
  key.write(name, 8);
  const at = buf.lastIndexOf(key, readGguf(file).dataOffset);
  if (at < 0) throw new Error(`test helper: tensor ${name} not found`);
  const dims = buf.readUInt32LE(at + key.length);
  buf.writeUInt32LE(typeId, at + key.length + 4 + 8 * dims);
  fs.writeFileSync(file, buf);
}

/** Largest |a − b| over the largest |a|. */
export function relMaxError(a: Float32Array, b: Float32Array): number {
  let amax = 0, worst = 0;
  for (let i = 0; i < a.length; i++) {
    amax = Math.max(amax, Math.abs(a[i]));
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return amax > 0 ? worst / amax : worst;
}
