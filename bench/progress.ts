// A one-line progress bar on stderr, drawn only when stderr is a TTY (logs and pipes stay clean).

/** stderr, or anything shaped like it. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly start = performance.now();
  readonly enabled: boolean;

  constructor(private readonly total: number, private readonly stream: TextSink = process.stderr, enabled?: boolean) {
    this.enabled = enabled ?? Boolean(stream.isTTY);
  }

  tick(label: string): void {
    this.done++;
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 80 && this.done < this.total) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[2K${this.line(label, now)}`);
  }

  /** The bar's text. */
  line(label: string, now = performance.now()): string {
    const frac = this.total ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = this.done ? (elapsed * (this.total - this.done)) / this.done : 0;
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} ${Math.round(frac * 100)}% eta ${eta.toFixed(0)}s  ${label}`;
    const cols = this.stream.columns ?? 100;
    return text.length > cols - 1 ? text.slice(0, cols - 2) : text;
  }

  finish(): void {
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }
}
