// `sprig serve`: the OpenAI-compatible server. Every flag can also come from a SPRIG_* env var
// (flag beats env beats default); validation happens here, once, before anything loads.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_DRAFTERS, DRAFTER_NAMES } from '../drafters/registry.ts';
import { DEFAULT_SUFFIX_CACHE_REQUESTS } from '../drafters/suffix-cache.ts';
import { DEFAULT_SERVER_CONFIG as D } from '../server/config.ts';
import { startServer, type ServeOptions } from '../server/main.ts';
import { DEFAULT_STATE_SAVE_INTERVAL_S } from '../engine/state-saver.ts';
import { budgetArg, CTX_HELP, intArg, onOffArg, QUANTIZE_HELP, quantizeArg } from './args.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';

function listArg(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A number of seconds ≥ 0, fractions allowed (0.5 = 500 ms). */
function secondsArg(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number of seconds ≥ 0, got ${JSON.stringify(v)}`);
    return n;
  };
}

const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the OpenAI-compatible API (/v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)')
    .addOption(opt('--model <path>', 'Hugging Face checkpoint folder, .gguf file, or hf:OWNER/REPO[:QUANT] (default: the embedded default model)', 'SPRIG_MODEL'))
    .addOption(opt('--draft <path>', 'draft model checkpoint for the `draft` drafter (same vocabulary as --model)', 'SPRIG_DRAFT'))
    .addOption(opt('--quantize <mode>', QUANTIZE_HELP, 'SPRIG_QUANTIZE').argParser(quantizeArg('--quantize')).default('none'))
    .addOption(opt('--draft-quantize <mode>', 'the same for the draft model', 'SPRIG_DRAFT_QUANTIZE').argParser(quantizeArg('--draft-quantize')).default('none'))
    .addOption(opt('--ctx-size <n>', CTX_HELP, 'SPRIG_CTX_SIZE').argParser(intArg('--ctx-size', 0)).default(0))
    .addOption(opt('--datastore <file>', 'token datastore for the `retrieval` drafter (sprig datastore build)', 'SPRIG_DATASTORE'))
    .addOption(opt('--recycling-state <file>', 'keep Token Recycling\'s matrix in this file: loaded at start, saved at shutdown', 'SPRIG_RECYCLING_STATE'))
    .addOption(opt('--suffix-cache <file>', 'keep the suffix drafter\'s cache of earlier outputs in this file: loaded at start, saved at shutdown', 'SPRIG_SUFFIX_CACHE'))
    .addOption(opt('--suffix-cache-requests <n>', 'earlier outputs the suffix drafter keeps, least recently used forgotten first (0 = this request only)', 'SPRIG_SUFFIX_CACHE_REQUESTS').argParser(intArg('--suffix-cache-requests', 0)).default(DEFAULT_SUFFIX_CACHE_REQUESTS))
    .addOption(opt('--state-save-interval <seconds>', 'also save --recycling-state and --suffix-cache this often while serving, when they changed, so a crash loses at most this much learned state (0 = only at shutdown)', 'SPRIG_STATE_SAVE_INTERVAL').argParser(secondsArg('--state-save-interval')).default(DEFAULT_STATE_SAVE_INTERVAL_S))
    .addOption(opt('--drafters <names>', `default drafters for requests, comma-separated: ${DRAFTER_NAMES.join(', ')} (default: ${DEFAULT_DRAFTERS.join(',')}; none = plain decoding)`, 'SPRIG_DRAFTERS').argParser(listArg))
    .addOption(opt('--layerskip-layers <k>', 'the layerskip drafter drafts with the target\'s first K layers (default: chosen at startup by measured acceptance × cost)', 'SPRIG_LAYERSKIP_LAYERS').argParser(intArg('--layerskip-layers', 1)))
    .addOption(opt('--tree-budget <auto|n>', 'draft tokens verified per step: auto sizes each tree for this machine', 'SPRIG_TREE_BUDGET').argParser(budgetArg).default(D.treeBudget))
    .addOption(opt('--max-tree-tokens <n>', 'hard cap on draft tokens per step (requests may lower it)', 'SPRIG_MAX_TREE_TOKENS').argParser(intArg('--max-tree-tokens', 0)))
    .addOption(opt('--host <host>', 'interface to listen on', 'SPRIG_HOST').default(D.host))
    .addOption(opt('--port <n>', 'TCP port (0 = any free port)', 'SPRIG_PORT').argParser(intArg('--port', 0)).default(D.port))
    .addOption(opt('--api-key <key>', 'require "Authorization: Bearer <key>" (all routes but /health)', 'SPRIG_API_KEY'))
    .addOption(opt('--no-ui', 'do not serve the playground at / and /ui (SPRIG_NO_UI set: the same)', 'SPRIG_NO_UI'))
    .addOption(opt('--max-queue <n>', 'generations that may wait for a slot; more get 429', 'SPRIG_MAX_QUEUE').argParser(intArg('--max-queue', 0)).default(D.maxQueue))
    .addOption(opt('--max-concurrent <n>', 'generations running at once, interleaved step by step', 'SPRIG_MAX_CONCURRENT').argParser(intArg('--max-concurrent', 1)).default(D.maxConcurrent))
    .addOption(opt('--max-batch-tokens <n>', 'most tokens one batched forward carries (every running generation\'s tree and prompt chunks share it)', 'SPRIG_MAX_BATCH_TOKENS').argParser(intArg('--max-batch-tokens', 1)).default(D.maxBatchTokens))
    .addOption(opt('--request-timeout-ms <n>', 'per-request time budget, queue wait included (0 = none)', 'SPRIG_REQUEST_TIMEOUT_MS').argParser(intArg('--request-timeout-ms', 0)).default(D.requestTimeoutMs))
    .addOption(opt('--receive-timeout-ms <n>', 'most time a client may take to send a whole request, headers and body; 408 and the connection closed past it (0 = none)', 'SPRIG_RECEIVE_TIMEOUT_MS').argParser(intArg('--receive-timeout-ms', 0)).default(D.receiveTimeoutMs))
    .addOption(opt('--max-connections <n>', 'sockets open at once; one more is closed as soon as it connects (0 = no limit)', 'SPRIG_MAX_CONNECTIONS').argParser(intArg('--max-connections', 0)).default(D.maxConnections))
    .addOption(opt('--cors <origins>', 'comma-separated allowed CORS origins, or * (default: no CORS)', 'SPRIG_CORS').argParser(listArg))
    .addOption(opt('--threads <n>', 'onnxruntime intra-op threads (0 = by model size: 1 below 20M parameters, else every core)', 'SPRIG_THREADS').argParser(intArg('--threads', 0)).default(0))
    .addOption(opt('--max-body-bytes <n>', 'largest request body accepted (413 beyond)', 'SPRIG_MAX_BODY_BYTES').argParser(intArg('--max-body-bytes', 1024)).default(D.bodyLimitBytes))
    .addOption(opt('--drain-timeout-ms <n>', 'on SIGTERM, how long running requests may finish', 'SPRIG_DRAIN_TIMEOUT_MS').argParser(intArg('--drain-timeout-ms', 0)).default(D.drainTimeoutMs))
    .addOption(opt('--stream-interval-ms <n>', 'gather streamed tokens this long into one chunk (0 = every step at once)', 'SPRIG_STREAM_INTERVAL_MS').argParser(intArg('--stream-interval-ms', 0)).default(D.streamIntervalMs))
    .addOption(opt('--batch-speculation <on|off>', 'while several generations share a step, draft for them too, with one token budget across the batch given to the nodes worth most per unit of step cost, so trees shrink as load grows (off: shared steps draft nothing; a generation alone always speculates)', 'SPRIG_BATCH_SPECULATION').argParser(onOffArg('--batch-speculation')).default(true, 'on'))
    .addOption(opt('--engine-thread <on|off>', 'run the engine (onnxruntime, KV, drafters) in a worker thread, off the event loop that serves HTTP; off runs it on the event loop (for debugging)', 'SPRIG_ENGINE_THREAD').argParser(onOffArg('--engine-thread')).default(true, 'on'))
    .addOption(opt('--kv-cache-mb <n>', 'prefix cache: MiB of K/V rows kept to reuse shared prompt prefixes across requests, least recently used evicted first (0 = off)', 'SPRIG_KV_CACHE_MB').argParser(intArg('--kv-cache-mb', 0)).default(D.kvCacheMb))
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
  quantize: QuantizeMode;
  draftQuantize: QuantizeMode;
  ctxSize: number;
  datastore?: string;
  recyclingState?: string;
  suffixCache?: string;
  suffixCacheRequests: number;
  stateSaveInterval: number;
  layerskipLayers?: number;
  drafters?: string[];
  treeBudget: number | 'auto';
  maxTreeTokens?: number;
  host: string;
  port: number;
  apiKey?: string;
  ui: boolean;
  maxQueue: number;
  maxConcurrent: number;
  maxBatchTokens: number;
  requestTimeoutMs: number;
  receiveTimeoutMs: number;
  maxConnections: number;
  cors?: string[];
  threads: number;
  maxBodyBytes: number;
  drainTimeoutMs: number;
  streamIntervalMs: number;
  kvCacheMb: number;
  engineThread: boolean;
  batchSpeculation: boolean;
}

export function serveOptions(f: ServeFlags): ServeOptions {
  return {
    model: f.model,
    draft: f.draft,
    quantize: f.quantize,
    draftQuantize: f.draftQuantize,
    ctxSize: f.ctxSize,
    datastore: f.datastore,
    recyclingState: f.recyclingState,
    suffixCache: f.suffixCache,
    suffixCacheRequests: f.suffixCacheRequests,
    stateSaveIntervalMs: f.stateSaveInterval > 0 ? Math.max(1, Math.round(f.stateSaveInterval * 1000)) : 0,
    layerskipLayers: f.layerskipLayers,
    threads: f.threads,
    host: f.host,
    port: f.port,
    apiKey: f.apiKey ?? null,
    ui: f.ui,
    maxQueue: f.maxQueue,
    maxConcurrent: f.maxConcurrent,
    maxBatchTokens: f.maxBatchTokens,
    requestTimeoutMs: f.requestTimeoutMs,
    receiveTimeoutMs: f.receiveTimeoutMs,
    maxConnections: f.maxConnections,
    corsOrigins: f.cors ?? [],
    bodyLimitBytes: f.maxBodyBytes,
    drafters: f.drafters ?? [...DEFAULT_DRAFTERS],
    treeBudget: f.treeBudget,
    maxTreeTokens: f.maxTreeTokens,
    drainTimeoutMs: f.drainTimeoutMs,
    streamIntervalMs: f.streamIntervalMs,
    kvCacheMb: f.kvCacheMb,
    engineThread: f.engineThread,
    batchSpeculation: f.batchSpeculation,
  };
}
