// Where a forward's time goes: onnxruntime's per-op profile of forwards over n tokens after a committed prefix,
// grouped into matrix products, attention, the rest of the graph, and the JavaScript around run().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QuantizeMode } from '../model/graph/weight-format.ts';
import { ModelRunner, causalBias } from '../model/runner.ts';

export interface ProfileOptions {
  model: string;
  quantize: QuantizeMode;
  threads: number;
  /** Context window (0 = the model's own, capped). */
  contextLength?: number;
  /** Committed tokens before the measured forwards. */
  prefix: number;
  /** Token counts per forward, e.g. [1, 4, 16]. */
  sizes: number[];
  runs: number;
}

export interface ProfileRow {
  n: number;
  /** Median wall time of runner.forward (JS included). */
  wall_ms: number;
  /** onnxruntime's model_run, the median run. */
  ort_ms: number;
  /** That run's kernel times, summed over the graph's nodes, by group and by op type. */
  groups: Record<'matmul' | 'attention' | 'other', number>;
  ops: Record<string, number>;
}

const MATMUL = new Set(['MatMulNBits', 'MatMul', 'Gemm', 'FusedMatMul', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul']);
const ATTENTION = new Set(['Attention', 'GroupQueryAttention', 'MultiHeadAttention']);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface TraceEvent { cat?: string; name?: string; dur?: number; args?: { op_name?: string } }

export async function profileForwards(o: ProfileOptions): Promise<{ rows: ProfileRow[]; threads: number; modelPath: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sprig-profile-'));
  const rows: ProfileRow[] = [];
  try {
    for (const n of o.sizes) {
      // One session per size, so each trace holds only that size's runs.
      const runner = await ModelRunner.load(o.model, { threads: o.threads, quantize: o.quantize, contextLength: o.contextLength, profilePrefix: path.join(dir, `n${n}`) });
      const cache = runner.newCache();
      const prompt = Array.from({ length: o.prefix }, (_, i) => (i * 7 + 3) % runner.vocab);
      await runner.prefill(cache, prompt);
      const tokens = Array.from({ length: n }, (_, i) => (i * 13 + 5) % runner.vocab);
      const positions = tokens.map((_, i) => cache.length + i);
      const bias = causalBias(n, cache.length);
      const wall: number[] = [];
      for (let r = 0; r < o.runs; r++) {
        const t0 = performance.now();
        await runner.forward(cache, tokens, positions, bias, [n - 1]);
        wall.push(performance.now() - t0);
      }
      runner.endProfiling();
      await runner.dispose();
      const file = fs.readdirSync(dir).find((f) => f.startsWith(`n${n}`) && f.endsWith('.json'));
      if (!file) throw new Error(`onnxruntime wrote no profile for n=${n} in ${dir}`);
      const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as TraceEvent[];
      const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => (e.dur ?? 0) / 1000);
      // The last o.runs model_run events are ours (prefill chunks come first).
      const ort = runs.slice(-o.runs);
      const ops: Record<string, number> = {};
      const kernels = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time'));
      const perRun = Math.round(kernels.length / runs.length);
      // The kernels of the median run itself (not a mean over runs beside a median run: one slow run made the
      // kernel sums exceed the run, and the time between kernels came out negative).
      const mid = ort.map((ms, i) => [ms, i]).sort((a, b) => a[0] - b[0])[ort.length >> 1][1];
      const ours = kernels.slice(-perRun * o.runs);
      for (const e of ours.slice(mid * perRun, (mid + 1) * perRun)) {
        const op = e.args?.op_name ?? '?';
        ops[op] = (ops[op] ?? 0) + (e.dur ?? 0) / 1000;
      }
      const groups = { matmul: 0, attention: 0, other: 0 };
      for (const [op, ms] of Object.entries(ops)) groups[MATMUL.has(op) ? 'matmul' : ATTENTION.has(op) ? 'attention' : 'other'] += ms;
      rows.push({ n, wall_ms: median(wall), ort_ms: ort[mid], groups, ops });
      o.threads = runner.threads;
    }
    return { rows, threads: o.threads, modelPath: o.model };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
