// Where a run happened: CPU, cores, memory, Node version, and the git commit of this checkout.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Machine } from './types.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
  };
}

export function formatMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, node ${m.node}`;
}

/** HEAD's short hash, '+dirty' when the tree has changes; null outside a git checkout. */
export function gitCommit(cwd = REPO_ROOT): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}
