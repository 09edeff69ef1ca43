// llama.cpp's quantized stories260K-wide256 files (../shared/models/gguf): each opens, reports its type mix,
// and dequantizes close to the F32 file; Sprig's Q8_0/Q4_0 quantizers reproduce llama-quantize's bytes.
import t from 'tap';
import { openGgufModel, type GgufModel } from '../../../model/gguf/checkpoint.ts';
import { readGguf, readTensorData } from '../../../model/gguf/read.ts';
import { dequantize } from '../../../model/quant/dequant.ts';
import { quantize } from '../../../model/quant/quantize.ts';
import { hasWide, SKIP_SHARED, WIDE } from '../../helpers/gguf.ts';

const skip = hasWide ? false : SKIP_SHARED;

const FILES: [string, Record<string, number>][] = [
  ['F32', { F32: 48 }],
  ['Q8_0', { Q8_0: 37, F32: 11 }],
  ['Q4_0', { Q4_0: 36, Q6_K: 1, F32: 11 }], // llama.cpp keeps output.weight at Q6_K
  ['Q4_K_M', { Q4_K: 32, Q6_K: 5, F32: 11 }],
  ['Q6_K', { Q6_K: 37, F32: 11 }],
];

// Per tensor, against the F32 file: [largest |error| / largest |weight|, rms error / rms weight].
// Q8_0: half a step of amax/127 (+ f16 scale rounding). Q4_0: up to amax/8, as the value opposite the
// largest-magnitude one can clip at level 15. K-quants (llama.cpp's own search): measured 0.016/0.020 (Q6_K) and
// 0.066/0.078 (Q4_K), bounds set a little above. Norms stay F32: exact.
const TOL: Record<string, [number, number]> = { F32: [0, 0], Q8_0: [0.0045, 0.008], Q4_0: [0.126, 0.12], Q6_K: [0.02, 0.025], Q4_K: [0.08, 0.1] };

function hfNames(m: GgufModel): string[] {
  const names = ['model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight'];
  for (let l = 0; l < m.spec.numLayers; l++) {
    for (const p of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj', 'input_layernorm', 'post_attention_layernorm']) names.push(`model.layers.${l}.${p}.weight`);
  }
  return names;
}

t.test('each file opens with its type mix and dequantizes close to the F32 file', { skip }, async (t) => {
  const ref = openGgufModel(WIDE('F32'));
  t.match(ref.spec, { arch: 'llama', numLayers: 5, hidden: 256, numHeads: 8, numKvHeads: 4, headDim: 32, intermediate: 256, vocabSize: 512, tiedEmbeddings: false });
  t.equal(ref.parameterCount, 2231040);
  for (const [label, types] of FILES) {
    const m = openGgufModel(WIDE(label));
    t.same(m.typeSummary, types, `${label}: types`);
    t.equal(m.spec.dtype, Object.entries(types).sort((a, b) => b[1] - a[1]).map(([k]) => k).join('+'));
    t.same({ ...m.spec, dtype: '' }, { ...ref.spec, dtype: '' }, `${label}: same spec as the F32 file`);
    const worst: Record<string, [number, number]> = {};
    for (const name of hfNames(m)) {
      const type = m.weights.typeOf(name);
      const a = ref.weights.get(name).data;
      const b = m.weights.get(name);
      t.same(b.shape, ref.weights.get(name).shape);
      let amax = 0, w = 0, se = 0, sx = 0;
      for (let i = 0; i < a.length; i++) {
        amax = Math.max(amax, Math.abs(a[i]));
        w = Math.max(w, Math.abs(a[i] - b.data[i]));
        se += (a[i] - b.data[i]) ** 2;
        sx += a[i] ** 2;
      }
      const [m0, r0] = worst[type] ?? [0, 0];
      worst[type] = [Math.max(m0, amax ? w / amax : w), Math.max(r0, sx ? Math.sqrt(se / sx) : 0)];
    }
    for (const [type, [maxRel, rms]] of Object.entries(worst)) {
      t.ok(maxRel <= TOL[type][0] && rms <= TOL[type][1], `${label} ${type}: max ${maxRel.toExponential(2)} ≤ ${TOL[type][0]}, rms ${rms.toExponential(2)} ≤ ${TOL[type][1]}`);
    }
  }
});

t.test("quantizing the F32 file's tensors reproduces llama-quantize's Q8_0 and Q4_0 blocks byte for byte", { skip }, async (t) => {
  const f32 = readGguf(WIDE('F32'));
  for (const label of ['Q8_0', 'Q4_0'] as const) {
    const g = readGguf(WIDE(label));
    let n = 0;
    for (const info of g.tensors.values()) {
      if (info.type !== label) continue;
      const src = f32.tensors.get(info.name)!;
      const x = dequantize('F32', readTensorData(f32.file, src), src.byteLength / 4);
      const same = Buffer.from(quantize(label, x)).equals(Buffer.from(readTensorData(g.file, info)));
      if (!same) t.fail(`${label} ${info.name} differs`);
      n++;
    }
    t.equal(n, label === 'Q8_0' ? 37 : 36, `${label}: all ${n} tensors identical`);
  }
});
