// One API request's generations: admission, a slot per choice, text-level stop strings, the request's
// AbortSignal (disconnect, timeout, shutdown), and usage. A failing choice cancels only its own request.
import type { FastifyBaseLogger } from 'fastify';
import { errors, type SprigError } from '../common/errors.ts';
import type { SpeculationStats } from '../engine/stats.ts';
import type { TokenLogprob } from '../engine/logprobs.ts';
import type { GenerateResult } from '../engine/generate.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { IncrementalDetokenizer } from '../model/detokenizer.ts';
import type { ServerConfig } from './config.ts';
import type { Engine } from './engine.ts';
import type { Metrics } from './metrics.ts';
import type { GenerationPlan } from './params.ts';
import type { Prompt } from './prompts.ts';
import type { Lease, Scheduler } from './scheduler.ts';
import { mergeSpeculation } from './speculation.ts';
import { StopStringMatcher } from './stop-strings.ts';
import { sequenceScores, type SequenceScores, type TokenDetail } from '../engine/token-details.ts';
import { describeDetail, type TokenDetailOut } from './token-details.ts';

/** What ended a request early. */
export type CancelKind = 'disconnect' | 'timeout' | 'shutdown' | 'failed';

/** The finish reasons a client sees; 'cancelled' only reaches clients that are gone. */
export type ChoiceFinish = 'stop' | 'length' | 'cancelled';

export interface JobContext {
  engine: Engine;
  scheduler: Scheduler;
  metrics: Metrics;
  config: ServerConfig;
  /** Running jobs, so shutdown can cut them off. */
  active: Set<Job>;
  /** The model's prefix cache (engine.openPrefixCache's id); null or absent = off. */
  prefixCache?: number | null;
}

/** Receives text as it is decided. Sinks MUST NOT throw. */
export interface JobSink {
  /** completionTokens: the choice's tokens so far, promptTokens: its prompt's. */
  onText?(index: number, text: string, completionTokens: number, promptTokens: number, logprobs?: TokenLogprobOut[], details?: TokenDetailOut[]): void;
  /** scores: with token_details, the choice's sequence scores. */
  onFinish?(index: number, finishReason: ChoiceFinish, scores?: SequenceScores): void;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** As OpenAI's: prompt tokens whose K/V was reused from the prefix cache. */
  prompt_tokens_details?: { cached_tokens: number };
}

/** A generated token's log-probability as the API reports it: token text, not ids. */
export interface TokenLogprobOut {
  token: string;
  /** null for a prompt's first token (nothing to condition on). */
  logprob: number | null;
  top: { token: string; logprob: number }[] | null;
}

export interface ChoiceOutput {
  index: number;
  text: string;
  /** When the request asked for logprobs. */
  logprobs?: TokenLogprobOut[];
  /** When the request asked for token_details: one entry per generated token, and the sequence's scores. */
  tokenDetails?: TokenDetailOut[];
  sequenceScores?: SequenceScores;
  finishReason: ChoiceFinish;
  numTokens: number;
  /** Prompt tokens this choice took from the prefix cache. */
  cachedTokens: number;
  speculation?: SpeculationStats;
}

export interface JobOutput {
  choices: ChoiceOutput[];
  usage: Usage;
  speculation?: SpeculationStats;
}

interface ChoiceInput {
  index: number;
  prompt: Prompt;
  maxTokens: number;
  seed: number | undefined;
  lease: Lease;
}

export class Job {
  private readonly controller = new AbortController();
  private readonly inputs: ChoiceInput[];
  private readonly timer: NodeJS.Timeout | null = null;
  private cancelKind: CancelKind | null = null;
  private firstError: unknown = null;
  /** Whether any choice got a slot (a timeout then cut a generation, not a wait). */
  private started = false;

  /**
   * Admits all choices at once (or throws 429); nothing runs until run(). The prompts were checked against the
   * context window where they were made (prompts.ts). startMs is the request's arrival (performance.now()).
   */
  constructor(
    private readonly ctx: JobContext,
    prompts: Prompt[],
    private readonly plan: GenerationPlan,
    private readonly opts: { echo: boolean; startMs: number; log: FastifyBaseLogger },
  ) {
    const ctxLen = ctx.engine.contextLength;
    const maxTokens = prompts.map((p) => plan.maxTokens ?? ctxLen - p.tokens.length);
    const leases = ctx.scheduler.reserve(prompts.length * plan.n, this.controller.signal);
    this.inputs = leases.map((lease, k) => {
      const p = Math.floor(k / plan.n);
      const j = k % plan.n;
      const seed = plan.sampling.seed === undefined ? undefined : plan.sampling.seed + j;
      return { index: k, prompt: prompts[p], maxTokens: maxTokens[p], seed, lease };
    });
    const timeoutMs = ctx.config.requestTimeoutMs;
    if (timeoutMs > 0) {
      const left = Math.max(0, timeoutMs - (performance.now() - opts.startMs));
      this.timer = setTimeout(() => this.cancel('timeout'), left);
    }
    ctx.active.add(this);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops every choice at its next step; waiting choices leave the queue with an error. */
  cancel(kind: CancelKind): void {
    if (this.controller.signal.aborted) return;
    this.cancelKind = kind;
    this.controller.abort(this.abortError(kind));
  }

  /** Runs all choices; resolves when every one has finished, rejects with the first failure. */
  async run(sink: JobSink = {}): Promise<JobOutput> {
    try {
      const settled = await Promise.allSettled(this.inputs.map((c) => this.runChoice(c, sink).catch((e: unknown) => {
        this.firstError ??= e;
        this.cancel('failed');
        throw e;
      })));
      if (this.firstError !== null) {
        if (this.cancelKind === 'timeout' || this.cancelKind === 'shutdown') this.ctx.metrics.requestsCut.inc({ cause: this.cancelKind });
        throw this.firstError;
      }
      const choices = settled.map((s) => (s as PromiseFulfilledResult<ChoiceOutput>).value);
      const numPromptTokens = [...new Set(this.inputs.map((c) => c.prompt))].reduce((a, p) => a + p.tokens.length, 0);
      const numCompletionTokens = choices.reduce((a, c) => a + c.numTokens, 0);
      // A prompt counts once (as in prompt_tokens), with the fewest cached tokens any of its choices had.
      const cachedByPrompt = new Map<Prompt, number>();
      for (const c of this.inputs) cachedByPrompt.set(c.prompt, Math.min(cachedByPrompt.get(c.prompt) ?? Infinity, choices[c.index].cachedTokens));
      const numCachedTokens = [...cachedByPrompt.values()].reduce((a, n) => a + n, 0);
      this.ctx.metrics.e2eLatency.observe((performance.now() - this.opts.startMs) / 1000);
      this.ctx.metrics.promptTokens.inc(numPromptTokens);
      this.opts.log.info({ promptTokens: numPromptTokens, completionTokens: numCompletionTokens, choices: choices.length, finish: choices.map((c) => c.finishReason) }, 'generation done');
      return {
        choices,
        usage: { prompt_tokens: numPromptTokens, completion_tokens: numCompletionTokens, total_tokens: numPromptTokens + numCompletionTokens, prompt_tokens_details: { cached_tokens: numCachedTokens } },
        speculation: mergeSpeculation(choices.flatMap((c) => (c.speculation ? [c.speculation] : []))),
      };
    } finally {
      if (this.timer) clearTimeout(this.timer);
      for (const c of this.inputs) c.lease.release();
      this.ctx.active.delete(this);
    }
  }

  private async runChoice(c: ChoiceInput, sink: JobSink): Promise<ChoiceOutput> {
    await c.lease.granted;
    this.started = true;
    const { engine, metrics } = this.ctx;
    const stopper = new AbortController();
    // The prompt as context: the first token keeps its leading space (".. to play" + " outside"), as vLLM returns it.
    const detok = new IncrementalDetokenizer(engine.tokenizer, { context: c.prompt.tokens });
    const matcher = new StopStringMatcher(this.plan.stop);
    let text = '';
    let numTokens = 0;
    let lastMs: number | null = null;
    const wantLogprobs = this.plan.logprobs !== undefined;
    const logprobs: TokenLogprobOut[] = [];
    const wantDetails = this.plan.tokenDetails === true;
    const details: TokenDetailOut[] = [];
    const emit = (piece: string, lps?: TokenLogprobOut[], dets?: TokenDetailOut[]) => {
      if (piece === '' && !lps?.length && !dets?.length) return;
      text += piece;
      sink.onText?.(c.index, piece, numTokens, c.prompt.tokens.length, lps, dets);
    };
    if (this.opts.echo) {
      // With logprobs, the echoed prompt's tokens are scored too (what evaluation harnesses ask for).
      let lps: TokenLogprobOut[] | undefined;
      if (wantLogprobs) {
        const scored = await engine.promptLogprobs(c.prompt.tokens, this.plan.logprobs ?? 0);
        lps = scored.map((lp, i) => {
          const prev = i > 0 ? c.prompt.tokens[i - 1] : undefined;
          return lp ? describeLogprob(engine.tokenizer, prev, c.prompt.tokens[i], lp) : { token: textsAfter(engine.tokenizer, undefined)(c.prompt.tokens[i]), logprob: null, top: null };
        });
        logprobs.push(...lps);
      }
      emit(c.prompt.text, lps);
    }

    // Text work (detokenize, stop strings, write) is batched: with --engine-thread off onnxruntime-node computes
    // ON the main thread (its run() is a synchronous call inside setImmediate), so every write or decode delays
    // the next forward; in the worker it competes for the cores. With --stream-interval-ms > 0, tokens gather for that long and go out as one chunk (vLLM's
    // stream_interval); 0 sends each step as soon as the event loop is free. A stop string found while
    // draining aborts the generation at its next step; tokens past the stop are dropped.
    let pending: number[] = [];
    let pendingLp: TokenLogprob[] = [];
    let pendingDetails: TokenDetail[] = [];
    let prevToken = c.prompt.tokens[c.prompt.tokens.length - 1];
    let scheduled = false;
    const drain = () => {
      scheduled = false;
      const tokens = pending;
      const lps = pendingLp;
      const dets = pendingDetails;
      pending = [];
      pendingLp = [];
      pendingDetails = [];
      let piece = '';
      const pieceLps: TokenLogprobOut[] = [];
      const pieceDetails: TokenDetailOut[] = [];
      for (let i = 0; i < tokens.length; i++) {
        if (matcher.stopped) break;
        numTokens++;
        const own = detok.push(tokens[i]);
        const r = matcher.push(own);
        piece += r.text;
        if (wantDetails && dets[i]) {
          const out = describeDetail(engine.tokenizer, tokens[i], own, dets[i]);
          pieceDetails.push(out);
          details.push(out);
        }
        if (wantLogprobs && lps[i]) {
          const out = describeLogprob(engine.tokenizer, prevToken, tokens[i], lps[i]);
          pieceLps.push(out);
          logprobs.push(out);
        }
        prevToken = tokens[i];
        if (r.stopped) stopper.abort();
      }
      emit(piece, wantLogprobs ? pieceLps : undefined, wantDetails ? pieceDetails : undefined);
    };
    const onTokens = (tokens: number[], lps?: TokenLogprob[], dets?: TokenDetail[]) => {
      const now = performance.now();
      if (lastMs === null) metrics.timeToFirstToken.observe((now - this.opts.startMs) / 1000);
      else for (let i = 0; i < tokens.length; i++) metrics.interTokenLatency.observe((now - lastMs) / tokens.length / 1000);
      lastMs = now;
      for (const t of tokens) pending.push(t);
      if (lps) for (const lp of lps) pendingLp.push(lp);
      if (dets) for (const d of dets) pendingDetails.push(d);
      if (!scheduled) {
        scheduled = true;
        // The first text goes out at once (time to first token); later text gathers for the interval.
        const interval = numTokens === 0 ? 0 : this.ctx.config.streamIntervalMs;
        if (interval > 0) setTimeout(drain, interval);
        else setImmediate(drain);
      }
    };

    let result: GenerateResult;
    try {
      if (c.maxTokens === 0) {
        // echo with max_tokens 0: only the prompt (and its logprobs) is asked for.
        result = { tokens: [], finishReason: 'length', timings: { prefill_ms: 0, decode_ms: 0, tokens_per_s: 0 } };
      } else result = await engine.generate({
        promptTokens: c.prompt.tokens,
        maxTokens: c.maxTokens,
        sampling: { ...this.plan.sampling, seed: c.seed },
        signal: AbortSignal.any([this.controller.signal, stopper.signal]),
        drafters: this.plan.drafters,
        treeBudget: this.plan.treeBudget,
        maxTreeTokens: this.plan.maxTreeTokens,
        logprobs: this.plan.logprobs,
        tokenDetails: wantDetails || undefined,
        prefixCache: this.ctx.prefixCache ?? undefined,
        constraint: this.plan.constraint,
      }, onTokens);
    } finally {
      c.lease.release();
    }
    // Cut by the time budget or a shutdown: an error, never a finish_reason (the text is not complete).
    if (result.finishReason === 'cancelled' && (this.cancelKind === 'timeout' || this.cancelKind === 'shutdown')) {
      drain();
      throw this.controller.signal.reason;
    }
    drain();
    if (!matcher.stopped) {
      const last = matcher.push(detok.flush());
      emit(last.text + matcher.flush());
    }
    metrics.generationTokens.inc(numTokens);
    if (result.speculation) metrics.observeSpeculation(result.speculation);
    if (result.cachedTokens !== undefined) {
      metrics.prefixCacheQueries.inc(c.prompt.tokens.length);
      metrics.prefixCacheHits.inc(result.cachedTokens);
    }
    const finishReason = this.finishReason(result.finishReason, matcher.stopped);
    const scores = wantDetails ? sequenceScores(details) : undefined;
    sink.onFinish?.(c.index, finishReason, scores);
    return { index: c.index, text, finishReason, numTokens, cachedTokens: result.cachedTokens ?? 0, speculation: result.speculation, ...(wantLogprobs ? { logprobs } : {}), ...(wantDetails ? { tokenDetails: details, sequenceScores: scores } : {}) };
  }

  private finishReason(engineReason: 'stop' | 'length' | 'cancelled', stopString: boolean): ChoiceFinish {
    if (stopString || engineReason === 'stop') return 'stop';
    if (engineReason === 'length') return 'length';
    // Only a client that is gone (or a failed sibling) gets here: timeouts and shutdowns throw in runChoice.
    return 'cancelled';
  }

  private abortError(kind: CancelKind): SprigError {
    switch (kind) {
      case 'timeout': {
        const ms = this.ctx.config.requestTimeoutMs;
        return this.started
          ? errors.timeBudget(`the request was cut off: it ran past its time budget of ${ms} ms (--request-timeout-ms) before it finished`)
          : errors.timeBudget(`the request used up its time budget of ${ms} ms (--request-timeout-ms) waiting for a generation slot; the server is busy, retry later`);
      }
      case 'shutdown':
        return errors.shutdownCut(`the request was cut off: the server is shutting down and its drain timeout (${this.ctx.config.drainTimeoutMs} ms, --drain-timeout-ms) ran out before the request finished`);
      case 'disconnect':
        return errors.cancelled('the client disconnected');
      case 'failed':
        return errors.cancelled('another choice of this request failed');
    }
  }
}

/** How tokens read after `prev` (so SentencePiece's leading space survives); `prev` is decoded once. */
function textsAfter(tokenizer: Tokenizer, prev: number | undefined): (id: number) => string {
  const opts = { skipSpecialTokens: false };
  if (prev === undefined) return (id) => tokenizer.decode([id], opts);
  const base = tokenizer.decode([prev], opts).length;
  return (id) => tokenizer.decode([prev, id], opts).slice(base);
}

/** A token's logprob as the API reports it: its text and its alternatives' texts. */
function describeLogprob(tokenizer: Tokenizer, prev: number | undefined, token: number, lp: TokenLogprob): TokenLogprobOut {
  const text = textsAfter(tokenizer, prev);
  return { token: text(token), logprob: lp.logprob, top: lp.top.map((x) => ({ token: text(x.token), logprob: x.logprob })) };
}
