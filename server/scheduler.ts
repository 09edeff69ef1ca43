// Admission and slots: at most maxConcurrent generations run, at most maxQueue wait in FIFO order.
// It NEVER lets a waiter jump the queue, and a released or abandoned lease is never counted twice.
import { errors } from '../common/errors.ts';

export interface Lease {
  /** Resolves when this generation may run; rejects with `signal.reason` if it aborts while waiting. */
  readonly granted: Promise<void>;
  /** Frees the slot (or leaves the queue). Idempotent. */
  release(): void;
}

interface Waiter {
  grant: () => void;
}

export class Scheduler {
  private numRunning = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly maxConcurrent: number, readonly maxQueue: number) {}

  get running(): number {
    return this.numRunning;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Admits `count` generations at once, or none: throws errors.queueFull when they would overflow the queue.
   * INVARIANT: waiters exist only while every slot is taken, so the new waiters are count − free slots.
   */
  reserve(count: number, signal?: AbortSignal): Lease[] {
    const free = this.maxConcurrent - this.numRunning;
    const numWaiting = this.waiters.length + Math.max(0, count - free);
    if (numWaiting > this.maxQueue) {
      throw errors.queueFull(`server is busy: ${this.numRunning} generations running and ${this.waiters.length} waiting (max ${this.maxQueue}); retry later`);
    }
    return Array.from({ length: count }, () => this.lease(signal));
  }

  private lease(signal?: AbortSignal): Lease {
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    let resolve!: () => void;
    let reject!: (reason: unknown) => void;
    const granted = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be awaiting a lease that was abandoned before its turn.
    granted.catch(() => {});
    const onAbort = () => leave(signal?.reason);
    const waiter: Waiter = {
      grant: () => {
        state = 'running';
        this.numRunning++;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
    };
    const leave = (reason: unknown) => {
      if (state !== 'waiting') return;
      state = 'done';
      this.leaveQueue(waiter);
      signal?.removeEventListener('abort', onAbort);
      reject(reason);
    };
    if (this.numRunning < this.maxConcurrent && this.waiters.length === 0) waiter.grant();
    else if (signal?.aborted) leave(signal.reason);
    else {
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    return {
      granted,
      release: () => {
        if (state === 'running') {
          state = 'done';
          this.numRunning--;
          this.waiters.shift()?.grant();
        } else {
          leave(errors.cancelled('the request left the queue before it ran'));
        }
      },
    };
  }

  private leaveQueue(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
