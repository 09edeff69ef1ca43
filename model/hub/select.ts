// Chooses which of a Hub repo's files make up the model: one GGUF quantization (a single file or a shard
// set), or a safetensors checkpoint folder (config, tokenizer, weights).
import { errors } from '../../common/errors.ts';
import type { HubFile } from './api.ts';

/** The quantization picked when a GGUF-only repo is named without one (llama.cpp's default too). */
export const DEFAULT_QUANT = 'Q4_K_M';

/** Small files a safetensors checkpoint folder needs or may use; config.json is required. */
export const CHECKPOINT_META = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'chat_template.json'];
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export type Selection =
  | { kind: 'gguf'; files: HubFile[]; /** The file to return (the first shard of a set). */ entry: string }
  | { kind: 'safetensors'; files: HubFile[]; /** Set when weights are sharded: the weights to fetch come from it. */ index: HubFile | null; weights: HubFile[] };

const SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;

const baseName = (name: string) => name.slice(name.lastIndexOf('/') + 1);
const isGguf = (name: string) => /\.gguf$/i.test(name) && !/^mmproj/i.test(baseName(name));
const atRoot = (name: string) => !name.includes('/');

/** Whether the file name carries the quant label as a whole token: 'x-Q4_K_M.gguf' has Q4_K_M, not Q4_K. */
export function hasQuant(name: string, quant: string): boolean {
  return new RegExp(`(^|[-._/])${quant}($|[-./])`, 'i').test(name.replace(/\.gguf$/i, ''));
}

/** GGUF files for a message: shard sets collapsed to their first file. */
export function describeGgufFiles(files: HubFile[]): string {
  const names = files.map((f) => f.name).filter(isGguf);
  const shown = names.filter((n) => !SHARD.test(n) || Number(SHARD.exec(n)![1]) === 1)
    .map((n) => (SHARD.test(n) ? `${n} (${Number(SHARD.exec(n)![2])} shards)` : n));
  return shown.length ? shown.join(', ') : '(none)';
}

function pickGguf(repo: string, files: HubFile[], quant: string): Selection {
  const matches = files.filter((f) => isGguf(f.name) && hasQuant(f.name, quant));
  const byLength = (a: string, b: string) => a.length - b.length || a.localeCompare(b);
  const singles = matches.filter((f) => !SHARD.test(f.name)).sort((a, b) => byLength(a.name, b.name));
  if (singles.length) return { kind: 'gguf', files: [singles[0]], entry: singles[0].name };
  const sets = new Map<string, HubFile[]>();
  for (const f of matches) {
    const key = f.name.replace(SHARD, '');
    sets.set(key, [...(sets.get(key) ?? []), f]);
  }
  const key = [...sets.keys()].sort(byLength)[0];
  if (key === undefined) {
    throw errors.notFound(`repo ${repo} has no GGUF file for quantization ${quant}; its GGUF files: ${describeGgufFiles(files)}`, 'model');
  }
  const shards = sets.get(key)!.sort((a, b) => a.name.localeCompare(b.name));
  const total = Number(SHARD.exec(shards[0].name)![2]);
  const have = new Set(shards.map((f) => Number(SHARD.exec(f.name)![1])));
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((i) => !have.has(i));
  if (missing.length || shards.length !== total) {
    throw errors.notFound(`repo ${repo}: the ${quant} GGUF shard set ${key}-*-of-${String(total).padStart(5, '0')}.gguf lacks shard(s) ${missing.join(', ')}`, 'model');
  }
  return { kind: 'gguf', files: shards, entry: shards[0].name };
}

/**
 * Example: selectFiles('o/r', [{ name: 'm-Q4_0.gguf' }, { name: 'm-Q8_0.gguf' }], 'Q8_0')
 * → { kind: 'gguf', files: [{ name: 'm-Q8_0.gguf' }], entry: 'm-Q8_0.gguf' }
 */
export function selectFiles(repo: string, files: HubFile[], quant: string | null): Selection {
  if (quant) return pickGguf(repo, files, quant);
  const weights = files.filter((f) => atRoot(f.name) && f.name.endsWith('.safetensors'));
  if (weights.length) {
    const byName = new Map(files.map((f) => [f.name, f]));
    if (!byName.has('config.json')) throw errors.checkpointMissing(`repo ${repo} has safetensors weights but no config.json at its root`, 'model');
    const meta = CHECKPOINT_META.filter((n) => byName.has(n)).map((n) => byName.get(n)!);
    const index = byName.get(SAFETENSORS_INDEX) ?? null;
    const single = byName.get('model.safetensors');
    return { kind: 'safetensors', files: index ? [...meta, index] : meta, index, weights: index ? weights : single ? [single] : weights };
  }
  if (files.some((f) => isGguf(f.name))) {
    if (files.some((f) => isGguf(f.name) && hasQuant(f.name, DEFAULT_QUANT))) return pickGguf(repo, files, DEFAULT_QUANT);
    throw errors.invalidParam(`repo ${repo} holds GGUF files but none is ${DEFAULT_QUANT}; name one with hf:${repo}:QUANT, from: ${describeGgufFiles(files)}`, 'model');
  }
  throw errors.unsupportedModel(`repo ${repo} has neither safetensors weights nor GGUF files at its root`, 'model');
}

/** The weight files a model.safetensors.index.json names, each checked against the repo listing. */
export function weightsFromIndex(repo: string, indexText: string, weights: HubFile[]): HubFile[] {
  let map: Record<string, string>;
  try {
    map = (JSON.parse(indexText) as { weight_map?: Record<string, string> }).weight_map ?? {};
  } catch (e) {
    throw errors.badCheckpoint(`repo ${repo}: ${SAFETENSORS_INDEX} is not valid JSON`, 'model', { cause: e });
  }
  const byName = new Map(weights.map((f) => [f.name, f]));
  const names = [...new Set(Object.values(map))].sort();
  if (!names.length) throw errors.badCheckpoint(`repo ${repo}: ${SAFETENSORS_INDEX} has an empty weight_map`, 'model');
  return names.map((n) => {
    const f = byName.get(n);
    if (!f) throw errors.badCheckpoint(`repo ${repo}: ${SAFETENSORS_INDEX} names ${n}, which is not in the repo`, 'model');
    return f;
  });
}
