// llama.cpp's tensor names ↔ Hugging Face's, for the llama and qwen2 GGUF architectures.
//   token_embd.weight ↔ model.embed_tokens.weight      output.weight ↔ lm_head.weight
//   output_norm.weight ↔ model.norm.weight             blk.N.<part>.(weight|bias) ↔ model.layers.N.<hf part>.(weight|bias)

const GLOBAL: Record<string, string> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

const LAYER: Record<string, string> = {
  attn_norm: 'input_layernorm',
  ffn_norm: 'post_attention_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};
const LAYER_BACK = Object.fromEntries(Object.entries(LAYER).map(([g, h]) => [h, g]));
const GLOBAL_BACK = Object.fromEntries(Object.entries(GLOBAL).map(([g, h]) => [h, g]));

/** The HF name of a GGUF tensor, or null when it is not one of the mapped tensors. */
export function hfNameOf(ggufName: string): string | null {
  if (GLOBAL[ggufName]) return GLOBAL[ggufName];
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(ggufName);
  if (!m || !LAYER[m[2]]) return null;
  return `model.layers.${m[1]}.${LAYER[m[2]]}.${m[3]}`;
}

/** The GGUF name of an HF tensor, or null when llama.cpp's llama/qwen2 layout has no such tensor. */
export function ggufNameOf(hfName: string): string | null {
  if (GLOBAL_BACK[hfName]) return GLOBAL_BACK[hfName];
  const m = /^model\.layers\.(\d+)\.(\w+\.\w+|\w+)\.(weight|bias)$/.exec(hfName);
  if (!m || !LAYER_BACK[m[2]]) return null;
  return `blk.${m[1]}.${LAYER_BACK[m[2]]}.${m[3]}`;
}

/** True for the Q and K projections (weights and biases), whose rows llama.cpp reorders for the llama arch. */
export function isRotaryProjection(hfName: string): boolean {
  return /\.self_attn\.[qk]_proj\.(weight|bias)$/.test(hfName);
}
