// Talks to the Hugging Face Hub API: endpoint and token from the environment, the repo listing, and the
// mapping of HTTP failures to Sprig's coded errors. The token is sent, never logged or put in a message.
import { errors, isSprigError, type SprigError } from '../../common/errors.ts';

export interface HubFile {
  /** Path inside the repo ('model-Q4_K_M.gguf', 'Q8_0/model-00001-of-00002.gguf'). */
  name: string;
  size?: number;
  /** sha256 of the content, for LFS files. */
  sha256?: string;
}

export interface RepoListing {
  /** Commit the revision points at. */
  sha: string;
  files: HubFile[];
}

export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

export function hubToken(): string | undefined {
  return process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined;
}

export function authHeaders(): Record<string, string> {
  const token = hubToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** True when fetch failed before any HTTP answer: no route, no DNS, refused, timed out. */
export function isNetworkError(e: unknown): boolean {
  for (let c = e as { name?: string; code?: string; cause?: unknown } | undefined, depth = 0; c && depth < 5; c = c.cause as typeof c, depth++) {
    if (c.code && NETWORK_CODES.has(c.code)) return true;
    if (c.name === 'TimeoutError') return true;
  }
  return e instanceof TypeError && e.message === 'fetch failed';
}

/** True when a cached copy may stand in: the network failed, or the Hub answered with a server error (5xx). */
export function isHubOutage(e: unknown): boolean {
  if (isSprigError(e)) return ((e.cause as { hubStatus?: number } | undefined)?.hubStatus ?? 0) >= 500;
  return isNetworkError(e);
}

function networkMessage(e: unknown): string {
  const parts: string[] = [];
  for (let c = e as { message?: string; code?: string; cause?: unknown } | undefined, depth = 0; c && depth < 5; c = c.cause as typeof c, depth++) {
    if (c.code) parts.push(c.code);
    else if (c.message) parts.push(c.message);
  }
  return parts.join(': ');
}

export function unreachable(e: unknown, what: string): SprigError {
  return errors.downloadFailed(`cannot reach the Hugging Face Hub at ${hubEndpoint()} for ${what} (${networkMessage(e)}); check the network or HF_ENDPOINT`, 'model', { cause: e });
}

/** The coded error for a non-2xx Hub answer about `what` ('repo o/r at main', 'file x.gguf in o/r'). */
export function httpError(res: Response, what: string): SprigError {
  const status = res.status;
  const hubCode = res.headers.get('x-error-code');
  if (status === 401 || status === 403) {
    return hubToken()
      ? errors.hubAuth(`the Hugging Face Hub refused the token in HF_TOKEN for ${what} (HTTP ${status}): check that it is valid and can read this repo (for a gated model, accept its terms on the model page first)`, 'model')
      : errors.hubAuth(`the Hugging Face Hub refused access to ${what} (HTTP ${status}): the repo is gated or private (or does not exist); set HF_TOKEN to a token that can read it (for a gated model, accept its terms on the model page first)`, 'model');
  }
  if (status === 404) {
    const why = hubCode === 'RevisionNotFound' ? 'revision not found' : hubCode === 'EntryNotFound' ? 'file not found' : hubCode === 'RepoNotFound' ? 'repository not found' : 'not found';
    return errors.notFound(`${what} does not exist on ${hubEndpoint()} (${why}; HTTP 404)`, 'model');
  }
  return errors.downloadFailed(`the Hugging Face Hub answered HTTP ${status} ${res.statusText} for ${what}`, 'model', { cause: { hubStatus: status } });
}

/** GET with the token (when set), following redirects; network failures are thrown as fetch throws them. */
export async function hubFetch(url: string, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(url, { headers: { ...authHeaders(), 'user-agent': 'sprig', ...init.headers }, redirect: 'follow', signal: init.signal });
}

function encodePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(repo: string, revision: string, name: string): string {
  return `${hubEndpoint()}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(name)}`;
}

/** A repo file path safe to join under the cache folder (no absolute paths, no '..'). */
function safeName(name: string): boolean {
  return !!name && !name.startsWith('/') && !name.includes('\\') && name.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

interface RevisionAnswer {
  sha?: string;
  siblings?: { rfilename?: string; size?: number; lfs?: { sha256?: string; size?: number } }[];
}

/**
 * Lists the repo's files at a revision (GET /api/models/{repo}/revision/{rev}?blobs=true).
 * Throws network errors as they are (the caller decides whether a cached copy serves), HTTP errors coded.
 */
export async function listRepo(repo: string, revision: string): Promise<RepoListing> {
  const url = `${hubEndpoint()}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await hubFetch(url, { signal: AbortSignal.timeout(30_000) });
  const what = revision === 'main' ? `repo ${repo}` : `repo ${repo} at revision ${revision}`;
  if (!res.ok) throw httpError(res, what);
  let body: RevisionAnswer;
  try {
    body = (await res.json()) as RevisionAnswer;
  } catch (e) {
    throw errors.downloadFailed(`the Hugging Face Hub's answer for ${what} is not readable JSON (${(e as Error).message})`, 'model', { cause: e });
  }
  if (typeof body.sha !== 'string' || !/^[0-9a-f]{40}$/.test(body.sha) || !Array.isArray(body.siblings)) {
    throw errors.downloadFailed(`the Hugging Face Hub's answer for ${what} has no commit sha or file list (${url})`, 'model');
  }
  const files: HubFile[] = [];
  for (const s of body.siblings) {
    if (typeof s.rfilename !== 'string' || !safeName(s.rfilename)) continue;
    files.push({ name: s.rfilename, size: s.lfs?.size ?? s.size, sha256: s.lfs?.sha256 });
  }
  return { sha: body.sha, files };
}
