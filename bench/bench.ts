// `sprig bench` end to end: workloads → configs → in-process or HTTP runs → metrics → losslessness →
// results.jsonl, samples.jsonl, summary.md and report.html in the run folder. Returns the exit code.
import { errors } from '../common/errors.ts';
import fs from 'node:fs';
import path from 'node:path';
import { DRAFTER_NAMES } from '../drafters/registry.ts';
import { AdjacencyMatrix } from '../drafters/recycling.ts';
import { DEFAULT_SUFFIX_CACHE_REQUESTS, SuffixCache } from '../drafters/suffix-cache.ts';
import { loadEngine } from '../engine/load.ts';
import { layerskipSetting } from '../engine/layerskip-layers.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';
import { buildConfigs, defaultDrafterSpecs, labelConfigs, parseDrafterSpecs } from './configs.ts';
import { checkLossless, countNearTies, formatMismatches, realMismatches, scoreNearTies } from './lossless.ts';
import { generate as engineGenerate } from '../engine/generate.ts';
import { gitCommit, machineInfo, REPO_ROOT } from './machine.ts';
import { summarize } from './metrics.ts';
import { Progress, type TextSink } from './progress.ts';
import { resultRecords, sampleRecord, writeJsonl } from './report-jsonl.ts';
import { renderHtml } from './report-html.ts';
import { renderMarkdown } from './report-markdown.ts';
import { countHttp, fetchModelId, normalizeBaseUrl, runHttp } from './run-http.ts';
import { countInProcess, fitItems, runInProcess, type GenerateFn } from './run-inprocess.ts';
import { itemConstraints } from './constraints.ts';
import type { BenchResult, RunInfo, Sample, WorkloadItem } from './types.ts';
import { loadPromptFile, loadSuite, selectItems } from './workloads.ts';

/** Exit code when a greedy output differs from the baseline's. */
export const EXIT_LOSSLESS_FAILURE = 2;

export interface BenchOptions {
  /** In-process: checkpoint folder (undefined = embedded default). HTTP: the request's `model` field. */
  model?: string;
  /** In-process: draft checkpoint for the `draft` drafter. */
  draft?: string;
  /** In-process: token datastore for the `retrieval` drafter (without one it drafts from the context alone). */
  datastore?: string;
  /** In-process: the suffix drafter's global cache bound, and a saved cache every run starts from (read only). */
  suffixCacheRequests?: number;
  suffixCache?: string;
  /** In-process: a saved Token Recycling matrix every run starts from (read only). */
  recyclingState?: string;
  baseUrl?: string;
  apiKey?: string;
  endpoint: 'completions' | 'chat';
  /** Drafter specs ('recycling+lookup'); undefined = none, each drafter, all combined. */
  drafters?: string[];
  treeBudgets: (number | 'auto')[];
  temperatures: number[];
  concurrency: number[];
  /** 'auto': general for chat models, stories for models without a chat template. */
  suite: string;
  prompts?: string[];
  categories?: string[];
  limit?: number;
  maxTokens: number;
  repeats: number;
  warmup: number;
  seed: number;
  threads: number;
  /** In-process: --quantize / --draft-quantize. */
  quantize?: QuantizeMode;
  draftQuantize?: QuantizeMode;
  /** In-process: --ctx-size. */
  ctxSize?: number;
  /** In-process: the layerskip drafter's K (default: measured at startup when a configuration uses it). */
  layerskipLayers?: number;
  /**
   * Structured output: constrain answers to each item's schema (true), leave them free (false), or both. Default:
   * both for the extraction suite, free otherwise.
   */
  constrain?: boolean[];
  out?: string;
  runId?: string;
  /** The command line, recorded next to the tables. */
  command: string;
  /** Default: stderr is a TTY. */
  progress?: boolean;
}

export interface BenchDeps {
  /** In-process generate (tests corrupt outputs through this). */
  generate?: GenerateFn;
  stdout?: TextSink;
  stderr?: TextSink;
}

export interface BenchOutcome {
  result: BenchResult;
  outDir: string;
  markdown: string;
  exitCode: number;
}

function defaultRunId(mode: string, model: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `${stamp}-${mode}-${model.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
}

/** The suite or --prompts files, filtered by --categories; `fits` (in-process) drops what cannot fit BEFORE --limit. */
function loadItems(o: BenchOptions, suite: string, fits: (items: WorkloadItem[]) => WorkloadItem[] = (x) => x): WorkloadItem[] {
  const all = o.prompts?.length ? o.prompts.flatMap((f) => loadPromptFile(path.resolve(f))) : loadSuite(suite);
  const items = selectItems(fits(selectItems(all, { categories: o.categories })), { limit: o.limit });
  if (items.length === 0) throw errors.invalidParam('no prompts selected');
  return items;
}

export async function runBench(o: BenchOptions, deps: BenchDeps = {}): Promise<BenchOutcome> {
  const stderr = deps.stderr ?? process.stderr;
  const stdout = deps.stdout ?? process.stdout;
  const http = o.baseUrl !== undefined;
  if (http && (o.draft || o.datastore || o.suffixCache || o.recyclingState || o.suffixCacheRequests !== undefined || o.layerskipLayers !== undefined)) {
    throw errors.invalidParam('--draft, --datastore, --suffix-cache[-requests], --recycling-state and --layerskip-layers are in-process options; give them to the server instead');
  }
  // Saved drafter state is only read here (sprig generate --prompts or sprig serve writes it): a missing file is a mistake.
  for (const [flag, file] of [['--suffix-cache', o.suffixCache], ['--recycling-state', o.recyclingState]] as const) {
    if (file && !fs.existsSync(file)) throw errors.invalidParam(`${flag} ${file}: no such file (bench reads saved drafter state and never writes it; build it with sprig generate --prompts FILES ${flag} ${file})`);
  }
  const available = [...(o.draft ? ['draft'] : []), ...(o.layerskipLayers !== undefined ? ['layerskip'] : [])];
  const specs = parseDrafterSpecs(o.drafters ?? defaultDrafterSpecs(DRAFTER_NAMES, available), DRAFTER_NAMES, http);
  if (!http && specs.some((s) => s.split('+').includes('draft')) && !o.draft) throw errors.invalidParam('--drafters draft needs --draft PATH');
  if (!http && o.concurrency.some((c) => c !== 1)) throw errors.invalidParam('--concurrency needs --base-url (in-process mode runs one generation at a time)');
  const constrain = o.constrain ?? (o.suite === 'extraction' && !o.prompts?.length ? [true, false] : [false]);
  const configs = buildConfigs({ drafters: specs, treeBudgets: o.treeBudgets, temperatures: o.temperatures, concurrency: http ? o.concurrency : null, constrained: constrain });
  const needSchemas = (list: WorkloadItem[]) => {
    const missing = constrain.includes(true) ? list.filter((it) => !it.schema) : [];
    if (missing.length) throw errors.invalidParam(`--constrain on: ${missing.length} prompt(s) have no "schema" (${missing.slice(0, 4).map((it) => it.id).join(', ')}); use --suite extraction or prompts with a schema per line`);
    return list;
  };
  const labels = labelConfigs(configs);
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const warnings: string[] = [];
  let samples: Sample[];
  let lossless: ReturnType<typeof checkLossless> | null = null;
  let items: WorkloadItem[];
  let model: RunInfo['model'];

  if (http) {
    const base = normalizeBaseUrl(o.baseUrl!);
    items = needSchemas(loadItems(o, o.suite === 'auto' ? 'general' : o.suite));
    const served = await fetchModelId(base, o.apiKey);
    model = { name: o.model ?? served ?? 'unknown', path: null, base_url: base };
    const progress = new Progress(countHttp(items, configs, o.repeats, o.warmup), stderr, o.progress);
    const out = await runHttp({ baseUrl: base, apiKey: o.apiKey, endpoint: o.endpoint, model: o.model, items, configs, maxTokens: o.maxTokens, repeats: o.repeats, warmup: o.warmup, seed: o.seed, t0, onProgress: (l) => progress.tick(l) });
    progress.finish();
    samples = out.samples;
    warnings.push(...out.warnings);
    const refused = new Set(out.skipped);
    items = items.filter((it) => !refused.has(it.id));
    if (items.length === 0) throw errors.invalidParam(`no prompt fits the server's context window with --max-tokens ${o.maxTokens}`);
  } else {
    const engine = await loadEngine({ model: o.model, draft: o.draft, datastore: o.datastore, threads: o.threads, quantize: o.quantize, draftQuantize: o.draftQuantize, ctxSize: o.ctxSize, layerskip: layerskipSetting(specs, o.layerskipLayers) });
    try {
      const { runner, tokenizer } = engine;
      const suite = o.suite === 'auto' ? (tokenizer.hasChatTemplate ? 'general' : 'stories') : o.suite;
      if (o.suite === 'auto' && !o.prompts?.length) warnings.push(`suite: ${suite} (auto: the model ${tokenizer.hasChatTemplate ? 'has' : 'has no'} chat template)`);
      items = loadItems(o, suite, (all) => {
        const fitted = fitItems(runner, tokenizer, all, o.maxTokens);
        warnings.push(...fitted.warnings);
        if (fitted.items.length === 0) throw errors.invalidParam(`no prompt fits the context window of ${runner.contextLength} tokens with --max-tokens ${o.maxTokens}`);
        return fitted.items;
      });
      needSchemas(items);
      model = { name: engine.modelId, path: engine.modelDir, base_url: null };
      const progress = new Progress(countInProcess(items, configs, o.repeats, o.warmup), stderr, o.progress);
      const cacheFile = o.suffixCache ? path.resolve(o.suffixCache) : null;
      const matrixFile = o.recyclingState ? path.resolve(o.recyclingState) : null;
      const freshState = () => {
        const suffixCache = new SuffixCache(runner.vocab, o.suffixCacheRequests ?? DEFAULT_SUFFIX_CACHE_REQUESTS);
        if (cacheFile) suffixCache.load(cacheFile);
        const recyclingMatrix = new AdjacencyMatrix(runner.vocab);
        if (matrixFile) recyclingMatrix.load(matrixFile);
        return { recyclingMatrix, suffixCache };
      };
      samples = await runInProcess({
        runner, tokenizer, resources: engine.resources, items, configs, maxTokens: o.maxTokens, repeats: o.repeats, warmup: o.warmup, seed: o.seed, t0,
        onProgress: (l) => progress.tick(l), generate: deps.generate, freshState,
        constraintFor: constrain.includes(true) ? itemConstraints(runner, tokenizer) : undefined,
      });
      progress.finish();
      // A mismatch may be a numerical near-tie: score the baseline's top-2 gap there (untimed).
      lossless = checkLossless(samples, configs);
      await scoreNearTies(lossless.mismatches, samples, async (promptTokens, prefix) => {
        const r = await engineGenerate(runner, { promptTokens: [...promptTokens, ...prefix], maxTokens: 1, sampling: { temperature: 0, topK: 0, topP: 1 }, drafters: ['none'], treeBudget: 0, logprobs: 2 });
        const top = r.logprobs?.[0]?.top ?? [];
        return top.length >= 2 ? Math.exp(top[0].logprob) - Math.exp(top[1].logprob) : Infinity;
      });
      countNearTies(lossless, lossless.mismatches);
    } finally {
      await engine.dispose();
    }
  }

  lossless ??= checkLossless(samples, configs);
  const runId = o.runId ?? defaultRunId(http ? 'http' : 'inprocess', model.name);
  const info: RunInfo = {
    run_id: runId,
    started_at: startedAt,
    mode: http ? 'http' : 'inprocess',
    command: o.command,
    machine: machineInfo(),
    model,
    commit: gitCommit(),
    max_tokens: o.maxTokens,
    repeats: o.repeats,
    warmup: o.warmup,
  };
  const result: BenchResult = {
    info,
    configs,
    items,
    samples,
    summaries: summarize(samples, configs, labels, lossless),
    mismatches: lossless.mismatches,
    warnings,
  };

  const outDir = path.resolve(o.out ?? path.join(REPO_ROOT, 'bench', 'results', runId));
  fs.mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(result);
  writeJsonl(path.join(outDir, 'results.jsonl'), resultRecords(result));
  writeJsonl(path.join(outDir, 'samples.jsonl'), samples.map((s) => sampleRecord(runId, s)));
  fs.writeFileSync(path.join(outDir, 'summary.md'), markdown);
  fs.writeFileSync(path.join(outDir, 'report.html'), renderHtml(result));

  stdout.write(markdown);
  for (const w of warnings) stderr.write(`[bench] ${w}\n`);
  stderr.write(`[bench] ${samples.length} generations in ${((performance.now() - t0) / 1000).toFixed(1)} s; results in ${outDir} (report.html, summary.md, results.jsonl, samples.jsonl)\n`);
  const loud = formatMismatches(lossless.mismatches, labels);
  if (loud) stderr.write(loud);
  return { result, outDir, markdown, exitCode: realMismatches(lossless.mismatches).length ? EXIT_LOSSLESS_FAILURE : 0 };
}
