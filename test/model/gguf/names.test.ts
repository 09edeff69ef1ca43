// llama.cpp ↔ HF tensor names.
import t from 'tap';
import { ggufNameOf, hfNameOf, isRotaryProjection } from '../../../model/gguf/names.ts';

const PAIRS: [string, string][] = [
  ['token_embd.weight', 'model.embed_tokens.weight'],
  ['output.weight', 'lm_head.weight'],
  ['output_norm.weight', 'model.norm.weight'],
  ['blk.0.attn_norm.weight', 'model.layers.0.input_layernorm.weight'],
  ['blk.11.ffn_norm.weight', 'model.layers.11.post_attention_layernorm.weight'],
  ['blk.3.attn_q.weight', 'model.layers.3.self_attn.q_proj.weight'],
  ['blk.3.attn_k.bias', 'model.layers.3.self_attn.k_proj.bias'],
  ['blk.3.attn_v.weight', 'model.layers.3.self_attn.v_proj.weight'],
  ['blk.3.attn_output.weight', 'model.layers.3.self_attn.o_proj.weight'],
  ['blk.2.ffn_gate.weight', 'model.layers.2.mlp.gate_proj.weight'],
  ['blk.2.ffn_up.weight', 'model.layers.2.mlp.up_proj.weight'],
  ['blk.2.ffn_down.weight', 'model.layers.2.mlp.down_proj.weight'],
];

t.test('names map both ways', async (t) => {
  for (const [g, h] of PAIRS) {
    t.equal(hfNameOf(g), h);
    t.equal(ggufNameOf(h), g);
  }
  for (const g of ['rope_freqs.weight', 'blk.0.attn_q_norm.weight', 'blk.0.ffn_gate_exps.weight', 'blk.x.attn_q.weight']) t.equal(hfNameOf(g), null, g);
  for (const h of ['model.rotary_emb.inv_freq', 'model.layers.0.self_attn.q_norm.weight']) t.equal(ggufNameOf(h), null, h);
});

t.test('only Q and K projections are rotary', async (t) => {
  t.ok(isRotaryProjection('model.layers.0.self_attn.q_proj.weight'));
  t.ok(isRotaryProjection('model.layers.9.self_attn.k_proj.bias'));
  t.notOk(isRotaryProjection('model.layers.0.self_attn.v_proj.weight'));
  t.notOk(isRotaryProjection('model.layers.0.self_attn.o_proj.weight'));
});
