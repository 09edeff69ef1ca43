// Stopping criteria over generated token ids: end-of-sequence ids, stop token sequences, and max tokens.

export type FinishReason = 'stop' | 'length' | 'cancelled';

export class StopChecker {
  private readonly eos: Set<number>;

  constructor(
    eosIds: readonly number[],
    private readonly stopSequences: readonly (readonly number[])[] = [],
    private readonly maxTokens: number = Infinity,
  ) {
    this.eos = new Set(eosIds);
  }

  /**
   * Appends `token` to `out` unless it ends generation. Returns the finish reason once generation is over
   * (the eos token and a matched stop sequence are not kept in `out`), else null.
   */
  push(out: number[], token: number): FinishReason | null {
    if (this.eos.has(token)) return 'stop';
    out.push(token);
    for (const seq of this.stopSequences) {
      if (seq.length === 0 || seq.length > out.length) continue;
      let match = true;
      for (let i = 0; i < seq.length; i++) {
        if (out[out.length - seq.length + i] !== seq[i]) {
          match = false;
          break;
        }
      }
      if (match) {
        out.length -= seq.length;
        return 'stop';
      }
    }
    return out.length >= this.maxTokens ? 'length' : null;
  }
}
