// JSONL output: results.jsonl (one record per config × category, plus one per losslessness mismatch, each
// carrying machine, model, commit and config) and samples.jsonl (one line per measured generation).
import fs from 'node:fs';
import type { BenchConfig, BenchResult, Sample } from './types.ts';

function configRecord(r: BenchResult, c: BenchConfig | undefined): Record<string, unknown> | null {
  if (!c) return null;
  const i = r.info;
  return { drafters: c.drafters, tree_budget: c.treeBudget, temperature: c.temperature, concurrency: c.concurrency, max_tokens: i.max_tokens, repeats: i.repeats, warmup: i.warmup };
}

export function resultRecords(r: BenchResult): Record<string, unknown>[] {
  const i = r.info;
  const head = {
    run_id: i.run_id,
    started_at: i.started_at,
    mode: i.mode,
    machine: i.machine,
    model: i.model,
    commit: i.commit,
    command: i.command,
  };
  const summaries = r.summaries.map((s) => {
    const { key: _key, label, config, category, ...metrics } = s;
    return {
      record: 'summary',
      ...head,
      config: configRecord(r, config),
      label,
      category,
      metrics,
    };
  });
  const mismatches = r.mismatches.map((m) => ({
    record: 'lossless_mismatch',
    ...head,
    config: configRecord(r, r.summaries.find((s) => s.key === m.config)?.config),
    label: r.summaries.find((s) => s.key === m.config)?.label ?? m.config,
    item: m.itemId,
    turn: m.turn,
    repeat: m.repeat,
    first_difference: m.at,
    expected: m.expected,
    got: m.got,
    near_tie_gap: m.tieGap ?? null,
  }));
  return [...summaries, ...mismatches];
}

const round = (v: number) => Math.round(v * 1000) / 1000;

export function sampleRecord(runId: string, s: Sample): Record<string, unknown> {
  return {
    run_id: runId,
    config: s.config,
    item: s.itemId,
    category: s.category,
    turn: s.turn,
    repeat: s.repeat,
    start_ms: round(s.startMs),
    tokens: s.numTokens,
    wall_ms: round(s.wallMs),
    prefill_ms: s.prefillMs === null ? null : round(s.prefillMs),
    decode_ms: s.decodeMs === null ? null : round(s.decodeMs),
    ttft_ms: s.ttftMs === null ? null : round(s.ttftMs),
    itl_ms: s.itlMs.map(round),
    finish_reason: s.finishReason,
    speculation: s.speculation,
    tree_sizes: s.steps?.map((x) => x.treeSize) ?? null,
    accepted_per_step: s.steps?.map((x) => x.accepted) ?? null,
    peak_rss_bytes: s.peakRssBytes,
    block: s.block ?? null,
    output: s.output,
  };
}

export function toJsonl(records: readonly unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

export function writeJsonl(file: string, records: readonly unknown[]): void {
  fs.writeFileSync(file, toJsonl(records));
}
