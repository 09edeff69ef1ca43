// BatchRunner: one forward over several sequences at once (continuous batching), on the batched variant of
// the model's graph (model/graph/build-decoder.ts). Every sequence's rows are packed into one [1, N, ·], so
// each matrix product reads the weights once for the whole batch; attention is per sequence, in the graph's
// fixed slots: slot s reads its sequence's cache as it lies (cache.pastKeys(l), the same zero-copy view the
// single-sequence graph takes) with that sequence's own bias, so nothing is padded and no past is copied here.
// More sequences than slots run as several forwards of at most `slots` each.
//
// The batched graph is a second onnxruntime session: its weights are a second copy in memory (onnxruntime-node
// cannot share initializers between sessions). The weights.bin files of the two graphs hold the same bytes, but that
// does not help: onnxruntime mmaps external data, yet every MatMul/MatMulNBits prepacks its weight into anonymous
// memory, so each session holds its own copy (82M f32: +223 MiB RssAnon for the second session, q4 +46 MiB; a
// hardlinked weights.bin changes nothing). Measured with onnxruntime-node 1.30, none of these helps: `extra`
// session.disable_prepacking=1 cuts the copy (+99 MiB) but slows forwards (f32 16 rows 15 → 30 ms, batched 16
// sequences 23 → 36–52 ms; q4 3 → 130 ms); session.use_ort_model_bytes_* and use_memory_mapped_ort_model are for
// .ort-format models only; the cross-session prepacked-weights container is not reachable from Node. What does work
// for f32: save each graph ORT-optimized with session.save_external_prepacked_constant_initializers=1 (prepacked
// blobs mmapped from disk), drop the duplicate If-branch initializers that ORT's save writes (the batched graph
// does not load otherwise), and point the batched graph's external data into the single graph's file: the second
// session then adds 23–33 MiB anon instead of 223, Pss after forwards 452–471 MiB vs 669–679, forwards unchanged
// and logits identical. Not adopted: with MatMulNBits (q4, q8, GGUF quant types) the saved prepacked model returns
// all-zero logits in 1.30, and the blobs' layout is specific to the CPU. (~/models/stories-wide768, 2 threads,
// past 200, scratch/wmem.ts; the same file mapped by both sessions counts twice in RssFile, so compare Pss.)
// The single-sequence graph stays as it is for the common case: a lone sequence through the slotted graph pays
// every unused slot's If in every layer (1 thread, past 600: 82M f32 13.3 ms with 16 slots vs 13.8 single, within
// noise; 82M q4 5.2 vs 4.7; stories260K at past 200 0.82 vs 0.27 ms).
import { compileModel } from './compile.ts';
import type { KvCache } from './kv-cache.ts';
import type { ModelRunner } from './runner.ts';
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

/** Slots of the batched graph when the caller does not say: the server's default --max-concurrent. */
export const DEFAULT_BATCH_SLOTS = 8;

const EMPTY = new Float32Array(0);

export class BatchRunner {
  /** An unused slot's inputs, the same every step: [1, 1, 0, 0] bias, [1, 0, kvDim] pasts. */
  private readonly emptyBias = floatTensor(EMPTY, [1, 1, 0, 0]);
  private readonly emptyPast: ReturnType<typeof floatTensor>;

  private constructor(readonly runner: ModelRunner, private readonly session: OnnxSession, readonly slots: number) {
    this.emptyPast = floatTensor(EMPTY, [1, 0, runner.spec.numKvHeads * runner.spec.headDim]);
  }

  /** Compiles (or reuses) the batched graph with `slots` slots and opens it with the runner's threads. */
  static async open(runner: ModelRunner, slots = DEFAULT_BATCH_SLOTS): Promise<BatchRunner> {
    if (!(Number.isInteger(slots) && slots >= 1)) throw new Error(`batch slots ${slots} must be a positive integer`);
    const compiled = compileModel(runner.source, runner.compileInfo.quantize, slots);
    return new BatchRunner(runner, await createSession(compiled.modelPath, { threads: runner.threads }), slots);
  }

  /**
   * One forward over every item (several when there are more items than slots); each item's new K/V rows become
   * its cache's pending rows, as ModelRunner.forward does. Returns each item's logits [logitRows.length, vocab].
   */
  async forward(items: readonly BatchItem[]): Promise<Float32Array[]> {
    for (const it of items) this.runner.checkInputs(it.cache, it.tokens, it.positions, it.bias);
    const result: Float32Array[] = [];
    for (let i = 0; i < items.length; i += this.slots) result.push(...await this.forwardSlots(items.slice(i, i + this.slots)));
    return result;
  }

  /** One forward: item b in slot b, the slots after the last item unused. */
  private async forwardSlots(items: readonly BatchItem[]): Promise<Float32Array[]> {
    const { numLayers, numKvHeads, headDim } = this.runner.spec;
    const kvDim = numKvHeads * headDim;
    const S = this.slots;
    let N = 0;
    for (const it of items) N += it.tokens.length;
    const tokens = new Array<number>(N); // [N] packed
    const positions = new Array<number>(N); // [N]
    const slotRows = new Array<number>(S).fill(0); // [S]
    const logitRows: number[] = [];
    const offsets: number[] = [];
    const feeds: Feeds = {};
    let off = 0;
    items.forEach((it, s) => {
      const n = it.tokens.length;
      const past = it.cache.length;
      it.cache.reserve(n); // before the views: reserve may move the cache
      offsets.push(off);
      slotRows[s] = n;
      for (let i = 0; i < n; i++) {
        tokens[off + i] = it.tokens[i];
        positions[off + i] = it.positions[i];
      }
      feeds[`attention_bias.${s}`] = floatTensor(it.bias, [1, 1, n, past + n]);
      for (let l = 0; l < numLayers; l++) {
        feeds[`past_key.${l}.${s}`] = floatTensor(it.cache.pastKeys(l), [1, past, kvDim]);
        feeds[`past_value.${l}.${s}`] = floatTensor(it.cache.pastValues(l), [1, past, kvDim]);
      }
      const rows = it.logitRows ?? Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < rows.length; i++) logitRows.push(off + rows[i]);
      off += n;
    });
    for (let s = items.length; s < S; s++) {
      feeds[`attention_bias.${s}`] = this.emptyBias;
      for (let l = 0; l < numLayers; l++) {
        feeds[`past_key.${l}.${s}`] = this.emptyPast;
        feeds[`past_value.${l}.${s}`] = this.emptyPast;
      }
    }
    feeds.input_ids = int64Tensor(tokens, [1, N]);
    feeds.position_ids = int64Tensor(positions, [1, N]);
    feeds.slot_rows = int64Tensor(slotRows, [S]);
    feeds.logits_rows = int64Tensor(logitRows, [logitRows.length]);
    const out = await this.session.run(feeds);
    items.forEach((it, b) => {
      for (let l = 0; l < numLayers; l++) {
        const k = out[`present_key.${l}`].data as Float32Array; // [1, N, kvDim]
        const v = out[`present_value.${l}`].data as Float32Array;
        it.cache.writePending(l, k.subarray(offsets[b] * kvDim), v.subarray(offsets[b] * kvDim), it.tokens.length);
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
