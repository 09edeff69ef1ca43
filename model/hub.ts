// `--model hf:OWNER/REPO[@REVISION][:QUANT]`: fetches a model from the Hugging Face Hub (or HF_ENDPOINT)
// into Sprig's cache and returns its local path. With the network down (or the Hub failing with a 5xx), a
// cached copy of the same revision is used. Parts: hub/spec.ts (parse), hub/api.ts (HTTP), hub/select.ts (which files),
// hub/download.ts (one file, resumable, checked), hub/cache.ts (layout, refs, completeness).
import fs from 'node:fs';
import path from 'node:path';
import { errors, isSprigError } from '../common/errors.ts';
import { logger, type Logger } from '../common/log.ts';
import { resolveModelPath } from './default-model.ts';
import { hubEndpoint, isHubOutage, listRepo, resolveUrl, unreachable, type HubFile, type RepoListing } from './hub/api.ts';
import { findComplete, markComplete, readRef, repoCacheDir, snapshotDir, writeRef } from './hub/cache.ts';
import { downloadFile } from './hub/download.ts';
import { selectFiles, weightsFromIndex } from './hub/select.ts';
import { isHubSpec, parseHubSpec } from './hub/spec.ts';

export { isHubSpec } from './hub/spec.ts';

export interface HubOptions {
  log?: Logger;
}

const envOffline = () => /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? '');

/**
 * Resolves a Hub reference to a local path: the GGUF file (the first shard of a set) for hf:o/r:QUANT,
 * the checkpoint folder for a safetensors repo.
 *
 * Example: await resolveHubModel('hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M')
 * → '~/.cache/sprig/hub/bartowski--Qwen2.5-0.5B-Instruct-GGUF/<commit>/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf'
 */
export async function resolveHubModel(spec: string, opts: HubOptions = {}): Promise<string> {
  const s = parseHubSpec(spec);
  const key = s.quant ?? '';
  const log = opts.log ?? logger.child({ component: 'hub' });
  const cached = () => {
    const sha = readRef(s.repo, s.revision);
    return sha ? findComplete(s.repo, sha, key) : null;
  };
  if (envOffline()) {
    const p = cached();
    if (p) return p;
    throw errors.downloadFailed(`HF_HUB_OFFLINE is set and ${spec} is not in the cache (${repoCacheDir(s.repo)})`, 'model');
  }
  let listing: RepoListing;
  try {
    listing = await listRepo(s.repo, s.revision);
  } catch (e) {
    if (!isHubOutage(e)) throw e;
    const p = cached();
    if (!p) throw isSprigError(e) ? e : unreachable(e, `${spec}, and the cache holds no copy of it`);
    log.warn({ model: spec, path: p, endpoint: hubEndpoint() }, 'Hugging Face Hub unreachable: offline, using the cached copy');
    return p;
  }
  const have = findComplete(s.repo, listing.sha, key);
  if (have) {
    writeRef(s.repo, s.revision, listing.sha);
    return have;
  }

  const sel = selectFiles(s.repo, listing.files, s.quant);
  const dir = snapshotDir(s.repo, listing.sha);
  const fetchAll = async (files: HubFile[]) => {
    for (const f of files) {
      const dest = path.join(dir, f.name);
      if (fs.existsSync(dest) && (f.size === undefined || fs.statSync(dest).size === f.size)) continue;
      fs.rmSync(dest, { force: true });
      await downloadFile({ url: resolveUrl(s.repo, listing.sha, f.name), dest, what: `${f.name} in ${s.repo}`, label: f.name, size: f.size, sha256: f.sha256 });
    }
  };
  const announce = (files: HubFile[]) => {
    const mb = Math.round(files.reduce((n, f) => n + (f.size ?? 0), 0) / 1e5) / 10;
    log.info({ model: spec, commit: listing.sha, files: files.length, mb, dir }, 'fetching from the Hugging Face Hub');
  };
  let files = sel.files;
  let entry = '';
  if (sel.kind === 'gguf') {
    announce(files);
    await fetchAll(files);
    entry = sel.entry;
  } else {
    await fetchAll(sel.files);
    const weights = sel.index ? weightsFromIndex(s.repo, fs.readFileSync(path.join(dir, sel.index.name), 'utf8'), sel.weights) : sel.weights;
    files = [...files, ...weights];
    announce(files);
    await fetchAll(weights);
  }
  markComplete(s.repo, listing.sha, key, { files: files.map((f) => f.name), entry });
  writeRef(s.repo, s.revision, listing.sha);
  return path.join(dir, entry);
}

/** --model / --draft value → local path: hf: references are fetched, the rest as resolveModelPath does. */
export async function resolveModelSource(model: string | undefined, opts: HubOptions = {}): Promise<string> {
  return isHubSpec(model) ? resolveHubModel(model, opts) : resolveModelPath(model);
}
