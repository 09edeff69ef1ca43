// One aggregated speculation line per interval at info level (vLLM's SpecDecodingLogging): drafted and
// accepted tokens per second, mean accepted length (bonus included) and acceptance by draft position.
import type { FastifyBaseLogger } from 'fastify';
import type { SpeculationStats } from '../engine/stats.ts';

export class SpecLog {
  private steps = 0;
  private drafted = 0;
  private accepted = 0;
  private byPos: number[] = [];
  private since = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly log: FastifyBaseLogger, intervalMs = 10_000) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  add(s: SpeculationStats): void {
    if (s.drafted === 0) return;
    this.steps += s.steps;
    this.drafted += s.drafted;
    this.accepted += s.accepted;
    s.accepted_by_depth.forEach((a, d) => (this.byPos[d] = (this.byPos[d] ?? 0) + a));
  }

  /** Logs and resets, if anything was drafted since the last line. */
  flush(): void {
    const now = performance.now();
    const seconds = (now - this.since) / 1000;
    if (this.steps > 0 && seconds > 0) {
      this.log.info({
        drafted_per_s: +(this.drafted / seconds).toFixed(1),
        accepted_per_s: +(this.accepted / seconds).toFixed(1),
        mean_accepted_length: +((this.accepted + this.steps) / this.steps).toFixed(2),
        draft_acceptance_rate: +(this.accepted / this.drafted).toFixed(3),
        accepted_per_position: this.byPos.map((a) => +(a / this.steps).toFixed(3)),
      }, 'speculative decoding');
    }
    this.steps = this.drafted = this.accepted = 0;
    this.byPos = [];
    this.since = now;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
