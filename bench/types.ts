// The records the benchmark passes between its runners, its metric math and its reports.
// Plain data only: no I/O and no engine imports here, so reports and tests stay cheap to load.
import type { SpeculationStats } from '../engine/stats.ts';

/** One prompt of a workload: one or more user turns (turn k > 1 follows the model's own answer to turn k-1). */
export interface WorkloadItem {
  id: string;
  /** Where it came from: 'general', 'stories' or a --prompts file's base name. */
  suite: string;
  category: string;
  /** text: raw completion (turns are appended verbatim); chat: instructions, rendered as a conversation. */
  format: 'text' | 'chat';
  turns: string[];
  /** The JSON Schema the answer should follow (the extraction suite); constrained configs enforce it. */
  schema?: Record<string, unknown>;
}

/** One measured configuration. The baseline is drafters 'none' at the same temperature and concurrency. */
export interface BenchConfig {
  /** 'none', a drafter name, a '+'-joined combination, or 'server' (HTTP: the server's own default). */
  drafters: string;
  /** null for 'none' and 'server' (no tree to budget). */
  treeBudget: number | 'auto' | null;
  temperature: number;
  /** Streaming clients at once (HTTP mode); null in-process. */
  concurrency: number | null;
  /** Output constrained to each item's schema (structured output); absent = free text. */
  constrained?: boolean;
}

/** One verification step, as seen from outside the engine. */
export interface StepRecord {
  /** Draft nodes verified (root excluded). */
  treeSize: number;
  /** Deepest draft node (0 when nothing was drafted). */
  maxDepth: number;
  /** Draft tokens accepted (tokens emitted − 1). */
  accepted: number;
}

/** One generation (one turn of one item under one config in one repeat). */
export interface Sample {
  config: string;
  itemId: string;
  category: string;
  turn: number;
  repeat: number;
  /** Start, ms since the run began (the x axis of "over time" charts). */
  startMs: number;
  numTokens: number;
  /** Request start to last token, prefill included (Spec-Bench's timing). */
  wallMs: number;
  prefillMs: number | null;
  decodeMs: number | null;
  /** Request start to the first token. */
  ttftMs: number | null;
  /** Gaps between consecutive tokens [numTokens - 1]; tokens that arrive together have gap 0. */
  itlMs: number[];
  finishReason: string;
  output: string;
  outputTokens?: number[];
  /** In-process: the prompt's ids, to re-score a losslessness mismatch. */
  promptTokens?: number[];
  speculation: SpeculationStats | null;
  /** Per-step trace (in-process only). */
  steps: StepRecord[] | null;
  peakRssBytes: number | null;
  /** HTTP: the concurrency block this request ran in (all items of one config at one concurrency). */
  block?: { id: string; wallMs: number };
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  node: string;
  platform: string;
}

export interface RunInfo {
  run_id: string;
  started_at: string;
  mode: 'inprocess' | 'http';
  command: string;
  machine: Machine;
  model: { name: string; path: string | null; base_url: string | null };
  commit: string | null;
  max_tokens: number;
  repeats: number;
  warmup: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

/** Median of per-repeat values, with their min and max. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface LosslessMismatch {
  config: string;
  itemId: string;
  turn: number;
  repeat: number;
  /** First differing token (or character) index. */
  at: number;
  expected: string;
  got: string;
  /**
   * In-process: the baseline's gap between its two most likely tokens' probabilities at `at`. Below
   * NEAR_TIE_PROB_GAP the outputs parted on a numerical near-tie, not a speculation bug (see bench/lossless.ts).
   */
  tieGap?: number;
}

/** Metrics of one config over one category ('all' = every item). */
export interface Summary {
  key: string;
  label: string;
  config: BenchConfig;
  category: string;
  num_items: number;
  num_generations: number;
  tokens: number;
  tokens_per_s: Spread;
  decode_tokens_per_s: Spread | null;
  /** tokens/s ÷ the baseline's tokens/s on the same items, per repeat. null without a baseline. */
  speedup: Spread | null;
  /** HTTP: completion tokens of a whole block ÷ its wall time (category 'all' only). */
  throughput_tokens_per_s: Spread | null;
  mean_accepted_length: number | null;
  acceptance_by_depth: number[];
  mean_tree_size: number | null;
  /** The tree expander's estimate of tokens per step ('auto' budgets), to compare with mean_accepted_length. */
  mean_expected_accepted_length: number | null;
  ttft_ms: Percentiles | null;
  itl_ms: Percentiles | null;
  /** prefill is null when unknown (HTTP mode: the server's prefill is not visible). */
  time_split_ms: { prefill: number | null; draft: number; verify: number; other: number } | null;
  peak_rss_mb: number | null;
  lossless: { checked: number; mismatches: number; nearTies?: number } | null;
  /** Constrained configs: tokens the grammar forced (speculation.constraint.forced) ÷ tokens; null otherwise. */
  forced_share: number | null;
  /** Constrained configs: grammar time ÷ decode step time (draft + verify + other); null otherwise. */
  grammar_share: number | null;
}

export interface BenchResult {
  info: RunInfo;
  configs: BenchConfig[];
  items: WorkloadItem[];
  samples: Sample[];
  summaries: Summary[];
  mismatches: LosslessMismatch[];
  warnings: string[];
}

/** What every runner (in-process or HTTP) is given: the work, the configurations, and how to repeat them. */
export interface RunPlan {
  items: WorkloadItem[];
  configs: BenchConfig[];
  maxTokens: number;
  repeats: number;
  /** Generations per config before measuring (on the first item), excluded from the results. */
  warmup: number;
  seed: number;
  /** performance.now() at the start of the run. */
  t0: number;
  onProgress?: (label: string) => void;
}
