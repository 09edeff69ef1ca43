// Measurements of a compiled graph on this machine (verify cost, early-exit acceptance), kept on disk per graph
// and thread count so a restart does not measure again. Each records the 1-minute load average it was taken
// under: one taken on a busy machine (load above 3/4 of the cores) is taken again once the load has halved,
// since timings read 2–3× slow under load and `auto` would size every tree by them for good.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheRoot } from '../model/compile.ts';
import { writeFileAtomic } from '../common/files.ts';
import type { ModelRunner } from '../model/runner.ts';

interface Stored<T> {
  measured: string;
  value: T;
  /** 1-minute load average when measured (absent in files written before it was recorded). */
  load?: number;
}

export interface MachineLoad {
  /** 1-minute load average now. */
  now(): number;
  cores: number;
}

const machine: MachineLoad = { now: () => os.loadavg()[0], cores: os.availableParallelism() };

/** Whether a measurement taken under `stored` load should be taken again now. */
export function remeasure(stored: number | undefined, load: MachineLoad): boolean {
  return stored !== undefined && stored > 0.75 * load.cores && load.now() < stored / 2;
}

/** The stored `kind` measurement of this runner's graph, or a fresh one from `measure` (then stored). */
export async function measuredOnce<T>(kind: string, runner: ModelRunner, measure: () => Promise<T>, load = machine): Promise<T> {
  const file = path.join(cacheRoot(), kind, `${path.basename(path.dirname(runner.compileInfo.modelPath))}-t${runner.threads}.json`);
  try {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Stored<T>;
    if (stored.value !== undefined && !remeasure(stored.load, load)) return stored.value;
  } catch {
    // not measured yet (or unreadable): measure
  }
  const before = load.now();
  const value = await measure();
  try {
    const record: Stored<T> = { measured: new Date().toISOString(), value, load: before };
    writeFileAtomic(file, JSON.stringify(record)); // a concurrent start never reads half a file
  } catch {
    // NOTE: a read-only cache only costs a re-measurement next start.
  }
  return value;
}
