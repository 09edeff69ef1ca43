// HTTP mode: streaming clients against any OpenAI-compatible server (Sprig, llama-server, vLLM, …),
// swept over concurrency. Token counts come from the server's usage, NEVER from counting chunks.
import type { SpeculationStats } from '../engine/stats.ts';
import { configKey, SERVER_DEFAULT } from './configs.ts';
import type { BenchConfig, RunPlan, Sample, WorkloadItem } from './types.ts';
import { chatMessages, plainPrompt } from './workloads.ts';

/** configs each carry their concurrency. */
export interface HttpOptions extends RunPlan {
  baseUrl: string;
  apiKey?: string;
  endpoint: 'completions' | 'chat';
  /** The request's `model` field (left out when undefined). */
  model?: string;
}

/** 'http://h:8080/', 'http://h:8080/v1' → 'http://h:8080'. */
export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function headers(apiKey: string | undefined): Record<string, string> {
  return { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}

/** The first model id the server lists, or null when /v1/models is missing. */
export async function fetchModelId(baseUrl: string, apiKey?: string): Promise<string | null> {
  try {
    const res = await fetch(`${normalizeBaseUrl(baseUrl)}/v1/models`, { headers: headers(apiKey) });
    if (!res.ok) return null;
    const body = (await res.json()) as { data?: { id?: string }[] };
    return body.data?.[0]?.id ?? null;
  } catch {
    return null;
  }
}

/** `data:` payloads of a server-sent-event stream, up to (not including) [DONE]. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut: RegExpExecArray | null;
    while ((cut = /\r?\n\r?\n/.exec(buffer))) {
      const event = buffer.slice(0, cut.index);
      buffer = buffer.slice(cut.index + cut[0].length);
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      yield data;
    }
  }
}

/**
 * Splits `total` tokens over chunks in proportion to their text length (largest remainder), giving every
 * chunk at least one token when there are enough. Used only when the server gives no per-chunk counts.
 */
export function distributeTokens(chunkChars: readonly number[], total: number): number[] {
  const n = chunkChars.length;
  if (n === 0) return [];
  if (total === n) return chunkChars.map(() => 1);
  const floor = total >= n ? 1 : 0;
  const rest = total - floor * n;
  const chars = chunkChars.reduce((a, b) => a + Math.max(1, b), 0);
  const exact = chunkChars.map((c) => (rest * Math.max(1, c)) / chars);
  const out = exact.map((x) => floor + Math.floor(x));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % n, left--) out[order[k][1]]++;
  return out;
}

export interface StreamedResponse {
  text: string;
  numTokens: number;
  finishReason: string;
  ttftMs: number | null;
  itlMs: number[];
  wallMs: number;
  speculation: SpeculationStats | null;
  /** 'usage' when the server sent per-chunk counts (continuous usage stats), else 'estimate'. */
  itlBasis: 'usage' | 'estimate';
}

interface Chunk { t: number; chars: number; cumTokens: number | null }

export class HttpError extends Error {
  constructor(message: string, readonly status: number, readonly body: string) {
    super(message);
  }
}

type Body = Record<string, unknown>;

/** One streamed request, timed from just before fetch() to the end of the stream. */
export async function streamRequest(url: string, body: Body, apiKey?: string): Promise<StreamedResponse> {
  const start = performance.now();
  const res = await fetch(url, { method: 'POST', headers: headers(apiKey), body: JSON.stringify(body) });
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    throw new HttpError(`POST ${url}: HTTP ${res.status} ${text.slice(0, 500)}`, res.status, text);
  }
  const chunks: Chunk[] = [];
  let text = '';
  let finishReason = 'unknown';
  let numTokens: number | null = null;
  let speculation: SpeculationStats | null = null;
  for await (const data of sseData(res.body)) {
    const now = performance.now();
    const ev = JSON.parse(data) as Body;
    if (ev.error) throw new Error(`POST ${url}: error in stream: ${JSON.stringify(ev.error).slice(0, 500)}`);
    const choice = (ev.choices as Body[] | undefined)?.[0];
    const usage = ev.usage as { completion_tokens?: number } | null | undefined;
    const cum = typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : null;
    if (choice) {
      const piece = (typeof choice.text === 'string' ? choice.text : (choice.delta as Body | undefined)?.content) as string | undefined;
      if (piece) {
        text += piece;
        chunks.push({ t: now, chars: piece.length, cumTokens: cum });
      }
      if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    }
    if (cum !== null) numTokens = cum;
    if (ev.speculation) speculation = ev.speculation as SpeculationStats;
  }
  const end = performance.now();
  if (numTokens === null) {
    throw new Error(`POST ${url}: the stream carried no usage.completion_tokens; the server must honour stream_options.include_usage (tokens are never counted from chunks)`);
  }
  const exact = chunks.length > 0 && chunks.every((c) => c.cumTokens !== null);
  const perChunk = exact
    ? chunks.map((c, i) => c.cumTokens! - (i ? chunks[i - 1].cumTokens! : 0))
    : distributeTokens(chunks.map((c) => c.chars), numTokens);
  const times = chunks.flatMap((c, i) => Array<number>(Math.max(0, perChunk[i])).fill(c.t));
  return {
    text,
    numTokens,
    finishReason,
    ttftMs: chunks.length ? chunks[0].t - start : null,
    itlMs: times.slice(1).map((t, i) => t - times[i]),
    wallMs: end - start,
    speculation,
    itlBasis: exact ? 'usage' : 'estimate',
  };
}

/**
 * The request body for one turn under one config (Sprig's `speculation` extension unless 'server'; a constrained
 * config asks for the item's schema through response_format).
 */
export function requestBody(o: Pick<HttpOptions, 'endpoint' | 'model' | 'maxTokens'>, c: BenchConfig, item: WorkloadItem, answers: readonly string[], turn: number, seed: number, continuousUsage = false): Body {
  const body: Body = {
    max_tokens: o.maxTokens,
    temperature: c.temperature,
    stream: true,
    // continuous_usage_stats (vLLM's name) asks for a running count in every chunk: exact per-token ITL.
    stream_options: continuousUsage ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true },
  };
  if (o.model !== undefined) body.model = o.model;
  if (c.temperature > 0) body.seed = seed;
  if (o.endpoint === 'chat') body.messages = chatMessages(item, answers, turn);
  else body.prompt = plainPrompt(item, answers, turn);
  if (c.constrained) {
    if (!item.schema) throw new Error(`--constrain on: item ${item.id} has no "schema"`);
    body.response_format = { type: 'json_schema', json_schema: { name: 'answer', schema: item.schema, strict: true } };
  }
  if (c.drafters === 'none') body.speculation = { enabled: false };
  else if (c.drafters !== SERVER_DEFAULT) {
    body.speculation = { drafters: c.drafters.split('+'), ...(typeof c.treeBudget === 'number' ? { max_tree_tokens: c.treeBudget } : {}) };
  }
  return body;
}

export function countHttp(items: readonly WorkloadItem[], configs: readonly BenchConfig[], repeats: number, warmup: number): number {
  const turns = items.reduce((a, it) => a + it.turns.length, 0);
  const warm = new Set(configs.map((c) => `${c.drafters}|${c.treeBudget}|${c.temperature}`)).size;
  return warm * warmup + configs.length * repeats * turns;
}

export async function runHttp(o: HttpOptions): Promise<{ samples: Sample[]; warnings: string[] }> {
  const base = normalizeBaseUrl(o.baseUrl);
  const url = `${base}/v1/${o.endpoint === 'chat' ? 'chat/completions' : 'completions'}`;
  const samples: Sample[] = [];
  let estimated = 0;
  let continuousUsage = true;

  const runItem = async (c: BenchConfig, itemIndex: number, repeat: number, block: { id: string; wallMs: number } | null) => {
    const item = o.items[itemIndex];
    const answers: string[] = [];
    for (let turn = 0; turn < item.turns.length; turn++) {
      const seed = (o.seed * 1_000_003 + itemIndex * 7919 + turn * 104_729 + Math.max(0, repeat) * 15_485_863) >>> 0;
      const startMs = performance.now() - o.t0;
      let r: StreamedResponse;
      try {
        r = await streamRequest(url, requestBody(o, c, item, answers, turn, seed, continuousUsage), o.apiKey);
      } catch (e) {
        // Servers that reject the vLLM option get the plain include_usage from now on.
        if (!(continuousUsage && e instanceof HttpError && e.status === 400 && e.body.includes('continuous_usage_stats'))) throw e;
        continuousUsage = false;
        r = await streamRequest(url, requestBody(o, c, item, answers, turn, seed, continuousUsage), o.apiKey);
      }
      answers.push(r.text);
      o.onProgress?.(`${c.drafters} c=${c.concurrency} · ${item.id}${block ? '' : ' (warm-up)'}`);
      if (!block) continue;
      if (r.itlBasis === 'estimate') estimated++;
      samples.push({
        config: configKey(c), itemId: item.id, category: item.category, turn, repeat, startMs,
        numTokens: r.numTokens, wallMs: r.wallMs, prefillMs: null, decodeMs: null, ttftMs: r.ttftMs, itlMs: r.itlMs,
        finishReason: r.finishReason, output: r.text, speculation: r.speculation, steps: null, peakRssBytes: null, block,
      });
    }
  };

  const warmed = new Set<string>();
  for (const c of o.configs) {
    const k = `${c.drafters}|${c.treeBudget}|${c.temperature}`;
    if (warmed.has(k)) continue;
    warmed.add(k);
    for (let w = 0; w < o.warmup; w++) await runItem(c, 0, -1, null);
  }
  const levels = [...new Set(o.configs.map((c) => c.concurrency ?? 1))];
  for (let repeat = 0; repeat < o.repeats; repeat++) {
    for (const level of levels) {
      const group = o.configs.filter((c) => (c.concurrency ?? 1) === level);
      const shift = repeat % group.length;
      for (const c of [...group.slice(shift), ...group.slice(0, shift)]) {
        // One block: every item under this config, `level` clients pulling from one queue.
        const block = { id: `${configKey(c)}#${repeat}`, wallMs: 0 };
        const blockStart = performance.now();
        let next = 0;
        const worker = async () => {
          while (next < o.items.length) await runItem(c, next++, repeat, block);
        };
        await Promise.all(Array.from({ length: Math.min(level, o.items.length) }, worker));
        block.wallMs = performance.now() - blockStart;
      }
    }
  }
  const warnings = estimated > 0
    ? [`${estimated} of ${samples.length} responses had no per-chunk token counts: their inter-token latencies spread each chunk's tokens by text length (token totals still come from usage)`]
    : [];
  return { samples, warnings };
}
