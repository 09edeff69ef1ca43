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

/**
 * The server's message when `e` is its refusal of a prompt too long for its context window (HTTP 400): Sprig's
 * SPRIG_ERR_CONTEXT_OVERFLOW, OpenAI's / vLLM's context_length_exceeded, llama-server's exceed_context_size_error,
 * or any 400 whose error message speaks of the context (vLLM: "This model's maximum context length is …",
 * llama-server: "the request exceeds the available context size"); null for anything else.
 */
export function contextOverflowMessage(e: unknown): string | null {
  if (!(e instanceof HttpError) || e.status !== 400) return null;
  let code = '';
  let message = e.body;
  try {
    const body = JSON.parse(e.body) as { error?: unknown; message?: unknown };
    const err = typeof body.error === 'object' && body.error !== null ? body.error as Body : body as Body;
    code = [err.code, err.type].filter((x) => typeof x === 'string').join(' ');
    if (typeof err.message === 'string') message = err.message;
    else if (typeof body.error === 'string') message = body.error;
  } catch {
    // not JSON: the body is the message
  }
  return /SPRIG_ERR_CONTEXT_OVERFLOW|context_length_exceeded|exceed_context_size/i.test(code) || /context/i.test(message) ? message.slice(0, 300) : null;
}

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

/** `skipped`: the ids of items the server refused as too long for its context window (none of their samples is kept). */
export async function runHttp(o: HttpOptions): Promise<{ samples: Sample[]; warnings: string[]; skipped: string[] }> {
  const base = normalizeBaseUrl(o.baseUrl);
  const url = `${base}/v1/${o.endpoint === 'chat' ? 'chat/completions' : 'completions'}`;
  const samples: Sample[] = [];
  let estimated = 0;
  let continuousUsage = true;

  // Items the server refused as too long for its context window, by index, with its first such message. Every
  // configuration skips them from then on, and their samples from earlier configurations are dropped at the
  // end, so every configuration is measured on the same items (paired).
  const skipped = new Map<number, string>();
  const sampleItems: number[] = []; // samples[i]'s item index

  /** Runs one item's turns; false when the item is (or has just been found) too long for the server. */
  const runItem = async (c: BenchConfig, itemIndex: number, repeat: number, block: { id: string; wallMs: number } | null): Promise<boolean> => {
    const item = o.items[itemIndex];
    if (skipped.has(itemIndex)) return false;
    const answers: string[] = [];
    for (let turn = 0; turn < item.turns.length; turn++) {
      const seed = (o.seed * 1_000_003 + itemIndex * 7919 + turn * 104_729 + Math.max(0, repeat) * 15_485_863) >>> 0;
      const startMs = performance.now() - o.t0;
      let r: StreamedResponse;
      try {
        try {
          r = await streamRequest(url, requestBody(o, c, item, answers, turn, seed, continuousUsage), o.apiKey);
        } catch (e) {
          // Servers that reject the vLLM option get the plain include_usage from now on.
          if (!(continuousUsage && e instanceof HttpError && e.status === 400 && e.body.includes('continuous_usage_stats'))) throw e;
          continuousUsage = false;
          r = await streamRequest(url, requestBody(o, c, item, answers, turn, seed, continuousUsage), o.apiKey);
        }
      } catch (e) {
        // A prompt (or a later turn with its answers) too long for the server's context window: skip the item
        // everywhere, like in-process mode does before it starts. Any other error ends the run.
        const overflow = contextOverflowMessage(e);
        if (overflow === null) throw e;
        if (!skipped.has(itemIndex)) skipped.set(itemIndex, `turn ${turn + 1}: ${overflow}`);
        return false;
      }
      answers.push(r.text);
      o.onProgress?.(`${c.drafters} c=${c.concurrency} · ${item.id}${block ? '' : ' (warm-up)'}`);
      if (!block) continue;
      if (r.itlBasis === 'estimate') estimated++;
      sampleItems.push(itemIndex);
      samples.push({
        config: configKey(c), itemId: item.id, category: item.category, turn, repeat, startMs,
        numTokens: r.numTokens, wallMs: r.wallMs, prefillMs: null, decodeMs: null, ttftMs: r.ttftMs, itlMs: r.itlMs,
        finishReason: r.finishReason, output: r.text, speculation: r.speculation, steps: null, peakRssBytes: null, block,
      });
    }
    return true;
  };

  const warmed = new Set<string>();
  for (const c of o.configs) {
    const k = `${c.drafters}|${c.treeBudget}|${c.temperature}`;
    if (warmed.has(k)) continue;
    warmed.add(k);
    // Warm up on the first item the server takes.
    for (let w = 0; w < o.warmup; w++) {
      for (let i = 0; i < o.items.length && !(await runItem(c, i, -1, null)); i++);
    }
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
  const kept = samples.filter((_, i) => !skipped.has(sampleItems[i]));
  const warnings = estimated > 0
    ? [`${estimated} of ${samples.length} responses had no per-chunk token counts: their inter-token latencies spread each chunk's tokens by text length (token totals still come from usage)`]
    : [];
  if (skipped.size > 0) {
    const ids = [...skipped.keys()].map((i) => o.items[i].id);
    const dropped = samples.length - kept.length;
    const [first] = skipped.values();
    warnings.push(`skipped ${skipped.size} prompt(s) that would not fit the server's context window with --max-tokens ${o.maxTokens}: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', …' : ''}` +
      ` (every configuration skips them${dropped ? `; ${dropped} response(s) measured before the refusal were dropped, though their blocks' wall time still counts them` : ''}; the server said, ${first})`);
  }
  return { samples: kept, warnings, skipped: [...skipped.keys()].map((i) => o.items[i].id) };
}
