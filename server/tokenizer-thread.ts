// One worker thread holding a second copy of the model's tokenizer (built from the model path, as the
// engine built its own), for encodes too long to run on the event loop. Started on first use; a worker
// that dies fails only the encodes in flight, and the next encode starts a new one.
import { Worker } from 'node:worker_threads';
import { errors } from '../common/errors.ts';
import type { EncodeMessage, EncodeReply } from './tokenizer-worker.ts';
import { workerBootstrap } from './worker-bootstrap.ts';

interface Pending {
  resolve(ids: number[]): void;
  reject(e: unknown): void;
}

export class TokenizerThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly modelPath: string) {}

  /** Starts the worker now (startup), not on the first long prompt. */
  warm(): void {
    this.start();
  }

  encode(text: string, addSpecialTokens: boolean): Promise<number[]> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<number[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, text, addSpecialTokens } satisfies EncodeMessage);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.failAll(errors.internal('the tokenizer thread was closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.closed) throw errors.internal('the tokenizer thread was closed');
    if (this.worker) return this.worker;
    const worker = new Worker(workerBootstrap(new URL('./tokenizer-worker.ts', import.meta.url)), { eval: true, workerData: { modelPath: this.modelPath } });
    worker.unref();
    worker.on('message', (msg: EncodeReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if ('error' in msg) p.reject(errors.internal(`tokenizer thread: ${msg.error}`));
      else p.resolve(Array.from(msg.ids));
    });
    const fail = (e: unknown) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(errors.internal(`the tokenizer thread stopped: ${e instanceof Error ? e.message : String(e)}`, null, { cause: e }));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(e: unknown): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
