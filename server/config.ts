// The server's runtime settings (what `sprig serve` flags and SPRIG_* env vars set), with defaults.
// Model loading options live in server/main.ts; this is only what buildApp needs.

export interface ServerConfig {
  host: string;
  port: number;
  /** When set, every route but /health needs `Authorization: Bearer <apiKey>`. */
  apiKey: string | null;
  /** Serve the playground (server/ui/) at / and /ui; `--no-ui` turns it off. */
  ui: boolean;
  /** Generations that may wait for a slot; one more gets 429. */
  maxQueue: number;
  /** Generations running at once (each step runs one forward over all of them: continuous batching). */
  maxConcurrent: number;
  /** Most rows (tokens) one batched forward carries: draft trees and prefill chunks are sized to fit. */
  maxBatchTokens: number;
  /** Per-request budget from arrival (queue wait included); 0 = none. */
  requestTimeoutMs: number;
  /** Most time a client may take to send a whole request, headers and body (408 past it); 0 = none. */
  receiveTimeoutMs: number;
  /** Sockets open at once; Node closes any beyond it as soon as they connect. 0 = no limit. */
  maxConnections: number;
  /** Allowed CORS origins ('*' for any); empty = no CORS headers. */
  corsOrigins: string[];
  bodyLimitBytes: number;
  /** Default drafters for requests that do not pick their own; empty = the engine's default. */
  drafters: string[];
  /** Draft nodes per step, or 'auto' (the expander sizes each step's tree). */
  treeBudget: number | 'auto';
  /** Hard cap on draft nodes per step; undefined = the engine's default. Requests may lower it. */
  maxTreeTokens?: number;
  /** On SIGTERM, how long running requests may finish before they are cut off. */
  drainTimeoutMs: number;
  /** Streamed tokens gather this long before one chunk goes out (0 = every step at once). */
  streamIntervalMs: number;
  /** Prefix cache budget in MiB: K/V rows of earlier prompts reused by later ones (0 = off). */
  kvCacheMb: number;
}

/** --max-batch-tokens when unset: the server's default and the engine's (createEngine) when no batch size is given. */
export const DEFAULT_MAX_BATCH_TOKENS = 512;

export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  apiKey: null,
  ui: true,
  maxQueue: 64,
  maxConcurrent: 8,
  maxBatchTokens: DEFAULT_MAX_BATCH_TOKENS,
  requestTimeoutMs: 600_000,
  receiveTimeoutMs: 30_000,
  maxConnections: 1024,
  corsOrigins: [],
  bodyLimitBytes: 4 * 1024 * 1024,
  drafters: [],
  treeBudget: 'auto',
  drainTimeoutMs: 30_000,
  streamIntervalMs: 5,
  kvCacheMb: 256,
});

export function resolveServerConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return Object.freeze({ ...DEFAULT_SERVER_CONFIG, ...defined }) as ServerConfig;
}
