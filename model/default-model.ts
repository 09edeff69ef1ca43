// The embedded default model: until a trained default ships, a small generated llama checkpoint,
// created on first use in the cache folder.
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from './compile.ts';
import { makeTestModel, type TestModelOptions } from './make-test-model.ts';

export const DEFAULT_MODEL_OPTIONS: TestModelOptions = { arch: 'llama', seed: 1, layers: 4, hidden: 128, heads: 8, kvHeads: 4, vocab: 512, intermediate: 344, contextLength: 2048 };
const DEFAULT_MODEL_NAME = 'sprig-default-llama-v1';

/** Path of the default model, generating it if absent. */
export function defaultModelDir(): string {
  const dir = path.join(cacheRoot(), 'models', DEFAULT_MODEL_NAME);
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    makeTestModel(tmp, DEFAULT_MODEL_OPTIONS);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return dir;
}

/** --model value → folder: 'default' or empty means the embedded default. */
export function resolveModelPath(model: string | undefined): string {
  return !model || model === 'default' ? defaultModelDir() : path.resolve(model);
}
