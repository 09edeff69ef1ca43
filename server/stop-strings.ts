// Text-level stop strings for streaming: a stop string is NEVER partly emitted. Text that could be the
// start of a stop string is held back until the next piece decides it.

export interface StopPush {
  /** Text safe to emit now. */
  text: string;
  /** True once a stop string matched: `text` ends just before it and everything after is dropped. */
  stopped: boolean;
}

/**
 * Example with stop ['###']: push('ab#') -> {text:'ab'}, push('#') -> {text:''},
 * push('x') -> {text:'##x'}; push('##') then push('#tail') -> {text:'', stopped:true}.
 */
export class StopStringMatcher {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.done;
  }

  push(piece: string): StopPush {
    if (this.done) return { text: '', stopped: true };
    const buf = this.held + piece;
    if (this.stops.length === 0) return { text: buf, stopped: false };
    let cut = -1;
    for (const stop of this.stops) {
      const at = buf.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.done = true;
      this.held = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** End of generation: whatever was held back cannot become a stop string any more. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let len = Math.min(stop.length - 1, buf.length); len > best; len--) {
        if (buf.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
