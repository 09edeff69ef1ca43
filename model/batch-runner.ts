// BatchRunner: one forward over several sequences at once (continuous batching), on the batched variant of
// the model's graph (model/graph/build-decoder.ts). Every sequence's rows are packed into one [1, N, ·], so
// each matrix product reads the weights once for the whole batch; attention is per sequence, over padded
// slots [B, W, ·] with each sequence's own cache [B, Pmax, kvDim] and its own bias.
//
// The batched graph is a second onnxruntime session: its weights are a second copy in memory (onnxruntime-node
// cannot share initializers between sessions). The single-sequence graph stays as it is for the common case.
import { compileModel } from './compile.ts';
import type { KvCache } from './kv-cache.ts';
import { MASKED, type ModelRunner } from './runner.ts';
import { createSession, floatTensor, int64Tensor, type Feeds, type OnnxSession } from './onnx-session.ts';

/** One sequence's part of a batched forward: exactly what ModelRunner.forward takes. */
export interface BatchItem {
  cache: KvCache;
  /** [n] */
  tokens: ArrayLike<number>;
  /** [n] */
  positions: ArrayLike<number>;
  /** [n, cache.length + n] additive (0 attend, MASKED otherwise). */
  bias: Float32Array;
  /** Rows that get logits (default all). */
  logitRows?: ArrayLike<number>;
}

export class BatchRunner {
  /** Reused per-layer padded past buffers. [layers][B·Pmax·kvDim] */
  private pastK: Float32Array[] = [];
  private pastV: Float32Array[] = [];

  private constructor(readonly runner: ModelRunner, private readonly session: OnnxSession) {}

  /** Compiles (or reuses) the batched graph of the runner's model and opens it with the same threads. */
  static async open(runner: ModelRunner): Promise<BatchRunner> {
    const compiled = compileModel(runner.source, runner.compileInfo.quantize, true);
    return new BatchRunner(runner, await createSession(compiled.modelPath, { threads: runner.threads }));
  }

  /**
   * One forward over every item; each item's new K/V rows become its cache's pending rows, as
   * ModelRunner.forward does. Returns each item's logits [logitRows.length, vocab].
   */
  async forward(items: readonly BatchItem[]): Promise<Float32Array[]> {
    const { numLayers, numKvHeads, headDim } = this.runner.spec;
    const kvDim = numKvHeads * headDim;
    const B = items.length;
    let N = 0;
    let W = 1;
    let P = 0;
    for (const it of items) {
      this.runner.checkInputs(it.cache, it.tokens, it.positions, it.bias);
      N += it.tokens.length;
      W = Math.max(W, it.tokens.length);
      P = Math.max(P, it.cache.length);
    }
    const tokens = new Array<number>(N); // [N] packed
    const positions = new Array<number>(N); // [N]
    const slotRows = new Array<number>(B * W).fill(0); // [B, W]: packed row per slot
    const packedSlots = new Array<number>(N); // [N]: slot per packed row
    const bias = new Float32Array(B * W * (P + W)).fill(MASKED); // [B, 1, W, P + W]
    const logitRows: number[] = [];
    const offsets: number[] = [];
    let off = 0;
    items.forEach((it, b) => {
      const n = it.tokens.length;
      const past = it.cache.length;
      offsets.push(off);
      for (let i = 0; i < n; i++) {
        tokens[off + i] = it.tokens[i];
        positions[off + i] = it.positions[i];
        slotRows[b * W + i] = off + i;
        packedSlots[off + i] = b * W + i;
        // The item's bias row: its past columns first, its new columns after the padded past.
        const src = it.bias.subarray(i * (past + n), (i + 1) * (past + n));
        const dst = (b * W + i) * (P + W);
        bias.set(src.subarray(0, past), dst);
        bias.set(src.subarray(past), dst + P);
      }
      for (let i = n; i < W; i++) slotRows[b * W + i] = off; // padding slots: masked everywhere
      const rows = it.logitRows ?? Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < rows.length; i++) logitRows.push(off + rows[i]);
      off += n;
    });
    const feeds: Feeds = {
      input_ids: int64Tensor(tokens, [1, N]),
      position_ids: int64Tensor(positions, [1, N]),
      slot_rows: int64Tensor(slotRows, [B, W]),
      packed_slots: int64Tensor(packedSlots, [1, N]),
      attention_bias: floatTensor(bias, [B, 1, W, P + W]),
      logits_rows: int64Tensor(logitRows, [logitRows.length]),
    };
    // Each sequence's committed prefix copied into its padded slot: what attention reads, no more.
    const size = B * P * kvDim;
    for (let l = 0; l < numLayers; l++) {
      if (!this.pastK[l] || this.pastK[l].length < size) {
        this.pastK[l] = new Float32Array(Math.max(size, 2 * (this.pastK[l]?.length ?? 0)));
        this.pastV[l] = new Float32Array(this.pastK[l].length);
      }
      const k = this.pastK[l].subarray(0, size); // [B, P, kvDim]
      const v = this.pastV[l].subarray(0, size);
      items.forEach((it, b) => {
        k.set(it.cache.pastKeys(l), b * P * kvDim);
        v.set(it.cache.pastValues(l), b * P * kvDim);
      });
      feeds[`past_key.${l}`] = floatTensor(k, [B, P, kvDim]);
      feeds[`past_value.${l}`] = floatTensor(v, [B, P, kvDim]);
    }
    const out = await this.session.run(feeds);
    items.forEach((it, b) => {
      const n = it.tokens.length;
      it.cache.reserve(n);
      for (let l = 0; l < numLayers; l++) {
        const k = out[`present_key.${l}`].data as Float32Array; // [1, N, kvDim]
        const v = out[`present_value.${l}`].data as Float32Array;
        it.cache.writePending(l, k.subarray(offsets[b] * kvDim), v.subarray(offsets[b] * kvDim), n);
      }
    });
    const logits = out.logits.data as Float32Array; // [1, Σ rows, vocab]
    const vocab = this.runner.vocab;
    const result: Float32Array[] = [];
    let row = 0;
    for (const it of items) {
      const m = it.logitRows?.length ?? it.tokens.length;
      result.push(logits.subarray(row * vocab, (row + m) * vocab));
      row += m;
    }
    return result;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
