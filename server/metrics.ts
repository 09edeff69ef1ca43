// Prometheus metrics (prom-client), one registry per app. Names follow vLLM's (sprig_ prefix); the
// spec-decode counters are fed from each generation's SpeculationStats. Never labels by prompt content.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SpeculationStats } from '../engine/stats.ts';
import type { Scheduler } from './scheduler.ts';
import type { SpecLog } from './spec-log.ts';

const LATENCY_BUCKETS_S = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const ITL_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const E2E_BUCKETS_S = [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960];

export class Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'endpoint' | 'status'>;
  readonly promptTokens: Counter;
  readonly generationTokens: Counter;
  readonly timeToFirstToken: Histogram;
  readonly interTokenLatency: Histogram;
  readonly e2eLatency: Histogram;
  readonly specDrafts: Counter;
  readonly specDraftTokens: Counter;
  readonly specAcceptedTokens: Counter;
  readonly specAcceptedPerPos: Counter<'position'>;
  readonly connectionsDropped: Counter;
  readonly requestsCut: Counter<'cause'>;
  readonly prefixCacheQueries: Counter;
  readonly prefixCacheHits: Counter;

  constructor(scheduler: Scheduler, registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({ name: 'sprig_requests_total', help: 'HTTP requests by endpoint and status code.', labelNames: ['endpoint', 'status'], registers });
    this.promptTokens = new Counter({ name: 'sprig_prompt_tokens_total', help: 'Prompt tokens processed.', registers });
    this.generationTokens = new Counter({ name: 'sprig_generation_tokens_total', help: 'Tokens generated.', registers });
    this.timeToFirstToken = new Histogram({ name: 'sprig_time_to_first_token_seconds', help: 'Request arrival to first generated token, per choice.', buckets: LATENCY_BUCKETS_S, registers });
    this.interTokenLatency = new Histogram({ name: 'sprig_inter_token_latency_seconds', help: 'Time between generated tokens (a multi-token step is spread over its tokens).', buckets: ITL_BUCKETS_S, registers });
    this.e2eLatency = new Histogram({ name: 'sprig_e2e_request_latency_seconds', help: 'Request arrival to last generated token.', buckets: E2E_BUCKETS_S, registers });
    new Gauge({
      name: 'sprig_num_requests_running', help: 'Generations running now.', registers,
      collect() { this.set(scheduler.running); },
    });
    new Gauge({
      name: 'sprig_num_requests_waiting', help: 'Generations waiting for a slot.', registers,
      collect() { this.set(scheduler.waiting); },
    });
    this.connectionsDropped = new Counter({ name: 'sprig_connections_dropped_total', help: 'Connections closed on arrival because --max-connections sockets were open.', registers });
    this.requestsCut = new Counter({ name: 'sprig_requests_cut_total', help: 'Generation requests cut off before they finished, by cause (shutdown: the drain timeout; timeout: --request-timeout-ms).', labelNames: ['cause'], registers });
    for (const cause of ['shutdown', 'timeout']) this.requestsCut.inc({ cause }, 0);
    this.prefixCacheQueries = new Counter({ name: 'sprig_prefix_cache_queries_total', help: 'Prompt tokens looked up in the prefix cache (--kv-cache-mb).', registers });
    this.prefixCacheHits = new Counter({ name: 'sprig_prefix_cache_hits_total', help: 'Prompt tokens whose K/V came from the prefix cache.', registers });
    this.specDrafts = new Counter({ name: 'sprig_spec_decode_num_drafts', help: 'Speculative steps that verified a draft.', registers });
    this.specDraftTokens = new Counter({ name: 'sprig_spec_decode_num_draft_tokens', help: 'Draft tokens sent to verification.', registers });
    this.specAcceptedTokens = new Counter({ name: 'sprig_spec_decode_num_accepted_tokens', help: 'Draft tokens accepted.', registers });
    this.specAcceptedPerPos = new Counter({ name: 'sprig_spec_decode_num_accepted_tokens_per_pos', help: 'Draft tokens accepted at each draft position (0 = first draft token).', labelNames: ['position'], registers });
  }

  /** Aggregated speculation line at info level (set by the app). */
  specLog?: SpecLog;

  /** Adds one generation's speculation counters. */
  observeSpeculation(s: SpeculationStats): void {
    this.specLog?.add(s);
    this.specDrafts.inc(s.steps);
    this.specDraftTokens.inc(s.drafted);
    this.specAcceptedTokens.inc(s.accepted);
    s.accepted_by_depth.forEach((accepted, d) => {
      if (accepted > 0) this.specAcceptedPerPos.inc({ position: String(d) }, accepted);
    });
  }
}
