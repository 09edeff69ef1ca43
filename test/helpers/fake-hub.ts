// A loopback stand-in for the Hugging Face Hub: the revision API, /resolve/ downloads (LFS files redirect to
// a /cdn/ URL like the real Hub), Range requests, ETags, an optional bearer token, and switches that corrupt a
// file or cut its next download off halfway.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  url: string;
  range?: string;
  authorization?: string;
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const gitBlobSha1 = (b: Buffer) => crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const isLfs = (name: string) => /\.(gguf|safetensors)$/.test(name);

export class FakeHub {
  readonly repos = new Map<string, { sha: string; files: Map<string, Buffer> }>();
  /** When set, the API and /resolve/ answer 401 unless `Authorization: Bearer <token>`. */
  token: string | null = null;
  /** Files served with one byte flipped (the API still lists the true sha256). */
  readonly corrupt = new Set<string>();
  /** Files whose next download is cut off after half the bytes. */
  readonly dropHalf = new Set<string>();
  /** Answer Range requests with the whole file (200), like a server without range support. */
  ignoreRange = false;
  /** Answer everything with 503, like a Hub outage. */
  outage = false;
  readonly requests: SeenRequest[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));
  url = '';

  addRepo(repo: string, files: Record<string, Buffer | string>): string {
    const sha = crypto.createHash('sha1').update(repo + Object.keys(files).join()).digest('hex');
    this.repos.set(repo, { sha, files: new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])) });
    return sha;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests for one file's bytes (the /resolve/ or /cdn/ hit that carried them). */
  downloads(name: string): SeenRequest[] {
    return this.requests.filter((r) => r.url.startsWith('/cdn/') ? r.url.endsWith(`/${encodeURIComponent(name)}`) : r.url.includes('/resolve/') && r.url.endsWith(`/${name}`));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ url: url.pathname, range: req.headers.range, authorization: req.headers.authorization });
    const fail = (status: number, code?: string) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-error-code': code } : {}) });
      res.end(JSON.stringify({ error: code ?? 'error' }));
    };
    if (this.outage) return fail(503);
    const authorized = !this.token || req.headers.authorization === `Bearer ${this.token}`;

    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const repo = this.repos.get(m[1]);
      if (!authorized) return fail(401);
      if (!repo) return fail(404, 'RepoNotFound');
      const rev = decodeURIComponent(m[2]);
      if (rev !== 'main' && rev !== repo.sha) return fail(404, 'RevisionNotFound');
      const siblings = [...repo.files].map(([name, b]) => ({ rfilename: name, size: b.length, ...(isLfs(name) ? { lfs: { sha256: sha256(b), size: b.length, pointerSize: 134 } } : {}) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ id: m[1], sha: repo.sha, siblings }));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (m) {
      const repo = this.repos.get(m[1]);
      if (!authorized) return fail(401);
      if (!repo) return fail(404, 'RepoNotFound');
      const name = m[3].split('/').map(decodeURIComponent).join('/');
      const body = repo.files.get(name);
      if (!body) return fail(404, 'EntryNotFound');
      if (isLfs(name)) {
        // The real Hub redirects LFS files to its CDN, with the sha256 in X-Linked-Etag.
        res.writeHead(302, { location: `/cdn/${encodeURIComponent(m[1])}/${encodeURIComponent(name)}`, 'x-linked-etag': `"${sha256(body)}"`, 'x-repo-commit': repo.sha });
        return void res.end();
      }
      return this.sendBytes(req, res, name, body, gitBlobSha1(body));
    }
    m = /^\/cdn\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const name = decodeURIComponent(m[2]);
      const body = this.repos.get(decodeURIComponent(m[1]))?.files.get(name);
      if (!body) return fail(404);
      return this.sendBytes(req, res, name, body, sha256(body));
    }
    fail(404);
  }

  private sendBytes(req: http.IncomingMessage, res: http.ServerResponse, name: string, original: Buffer, etag: string): void {
    let body = original;
    if (this.corrupt.has(name)) {
      body = Buffer.from(original);
      body[body.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    const headers: Record<string, string | number> = { etag: `"${etag}"`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (range && !this.ignoreRange) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        return void res.end();
      }
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    headers['content-length'] = slice.length;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (this.dropHalf.delete(name)) {
      // Flush half, then drop the connection: the client sees a body shorter than its Content-Length.
      res.write(slice.subarray(0, slice.length >> 1), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.end(slice);
  }
}
