// In-process mode: drives engine/generate.ts directly, one generation at a time, configs interleaved.
// Per-step tree sizes come from a probe around runner.forward; the engine itself is NEVER modified.
import { errors } from '../common/errors.ts';
import { generate as engineGenerate, type EngineResources, type GenerateRequest, type GenerateResult, type OnTokens } from '../engine/generate.ts';
import type { ModelRunner } from '../model/runner.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { configKey } from './configs.ts';
import type { ConstraintFor } from './constraints.ts';
import type { BenchConfig, Sample, StepRecord, WorkloadItem, RunPlan } from './types.ts';
import { chatMessages, plainPrompt } from './workloads.ts';

export type GenerateFn = (runner: ModelRunner, req: GenerateRequest, onTokens?: OnTokens, resources?: EngineResources) => Promise<GenerateResult>;

export interface InProcessOptions extends RunPlan {
  runner: ModelRunner;
  tokenizer: Tokenizer;
  /** The draft model and datastore some drafters need. */
  resources?: EngineResources;
  /** Tests swap this (e.g. to corrupt an output on purpose). */
  generate?: GenerateFn;
  /**
   * New cross-request drafter state (Token Recycling's matrix, the suffix cache). Each configuration gets its
   * own for each repeat and keeps it from one item to the next in order, so drafters learn across requests as on
   * a running server, but never from another configuration's run of the same prompt (nor an earlier repeat's).
   */
  freshState?: () => Pick<EngineResources, 'recyclingMatrix' | 'suffixCache'>;
  /** Constrained configs: each item's constraint (bench/constraints.ts), compiled before the clock starts. */
  constraintFor?: ConstraintFor;
}

/** Prompt ids of turn k: the chat template when the model has one and the item is a chat. */
export function encodeTurn(tokenizer: Tokenizer, item: WorkloadItem, answers: readonly string[], turn: number): number[] {
  if (item.format === 'chat' && tokenizer.hasChatTemplate) {
    const text = tokenizer.applyChatTemplate(chatMessages(item, answers, turn), { addGenerationPrompt: true });
    return tokenizer.encode(text, { addSpecialTokens: false });
  }
  return tokenizer.encode(plainPrompt(item, answers, turn));
}

/** Number of generations runInProcess will run (for the progress bar). */
export function countInProcess(items: readonly WorkloadItem[], configs: readonly BenchConfig[], repeats: number, warmup: number): number {
  const turns = items.reduce((a, it) => a + it.turns.length, 0);
  return configs.length * (warmup + repeats * turns);
}

/**
 * Drops items whose last turn cannot fit the context window: its prompt without answers, plus max tokens per
 * turn (each earlier answer and the last one), plus a little slack per answer for re-tokenisation.
 */
export function fitItems(runner: ModelRunner, tokenizer: Tokenizer, items: readonly WorkloadItem[], maxTokens: number): { items: WorkloadItem[]; warnings: string[] } {
  const skipped: string[] = [];
  const kept = items.filter((item) => {
    const last = item.turns.length - 1;
    const need = encodeTurn(tokenizer, item, item.turns.map(() => ''), last).length + item.turns.length * maxTokens + last * 8;
    if (need <= runner.contextLength) return true;
    skipped.push(item.id);
    return false;
  });
  const warnings = skipped.length
    ? [`skipped ${skipped.length} prompt(s) that would not fit the context window of ${runner.contextLength} tokens with --max-tokens ${maxTokens}: ${skipped.slice(0, 8).join(', ')}${skipped.length > 8 ? ', …' : ''}`]
    : [];
  return { items: kept, warnings };
}

interface Probe {
  /** Where the next decode step is recorded; null between measured generations. */
  target: StepRecord[] | null;
  restore(): void;
}

/** Wraps runner.forward: a call without logitRows is a decode step (prefill always passes logitRows). */
function installProbe(runner: ModelRunner): Probe {
  const original = runner.forward;
  const probe: Probe = {
    target: null,
    restore: () => {
      runner.forward = original;
    },
  };
  runner.forward = function (this: ModelRunner, cache, tokens, positions, bias, logitRows) {
    if (probe.target && logitRows === undefined) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < positions.length; i++) {
        lo = Math.min(lo, positions[i]);
        hi = Math.max(hi, positions[i]);
      }
      probe.target.push({ treeSize: tokens.length - 1, maxDepth: hi - lo, accepted: 0 });
    }
    return original.call(this, cache, tokens, positions, bias, logitRows);
  };
  return probe;
}

function turnSeed(seed: number, itemIndex: number, turn: number, repeat: number): number {
  return (seed * 1_000_003 + itemIndex * 7919 + turn * 104_729 + repeat * 15_485_863) >>> 0;
}

export async function runInProcess(o: InProcessOptions): Promise<Sample[]> {
  const run = o.generate ?? engineGenerate;
  for (const c of o.configs) {
    if (typeof c.treeBudget === 'number' && c.treeBudget > o.runner.maxTreeRows - 1) {
      throw errors.invalidParam(`--tree-budget ${c.treeBudget} is over this runner's limit of ${o.runner.maxTreeRows - 1} draft nodes`);
    }
  }
  const probe = installProbe(o.runner);
  const samples: Sample[] = [];
  const states = new Map<string, EngineResources>(); // configKey#repeat → resources with that run's own state
  const resourcesFor = (c: BenchConfig, repeat: number): EngineResources | undefined => {
    if (!o.freshState) return o.resources;
    const key = `${configKey(c)}#${repeat}`;
    let r = states.get(key);
    if (!r) states.set(key, (r = { ...o.resources, ...o.freshState() }));
    return r;
  };

  const once = async (c: BenchConfig, item: WorkloadItem, itemIndex: number, turn: number, repeat: number, answers: string[], record: boolean) => {
    const promptTokens = encodeTurn(o.tokenizer, item, answers, turn);
    const steps: StepRecord[] = [];
    const tokenTimes: number[] = [];
    let peakRss = process.memoryUsage.rss();
    if (c.constrained && !o.constraintFor) throw errors.invalidParam('a constrained configuration needs constraintFor');
    const constraint = c.constrained ? await o.constraintFor!(item) : undefined;
    probe.target = steps;
    const start = performance.now();
    const result = await run(o.runner, {
      promptTokens,
      maxTokens: o.maxTokens,
      sampling: { temperature: c.temperature, topK: 0, topP: 1, seed: turnSeed(o.seed, itemIndex, turn, repeat) },
      eosIds: o.tokenizer.eosIds.length ? o.tokenizer.eosIds : undefined,
      drafters: c.drafters.split('+'),
      treeBudget: c.treeBudget ?? undefined,
      constraint,
    }, (toks) => {
      const now = performance.now();
      for (let i = 0; i < toks.length; i++) tokenTimes.push(now);
      if (steps.length) steps[steps.length - 1].accepted = toks.length - 1;
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, resourcesFor(c, repeat));
    const end = performance.now();
    probe.target = null;
    const output = o.tokenizer.decode(result.tokens);
    answers.push(output);
    o.onProgress?.(`${c.drafters} · ${item.id}${record ? '' : ' (warm-up)'}`);
    if (!record) return;
    samples.push({
      config: configKey(c),
      itemId: item.id,
      category: item.category,
      turn,
      repeat,
      startMs: start - o.t0,
      numTokens: result.tokens.length,
      wallMs: end - start,
      prefillMs: result.timings.prefill_ms,
      decodeMs: result.timings.decode_ms,
      ttftMs: tokenTimes.length ? tokenTimes[0] - start : null,
      itlMs: tokenTimes.slice(1).map((t, i) => t - tokenTimes[i]),
      finishReason: result.finishReason ?? 'unknown',
      output,
      outputTokens: result.tokens,
      promptTokens,
      speculation: result.speculation ?? null,
      steps,
      peakRssBytes: peakRss,
    });
  };

  try {
    const first = o.items[0];
    for (const c of o.configs) {
      for (let w = 0; w < o.warmup; w++) await once(c, first, 0, 0, -1, [], false);
    }
    for (let repeat = 0; repeat < o.repeats; repeat++) {
      states.clear(); // the warm-up's and the last repeat's state are done with
      for (let i = 0; i < o.items.length; i++) {
        const item = o.items[i];
        // Rotate the order per item and repeat so no config always runs first (caches, clocks, hot-start state).
        const shift = (repeat + i) % o.configs.length;
        const order = [...o.configs.slice(shift), ...o.configs.slice(0, shift)];
        for (const c of order) {
          const answers: string[] = [];
          for (let turn = 0; turn < item.turns.length; turn++) await once(c, item, i, turn, repeat, answers, true);
        }
      }
    }
  } finally {
    probe.restore();
  }
  return samples;
}
