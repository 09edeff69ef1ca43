// Measurements of a compiled graph on this machine (verify cost, early-exit acceptance), kept on disk per graph
// and thread count so a restart does not measure again.
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../model/compile.ts';
import type { ModelRunner } from '../model/runner.ts';

/** The stored `kind` measurement of this runner's graph, or a fresh one from `measure` (then stored). */
export async function measuredOnce<T>(kind: string, runner: ModelRunner, measure: () => Promise<T>): Promise<T> {
  const file = path.join(cacheRoot(), kind, `${path.basename(path.dirname(runner.compileInfo.modelPath))}-t${runner.threads}.json`);
  try {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')).value as T | undefined;
    if (stored !== undefined) return stored;
  } catch {
    // not measured yet (or unreadable): measure
  }
  const value = await measure();
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ measured: new Date().toISOString(), value }));
  } catch {
    // NOTE: a read-only cache only costs a re-measurement next start.
  }
  return value;
}
