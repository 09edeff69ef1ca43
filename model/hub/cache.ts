// The Hub cache: cacheRoot()/hub/OWNER--REPO/<commit sha>/<repo files>, refs/<revision> holding the commit a
// revision last resolved to, and per commit a manifest of what each model reference fetched in full, so
// a later run can reuse it without the network.
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../compile.ts';
import { writeFileAtomic } from '../../common/files.ts';

const MANIFEST = '.sprig-complete.json';

export function repoCacheDir(repo: string): string {
  return path.join(cacheRoot(), 'hub', repo.replace('/', '--'));
}

export function snapshotDir(repo: string, sha: string): string {
  return path.join(repoCacheDir(repo), sha);
}

function refFile(repo: string, revision: string): string {
  return path.join(repoCacheDir(repo), 'refs', encodeURIComponent(revision));
}


/** The commit a revision last resolved to; a full commit sha stands for itself. */
export function readRef(repo: string, revision: string): string | null {
  if (/^[0-9a-f]{40}$/.test(revision)) return revision;
  try {
    const sha = fs.readFileSync(refFile(repo, revision), 'utf8').trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

export function writeRef(repo: string, revision: string, sha: string): void {
  if (revision !== sha) writeFileAtomic(refFile(repo, revision), `${sha}\n`);
}

/** What a model reference needs from a snapshot: the files, and the path handed back (a file or the folder). */
export interface CompleteEntry {
  files: string[];
  /** Relative to the snapshot folder; '' = the folder itself. */
  entry: string;
}

function readManifest(dir: string): Record<string, CompleteEntry> {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8'));
  } catch {
    return {};
  }
}

/** Records that `key` (the quant label, or '' for the default choice) was fetched in full. */
export function markComplete(repo: string, sha: string, key: string, entry: CompleteEntry): void {
  const dir = snapshotDir(repo, sha);
  const manifest = readManifest(dir);
  manifest[key] = entry;
  writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
}

/** The cached path for `key` at this commit when every file it needs is there, else null. */
export function findComplete(repo: string, sha: string, key: string): string | null {
  const dir = snapshotDir(repo, sha);
  const e = readManifest(dir)[key];
  if (!e || !e.files.every((f) => fs.existsSync(path.join(dir, f)))) return null;
  return path.join(dir, e.entry);
}
