// What the routes share: config, the engine (null until loaded), scheduler, metrics and running jobs.
import type { FastifyBaseLogger } from 'fastify';
import type { ServerConfig } from './config.ts';
import type { Engine } from './engine.ts';
import type { CancelKind, Job, JobContext } from './job.ts';
import type { Metrics } from './metrics.ts';
import { PromptEncoder } from './prompt-encoder.ts';
import type { Scheduler } from './scheduler.ts';

export class ServerState {
  engine: Engine | null = null;
  /** Tokenizes prompts off the event loop and bounds them; made with the engine. */
  encoder: PromptEncoder | null = null;
  /** The model's prefix cache (--kv-cache-mb; engine.openPrefixCache's id), shared by every request; null when off. */
  prefixCache: number | null = null;
  readonly active = new Set<Job>();
  readonly ready: Promise<Engine>;
  /** From shutdown() until the listener closes: /health says so and new generations get 503. */
  draining = false;

  constructor(
    readonly config: ServerConfig,
    readonly scheduler: Scheduler,
    readonly metrics: Metrics,
    engine: Engine | Promise<Engine>,
    log?: FastifyBaseLogger,
  ) {
    this.ready = Promise.resolve(engine).then((e) => {
      this.encoder = new PromptEncoder(e.tokenizer, e.tokenizerPath, log);
      if (config.kvCacheMb > 0) this.prefixCache = e.openPrefixCache(config.kvCacheMb * 2 ** 20);
      this.engine = e;
      return e;
    });
    // A failed load is reported by whoever loads the engine (server/main.ts); requests then fail with 500.
    this.ready.catch(() => {});
  }

  /** The engine, waiting for it while the model loads. */
  async getEngine(): Promise<Engine> {
    return this.engine ?? this.ready;
  }

  async getEncoder(): Promise<PromptEncoder> {
    await this.getEngine();
    return this.encoder!;
  }

  /** Stops the tokenizer thread (app close). */
  async close(): Promise<void> {
    await this.encoder?.close();
  }

  async jobContext(): Promise<JobContext> {
    return { engine: await this.getEngine(), scheduler: this.scheduler, metrics: this.metrics, config: this.config, active: this.active, prefixCache: this.prefixCache };
  }

  /** Resolves once no generation is running or waiting (polled: it only runs while draining). */
  async whenIdle(pollMs = 20): Promise<void> {
    while (this.active.size > 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }

  /** Stops every running request at its next step (shutdown after the drain timeout). */
  cancelAll(kind: CancelKind): void {
    for (const job of this.active) job.cancel(kind);
  }
}
