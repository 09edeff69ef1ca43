// config.json parsing: supported architectures map to the right spec; anything else fails naming field and value.
import t from 'tap';
import { parseConfig, ropeInvFreq } from '../../model/config.ts';

const llama = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 8, num_key_value_heads: 2, vocab_size: 100, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 500000,
};

t.test('llama, qwen2, mistral and gpt2 configs', async (t) => {
  const s = parseConfig(llama);
  t.match(s, { arch: 'llama', numHeads: 8, numKvHeads: 2, headDim: 8, qkvBias: false, tiedEmbeddings: false, contextLength: 4096 });
  t.equal(s.ropeInvFreq!.length, 4);
  t.match(parseConfig({ ...llama, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', sliding_window: 1024, use_sliding_window: false }), { arch: 'qwen2', qkvBias: true, oBias: false, contextLength: 4096 });
  t.match(parseConfig({ ...llama, architectures: ['MistralForCausalLM'], sliding_window: 1024 }), { arch: 'llama', contextLength: 1024 }, 'a shorter sliding window caps the context');
  t.match(parseConfig({ ...llama, architectures: ['MistralForCausalLM'], sliding_window: null }), { contextLength: 4096 });
  t.match(parseConfig({ architectures: ['GPT2LMHeadModel'], n_embd: 32, n_head: 4, n_layer: 2, n_positions: 128, vocab_size: 100 }), { arch: 'gpt2', intermediate: 128, act: 'gelu_tanh', tiedEmbeddings: true });
  t.match(parseConfig({ ...llama, head_dim: 16 }), { headDim: 16 }, 'explicit head_dim');
});

t.test('unsupported models fail naming the field and value', async (t) => {
  t.throws(() => parseConfig({ ...llama, architectures: ['FalconForCausalLM'], model_type: 'falcon' }), { code: 'SPRIG_ERR_UNSUPPORTED_MODEL', message: /FalconForCausalLM.*falcon/ });
  t.throws(() => parseConfig({ ...llama, hidden_act: 'gelu' }), { message: /hidden_act="gelu"/ });
  t.throws(() => parseConfig({ ...llama, rope_scaling: { type: 'yarn', factor: 4 } }), { message: /rope_scaling.type="yarn"/ });
  t.throws(() => parseConfig({ ...llama, num_key_value_heads: 3 }), { message: /num_attention_heads=8 is not a multiple of num_key_value_heads=3/ });
  t.throws(() => parseConfig({ ...llama, partial_rotary_factor: 0.5 }), { message: /partial_rotary_factor=0.5/ });
  t.throws(() => parseConfig({ architectures: ['GPT2LMHeadModel'], n_embd: 32, n_head: 4, n_layer: 2, vocab_size: 100, activation_function: 'relu' }), { message: /activation_function="relu"/ });
  t.throws(() => parseConfig({ ...llama, hidden_size: undefined }), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /hidden_size is missing/ });
});

t.test('rope scaling: linear divides, llama3 keeps high frequencies and divides low ones', async (t) => {
  const base = ropeInvFreq({ rope_theta: 10000 }, 64, 'x');
  const linear = ropeInvFreq({ rope_theta: 10000, rope_scaling: { type: 'linear', factor: 4 } }, 64, 'x');
  for (let i = 0; i < 32; i++) t.ok(Math.abs(linear[i] - base[i] / 4) < 1e-9 * base[i] + 1e-12);
  const l3 = ropeInvFreq({ rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, 64, 'x');
  const b3 = ropeInvFreq({ rope_theta: 500000 }, 64, 'x');
  t.equal(l3[0], b3[0], 'highest frequency unchanged');
  t.ok(Math.abs(l3[31] - b3[31] / 8) < 1e-6 * b3[31], 'lowest frequency divided by the factor');
  const mid = l3.findIndex((v, i) => v !== b3[i] && Math.abs(v - b3[i] / 8) > 1e-9);
  t.ok(mid > 0, 'a band in between is interpolated');
});
