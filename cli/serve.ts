// `sprig serve`: the OpenAI-compatible server. Every flag can also come from a SPRIG_* env var
// (flag beats env beats default); validation happens here, once, before anything loads.
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_SERVER_CONFIG as D } from '../server/config.ts';
import { startServer, type ServeOptions } from '../server/main.ts';
import { intArg } from './main.ts';

function listArg(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function treeBudgetArg(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--tree-budget must be 'auto' or an integer ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the OpenAI-compatible API (/v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)')
    .addOption(opt('--model <path>', 'Hugging Face checkpoint folder (default: the embedded default model)', 'SPRIG_MODEL'))
    .addOption(opt('--draft <path>', 'draft model checkpoint for the draft-model drafter (not implemented yet)', 'SPRIG_DRAFT'))
    .addOption(opt('--drafters <names>', 'comma-separated default drafters (default: the engine\'s choice; none = plain decoding)', 'SPRIG_DRAFTERS').argParser(listArg))
    .addOption(opt('--tree-budget <n>', 'draft tree nodes per step: auto or an integer', 'SPRIG_TREE_BUDGET').argParser(treeBudgetArg).default(D.treeBudget))
    .addOption(opt('--host <host>', 'interface to listen on', 'SPRIG_HOST').default(D.host))
    .addOption(opt('--port <n>', 'TCP port (0 = any free port)', 'SPRIG_PORT').argParser(intArg('--port', 0)).default(D.port))
    .addOption(opt('--api-key <key>', 'require "Authorization: Bearer <key>" (all routes but /health)', 'SPRIG_API_KEY'))
    .addOption(opt('--max-queue <n>', 'generations that may wait for a slot; more get 429', 'SPRIG_MAX_QUEUE').argParser(intArg('--max-queue', 0)).default(D.maxQueue))
    .addOption(opt('--max-concurrent <n>', 'generations running at once, interleaved step by step', 'SPRIG_MAX_CONCURRENT').argParser(intArg('--max-concurrent', 1)).default(D.maxConcurrent))
    .addOption(opt('--request-timeout-ms <n>', 'per-request time budget, queue wait included (0 = none)', 'SPRIG_REQUEST_TIMEOUT_MS').argParser(intArg('--request-timeout-ms', 0)).default(D.requestTimeoutMs))
    .addOption(opt('--cors <origins>', 'comma-separated allowed CORS origins, or * (default: no CORS)', 'SPRIG_CORS').argParser(listArg))
    .addOption(opt('--threads <n>', 'onnxruntime intra-op threads (0 = auto)', 'SPRIG_THREADS').argParser(intArg('--threads', 0)).default(0))
    .addOption(opt('--max-body-bytes <n>', 'largest request body accepted (413 beyond)', 'SPRIG_MAX_BODY_BYTES').argParser(intArg('--max-body-bytes', 1024)).default(D.bodyLimitBytes))
    .addOption(opt('--drain-timeout-ms <n>', 'on SIGTERM, how long running requests may finish', 'SPRIG_DRAIN_TIMEOUT_MS').argParser(intArg('--drain-timeout-ms', 0)).default(D.drainTimeoutMs))
    .action(async (flags: ServeFlags) => {
      const server = await startServer(serveOptions(flags));
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) process.exit(1); // a second signal: stop now
        signalled = true;
        process.stderr.write(`[sprig] ${signal}: draining\n`);
        server.shutdown().then(() => process.exit(0), (e: unknown) => {
          process.stderr.write(`[sprig] shutdown failed: ${String(e)}\n`);
          process.exit(1);
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
}

export interface ServeFlags {
  model?: string;
  draft?: string;
  drafters?: string[];
  treeBudget: number | 'auto';
  host: string;
  port: number;
  apiKey?: string;
  maxQueue: number;
  maxConcurrent: number;
  requestTimeoutMs: number;
  cors?: string[];
  threads: number;
  maxBodyBytes: number;
  drainTimeoutMs: number;
}

export function serveOptions(f: ServeFlags): ServeOptions {
  return {
    model: f.model,
    draft: f.draft,
    threads: f.threads,
    host: f.host,
    port: f.port,
    apiKey: f.apiKey ?? null,
    maxQueue: f.maxQueue,
    maxConcurrent: f.maxConcurrent,
    requestTimeoutMs: f.requestTimeoutMs,
    corsOrigins: f.cors ?? [],
    bodyLimitBytes: f.maxBodyBytes,
    drafters: f.drafters ?? [],
    treeBudget: f.treeBudget,
    drainTimeoutMs: f.drainTimeoutMs,
  };
}
