// What the graph builder reads weights through: one interface over safetensors folders and GGUF files.
// Names are Hugging Face's (model.layers.0.self_attn.q_proj.weight); a GGUF source maps its own names onto
// them and undoes llama.cpp's rotary row permutation of Q and K, so the builder sees one layout.

/** ggml storage types Sprig reads. Block formats as in ggml (see model/quant/). */
export type GgmlType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/** A tensor as stored: the raw blocks, never widened. */
export interface RawTensor {
  type: GgmlType;
  /**
   * HF order: [rows, cols] for a matrix ([out, in] for a Linear weight, [vocab, hidden] for an embedding),
   * [n] for a vector. cols are contiguous and quantization blocks run along them.
   */
  shape: number[];
  /** rows × cols / blockElems blocks in ggml's block layout (F32/F16/BF16: plain little-endian values). */
  data: Uint8Array;
}

export interface WeightSource {
  has(name: string): boolean;
  /** Storage type of a tensor; throws naming it when it is missing. */
  typeOf(name: string): GgmlType;
  /** Float32 data and shape of a tensor (dequantized if stored quantized); throws naming it when missing. */
  get(name: string): { data: Float32Array; shape: number[] };
  /** The tensor in its stored form; throws naming it when missing. */
  raw(name: string): RawTensor;
}
