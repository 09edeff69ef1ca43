// What the routes share: config, the engine (null until loaded), scheduler, metrics and running jobs.
import type { ServerConfig } from './config.ts';
import type { Engine } from './engine.ts';
import type { CancelKind, Job, JobContext } from './job.ts';
import type { Metrics } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';

export class ServerState {
  engine: Engine | null = null;
  readonly active = new Set<Job>();
  readonly ready: Promise<Engine>;

  constructor(
    readonly config: ServerConfig,
    readonly scheduler: Scheduler,
    readonly metrics: Metrics,
    engine: Engine | Promise<Engine>,
  ) {
    this.ready = Promise.resolve(engine).then((e) => (this.engine = e));
    // A failed load is reported by whoever loads the engine (server/main.ts); requests then fail with 500.
    this.ready.catch(() => {});
  }

  /** The engine, waiting for it while the model loads. */
  async getEngine(): Promise<Engine> {
    return this.engine ?? this.ready;
  }

  async jobContext(): Promise<JobContext> {
    return { engine: await this.getEngine(), scheduler: this.scheduler, metrics: this.metrics, config: this.config, active: this.active };
  }

  /** Stops every running request at its next step (shutdown after the drain timeout). */
  cancelAll(kind: CancelKind): void {
    for (const job of this.active) job.cancel(kind);
  }
}
