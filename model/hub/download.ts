// Downloads one Hub file into place: written to <file>.part, resumed with a Range request when a .part is
// there (a server that ignores the range restarts it), sha256-checked (LFS) or size-checked, then renamed.
// A file that fails its check is deleted: the cache never holds a wrong or half-checked file under its name.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from '../../common/errors.ts';
import { httpError, hubFetch, isNetworkError, unreachable } from './api.ts';
import { downloadProgress } from './progress.ts';

export interface DownloadTarget {
  url: string;
  dest: string;
  /** For messages: 'model-Q4_0.gguf in owner/repo'. */
  what: string;
  /** Short name for the progress line. */
  label: string;
  size?: number;
  sha256?: string;
}

/** sha256 of a file's first `bytes` bytes, as a running hash to continue. */
async function hashPrefix(file: string, bytes: number): Promise<crypto.Hash> {
  const h = crypto.createHash('sha256');
  if (bytes > 0) for await (const chunk of fs.createReadStream(file, { end: bytes - 1 })) h.update(chunk as Buffer);
  return h;
}

/** A sha256 from ETag / X-Linked-Etag (the Hub puts the LFS sha256 there), else undefined. */
function etagSha256(res: Response): string | undefined {
  for (const h of ['x-linked-etag', 'etag']) {
    const v = res.headers.get(h)?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
    if (v && /^[0-9a-f]{64}$/.test(v)) return v;
  }
  return undefined;
}

function fail(part: string, e: Error): never {
  fs.rmSync(part, { force: true });
  throw e;
}

/** Opens the download, resuming from `offset` when the server honours the range; returns where it starts. */
async function open(t: DownloadTarget, offset: number): Promise<{ res: Response; offset: number }> {
  let res: Response;
  try {
    res = await hubFetch(t.url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {} });
  } catch (e) {
    throw isNetworkError(e) ? unreachable(e, t.what) : e;
  }
  if (offset > 0) {
    const honoured = res.status === 206 && new RegExp(`^bytes ${offset}-`).test(res.headers.get('content-range') ?? '');
    if (res.status === 200) return { res, offset: 0 };
    if (!honoured && (res.status === 206 || res.status === 416)) {
      await res.body?.cancel();
      return open(t, 0);
    }
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpError(res, t.what);
  }
  return { res, offset };
}

export async function downloadFile(t: DownloadTarget): Promise<void> {
  const part = `${t.dest}.part`;
  fs.mkdirSync(path.dirname(t.dest), { recursive: true });
  let offset = fs.existsSync(part) ? fs.statSync(part).size : 0;
  if (t.size !== undefined && offset > t.size) {
    fs.rmSync(part, { force: true });
    offset = 0;
  }
  let expectedSha = t.sha256?.toLowerCase();
  let expectedSize = t.size;
  let received = 0;
  let hash: crypto.Hash;
  if (t.size !== undefined && offset === t.size) {
    hash = await hashPrefix(part, offset);
  } else {
    const opened = await open(t, offset);
    offset = opened.offset;
    const { res } = opened;
    hash = await hashPrefix(part, offset);
    expectedSha ??= etagSha256(res);
    if (expectedSize === undefined) {
      const total = res.status === 206 ? /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] : res.headers.get('content-length');
      if (total) expectedSize = Number(total);
    }
    const progress = downloadProgress(t.label, expectedSize, offset);
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        received += chunk.length;
        progress.update(offset + received);
        cb(null, chunk);
      },
    });
    try {
      if (!res.body) throw new Error('empty response body');
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tap, fs.createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' }));
    } catch (e) {
      const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
      throw errors.downloadFailed(`download of ${t.what} was cut off at ${have}${expectedSize !== undefined ? ` of ${expectedSize}` : ''} bytes (${(e as Error).message}); run again to resume`, 'model', { cause: e });
    } finally {
      progress.done();
    }
  }
  const size = offset + received;
  if (expectedSize !== undefined && size < expectedSize) {
    throw errors.downloadFailed(`download of ${t.what} ended early at ${size} of ${expectedSize} bytes; run again to resume`, 'model');
  }
  if (expectedSize !== undefined && size > expectedSize) {
    fail(part, errors.checksumMismatch(`downloaded ${t.what} is ${size} bytes, the Hub lists ${expectedSize}; the partial file was deleted`, 'model'));
  }
  const actual = hash.digest('hex');
  if (expectedSha && actual !== expectedSha) {
    fail(part, errors.checksumMismatch(`downloaded ${t.what} fails its checksum: expected sha256 ${expectedSha}, got ${actual}; the file was deleted, run again to fetch it anew`, 'model'));
  }
  fs.renameSync(part, t.dest);
}
