// Periodic saves of the warm drafter state (--recycling-state, --suffix-cache; `sprig serve
// --state-save-interval`), so a crash, an OOM kill or kill -9 loses at most one interval of what the server
// learned instead of everything since it started. A file is written only when its state changed since the last
// save, atomically (through a temp file, fsynced, renamed), and off the engine's event loop as far as it can be:
// the suffix cache is serialized in ~2 ms slices and both files are written on libuv's thread pool, so
// generations running on this thread stall for a slice, not for the whole save. Measured on a busy 2-core VM: a
// cache of 256 outputs of 2,048 tokens (3 MB of JSON) took 38–46 ms to save in one go, its slices ~2.5 ms each
// (the serialization grows with the outputs kept: --suffix-cache-requests, default 1024); the recycling matrix
// (4–7 MB) 6–20 ms in one go, 0.5–2 ms to copy for the async write. A failed save is logged and retried at
// the next tick.
import { writeFileAtomicAsync } from '../common/files.ts';
import type { Logger } from '../common/log.ts';
import type { AdjacencyMatrix } from '../drafters/recycling.ts';
import type { SuffixCache } from '../drafters/suffix-cache.ts';

/** --state-save-interval's default, in seconds. */
export const DEFAULT_STATE_SAVE_INTERVAL_S = 300;

/** One piece of state kept in a file: its change counter, and how to take what the file should hold. */
interface Saved {
  what: string;
  file: string;
  changes(): number;
  /** The file's bytes or text as of now (may yield between slices: later changes wait for the next save). */
  take(): Promise<Uint8Array | Uint8Array[]> | Uint8Array | Uint8Array[];
}

export interface StateSaverOptions {
  recycling?: { matrix: AdjacencyMatrix; file: string };
  suffix?: { cache: SuffixCache; file: string };
  intervalMs: number;
  log?: Logger;
}

export interface StateSaver {
  /** Saves what changed since the last save now (the timer's tick; tests call it directly). */
  saveNow(): Promise<void>;
  /** Stops the timer and waits for a save in progress (dispose then writes the final state itself). */
  stop(): Promise<void>;
}

/** Starts saving every `intervalMs`; null when there is nothing to save or the interval is 0 (shutdown only). */
export function startStateSaver(opts: StateSaverOptions): StateSaver | null {
  const saved: Saved[] = [];
  if (opts.recycling) {
    const { matrix, file } = opts.recycling;
    saved.push({ what: 'recycling-state', file, changes: () => matrix.changes, take: () => matrix.snapshot() });
  }
  if (opts.suffix) {
    const { cache, file } = opts.suffix;
    saved.push({ what: 'suffix-cache', file, changes: () => cache.changes, take: () => cache.serialize() });
  }
  if (saved.length === 0 || !(opts.intervalMs > 0)) return null;
  // What was loaded at start is already in the file: only later changes are worth a write.
  const lastSaved = saved.map((s) => s.changes());
  let running: Promise<void> | null = null;

  const saveChanged = async () => {
    for (const [i, s] of saved.entries()) {
      const changes = s.changes();
      if (changes === lastSaved[i]) continue;
      const t0 = performance.now();
      try {
        const data = await s.take();
        await writeFileAtomicAsync(s.file, data);
        // Changes made while it was being taken or written move the counter again: they go at the next tick.
        lastSaved[i] = changes;
        const bytes = data instanceof Uint8Array ? data.byteLength : data.reduce((n, c) => n + c.byteLength, 0);
        opts.log?.debug({ state: s.what, file: s.file, bytes, ms: Math.round((performance.now() - t0) * 10) / 10 }, 'drafter state saved');
      } catch (e) {
        opts.log?.warn({ state: s.what, file: s.file, err: e }, `could not save ${s.what} (${(e as Error).message}); still serving, will retry`);
      }
    }
  };
  const saveNow = () => (running ??= saveChanged().finally(() => { running = null; }));
  // Past 2^31 - 1 ms setInterval would fire every millisecond instead (Node's TimeoutOverflowWarning).
  const timer = setInterval(() => void saveNow(), Math.min(opts.intervalMs, 2 ** 31 - 1));
  timer.unref();
  return {
    saveNow,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
