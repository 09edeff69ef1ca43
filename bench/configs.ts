// Benchmark configurations: the sweep (drafters × tree budgets × temperatures × concurrency) and the
// key/label/baseline of each. The baseline (drafters 'none') is ALWAYS part of the sweep.
import { errors } from '../common/errors.ts';
import type { BenchConfig } from './types.ts';

export const BASELINE = 'none';
/** HTTP only: send no speculation options, so the server uses its own default. */
export const SERVER_DEFAULT = 'server';

/**
 * Drafters that need a resource the run may not have (the draft model; layerskip's early exits, which change the
 * target's graph), left out of the default sweep.
 */
export const NEEDS_RESOURCE: Record<string, string> = { draft: '--draft', layerskip: '--layerskip-layers' };

/**
 * 'none' + every drafter alone + all of them combined, e.g. none,lookup,recycling,lookup+recycling.
 * `available` lists the resource-needing drafters the run can serve (e.g. 'draft' when --draft is given).
 */
export function defaultDrafterSpecs(names: readonly string[], available: readonly string[] = []): string[] {
  const drafters = names.filter((n) => n !== BASELINE && (!(n in NEEDS_RESOURCE) || available.includes(n)));
  const specs = [BASELINE, ...drafters];
  if (drafters.length > 1) specs.push(drafters.join('+'));
  return specs;
}

/** Checks every '+'-joined part against the known names; returns the specs, baseline first, deduplicated. */
export function parseDrafterSpecs(list: readonly string[], known: readonly string[], allowServer: boolean): string[] {
  const out = new Set<string>([BASELINE]);
  for (const raw of list) {
    const spec = raw.trim();
    if (!spec) continue;
    if (spec === SERVER_DEFAULT) {
      if (!allowServer) throw errors.invalidParam(`--drafters ${SERVER_DEFAULT} only makes sense with --base-url`);
      out.add(spec);
      continue;
    }
    const parts = spec.split('+').map((p) => p.trim());
    for (const p of parts) {
      if (!known.includes(p)) throw errors.invalidParam(`--drafters: unknown drafter ${JSON.stringify(p)} in ${JSON.stringify(spec)} (known: ${known.join(', ')})`);
    }
    if (parts.length > 1 && parts.includes(BASELINE)) throw errors.invalidParam(`--drafters: ${BASELINE} cannot be combined (${spec})`);
    out.add([...new Set(parts)].join('+'));
  }
  return [...out];
}

export interface SweepSpec {
  drafters: string[];
  treeBudgets: (number | 'auto')[];
  temperatures: number[];
  /** null in-process. */
  concurrency: number[] | null;
  /** Constrained to each item's schema, free, or both (default: free only). */
  constrained?: boolean[];
}

/** The cartesian sweep; 'none' and 'server' get one config per temperature × concurrency (no budget). */
export function buildConfigs(spec: SweepSpec): BenchConfig[] {
  const out: BenchConfig[] = [];
  for (const constrained of spec.constrained ?? [false]) {
    for (const concurrency of spec.concurrency ?? [null]) {
      for (const temperature of spec.temperatures) {
        for (const drafters of spec.drafters) {
          const budgets = drafters === BASELINE || drafters === SERVER_DEFAULT ? [null] : spec.treeBudgets;
          for (const treeBudget of budgets) out.push({ drafters, treeBudget, temperature, concurrency, ...(constrained ? { constrained } : {}) });
        }
      }
    }
  }
  return out;
}

export function configKey(c: BenchConfig): string {
  return `${c.drafters}|tb=${c.treeBudget ?? '-'}|T=${c.temperature}|c=${c.concurrency ?? '-'}${c.constrained ? '|json' : ''}`;
}

export function isBaseline(c: BenchConfig): boolean {
  return c.drafters === BASELINE;
}

/** The same temperature, concurrency and constraint without drafters. */
export function baselineOf(c: BenchConfig): BenchConfig {
  return { drafters: BASELINE, treeBudget: null, temperature: c.temperature, concurrency: c.concurrency, ...(c.constrained ? { constrained: true } : {}) };
}

/** Short display names that show only the dimensions the sweep varies. */
export function labelConfigs(configs: readonly BenchConfig[]): Map<string, string> {
  const varies = (f: (c: BenchConfig) => unknown) => new Set(configs.map(f)).size > 1;
  const drafted = configs.filter((c) => c.treeBudget !== null);
  const budgets = new Set(drafted.map((c) => c.treeBudget)).size > 1 || drafted.some((c) => c.treeBudget !== 'auto');
  const temps = varies((c) => c.temperature);
  const concs = varies((c) => c.concurrency);
  const constraints = varies((c) => c.constrained === true);
  const labels = new Map<string, string>();
  for (const c of configs) {
    let label = c.drafters;
    if (budgets && c.treeBudget !== null) label += ` @${c.treeBudget}`;
    if (temps) label += ` T=${c.temperature}`;
    if (concs) label += ` c=${c.concurrency}`;
    if (constraints) label += c.constrained ? ' json' : ' free';
    labels.set(configKey(c), label);
  }
  return labels;
}
