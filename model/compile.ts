// Compiles a checkpoint into an ONNX model on disk, cached by checkpoint content + builder version.
// A compile that takes more than a second reports progress on stderr.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDecoderGraph } from './graph/build-decoder.ts';
import { OnnxGraph } from './graph/onnx-graph.ts';
import type { QuantizeMode } from './graph/weight-format.ts';
import type { ModelSource } from './source.ts';

/** Bump when the graph layout changes: old cache entries are then ignored. */
export const BUILDER_VERSION = 'sprig-graph-7';

export function cacheRoot(): string {
  return process.env.SPRIG_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'sprig');
}

/** sha256 of a file, memoised on disk by (path, size, mtime) so restarts don't rehash gigabytes. */
function fileHash(file: string, memoPath: string): string {
  const st = fs.statSync(file);
  const memoKey = `${path.resolve(file)}|${st.size}|${st.mtimeMs}`;
  let memo: Record<string, string>;
  try {
    memo = JSON.parse(fs.readFileSync(memoPath, 'utf8'));
  } catch {
    memo = {};
  }
  if (memo[memoKey]) return memo[memoKey];
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 22);
  try {
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const digest = h.digest('hex');
  memo[memoKey] = digest;
  try {
    fs.mkdirSync(path.dirname(memoPath), { recursive: true });
    fs.writeFileSync(memoPath, JSON.stringify(memo));
  } catch {
    // NOTE: the memo is only a speed-up; a read-only cache still works, it just rehashes.
  }
  return digest;
}

/** The compiled graph's cache key: builder version, the model's defining text and files, and the quantization. */
export function graphKey(src: ModelSource, quantize: QuantizeMode, slots = 0, earlyExits: readonly number[] = []): string {
  const h = crypto.createHash('sha256');
  h.update(BUILDER_VERSION);
  h.update(src.keyText);
  h.update(`quantize=${quantize};context=${src.spec.contextLength}`);
  if (slots > 0) h.update(`variant=batched;slots=${slots}`);
  if (earlyExits.length) h.update(`early-exits=${earlyExits.join(',')}`);
  const memo = path.join(cacheRoot(), 'file-hashes.json');
  for (const f of src.keyFiles) h.update(fileHash(f, memo));
  return h.digest('hex').slice(0, 32);
}

export interface CompiledModel {
  modelPath: string;
  key: string;
  cached: boolean;
  compileMs: number;
}

/**
 * Returns the path of the compiled model.onnx for this model and quantization, building it if needed.
 * `slots`: > 0 builds the continuous-batching variant with that many slots (model/graph/build-decoder.ts).
 * `earlyExits`: layers after which a forward may stop (the layerskip drafter; model/graph/build-decoder.ts).
 */
export function compileModel(src: ModelSource, quantize: QuantizeMode = 'none', slots = 0, earlyExits: readonly number[] = []): CompiledModel {
  const t0 = performance.now();
  const key = graphKey(src, quantize, slots, earlyExits);
  const dir = path.join(cacheRoot(), 'graphs', key);
  const modelPath = path.join(dir, 'model.onnx');
  if (fs.existsSync(modelPath)) return { modelPath, key, cached: true, compileMs: performance.now() - t0 };

  // Build into a temp folder and rename, so a crash never leaves a half-written cache entry.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  let reported = false;
  const progress = (done: number, total: number) => {
    const elapsed = performance.now() - t0;
    if (elapsed < 1000 && done < total) return;
    if (elapsed < 1000 && !reported) return;
    reported = true;
    process.stderr.write(`\r[sprig] building ONNX graph for ${src.name}: layer ${done}/${total} (${(elapsed / 1000).toFixed(1)} s)${done === total ? '\n' : ''}`);
  };
  try {
    const g = new OnnxGraph(path.join(tmp, 'weights.bin'), 'weights.bin');
    const bytes = buildDecoderGraph(src.spec, src.weights, g, { quantize, onProgress: progress, slots, earlyExits });
    fs.writeFileSync(path.join(tmp, 'model.onnx'), bytes);
    fs.writeFileSync(path.join(tmp, 'source.json'), JSON.stringify({ model: src.path, quantize, slots, earlyExits, builder: BUILDER_VERSION, created: new Date().toISOString() }));
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another process won the race: use its copy.
      if (!fs.existsSync(modelPath)) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const compileMs = performance.now() - t0;
  if (compileMs > 1000 && !reported) process.stderr.write(`[sprig] built ONNX graph for ${src.name} in ${(compileMs / 1000).toFixed(1)} s\n`);
  return { modelPath, key, cached: false, compileMs };
}
