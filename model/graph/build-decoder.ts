// Builds the ONNX graph of a decoder-only transformer (llama / qwen2 / gpt2) from a ModelSpec and its weights.
// The caller supplies positions and an additive attention bias, so one forward can score a whole draft tree.
//
// Inputs:  input_ids [1, n] int64, position_ids [1, n] int64, attention_bias [1, 1, n, past + n] float
//          (0 = attend, large negative = masked), logits_rows [m] int64 (which of the n rows get logits),
//          past_key.{l} / past_value.{l} [past, numKvHeads, headDim] (sequence-major, so a cache prefix is a view).
// Outputs: logits [m, vocab], present_key.{l} / present_value.{l} [n, numKvHeads, headDim] for the n new tokens.
import type { ModelSpec } from '../config.ts';
import { OnnxGraph } from './onnx-graph.ts';

export interface WeightSource {
  has(name: string): boolean;
  /** Float32 data and shape of a checkpoint tensor; throws naming the tensor when it is missing. */
  get(name: string): { data: Float32Array; shape: number[] };
}

export interface BuildProgress {
  (done: number, total: number): void;
}

export function buildDecoderGraph(spec: ModelSpec, weights: WeightSource, g: OnnxGraph, onProgress?: BuildProgress): Uint8Array {
  const { hidden: D, numHeads: H, numKvHeads: KV, headDim: HD, numLayers: L } = spec;
  const G = H / KV;
  const names = weightNames(spec, weights);

  g.input('input_ids', 'int64', [1, 'n']);
  g.input('position_ids', 'int64', [1, 'n']);
  g.input('attention_bias', 'float', [1, 1, 'n', 'total']);
  g.input('logits_rows', 'int64', ['m']);
  for (let l = 0; l < L; l++) {
    g.input(`past_key.${l}`, 'float', ['past', KV, HD]);
    g.input(`past_value.${l}`, 'float', ['past', KV, HD]);
  }

  const w = (name: string, transform?: (data: Float32Array, shape: number[]) => { data: Float32Array; shape: number[] }) => {
    let t = weights.get(name);
    if (transform) t = transform(t.data, t.shape);
    return g.weight(name, t.data, t.shape);
  };
  const shape = (dims: number[]) => g.constInt64(dims);

  const ids = g.op('Reshape', ['input_ids', shape([-1])]); // [n]
  const pos = g.op('Reshape', ['position_ids', shape([-1])]); // [n]
  const embed = w(names.embed); // [vocab, D]
  let x = g.op('Gather', [embed, ids], { axis: 0 }); // [n, D]
  if (names.posEmbed) x = g.op('Add', [x, g.op('Gather', [w(names.posEmbed), pos], { axis: 0 })]);

  // Rotary embedding (RoPE, Su et al. 2021, HF rotate-half layout) as onnxruntime's RotaryEmbedding contrib op,
  // reading cos/sin tables [contextLength, HD/2] at the caller's explicit positions.
  let cosCache = '';
  let sinCache = '';
  if (spec.ropeInvFreq) {
    const half = HD / 2;
    const rows = spec.contextLength;
    const cosT = new Float32Array(rows * half);
    const sinT = new Float32Array(rows * half);
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < half; i++) {
        // Same float32 product as HF's `position * inv_freq` before cos/sin.
        const angle = Math.fround(p * spec.ropeInvFreq[i]);
        cosT[p * half + i] = Math.cos(angle);
        sinT[p * half + i] = Math.sin(angle);
      }
    }
    cosCache = g.weight('rope.cos', cosT, [rows, half]);
    sinCache = g.weight('rope.sin', sinT, [rows, half]);
  }
  const rope = (t: string, heads: number, outName?: string): string => {
    // t [n, heads·HD] → [1, n, heads·HD] → rotated → [n, heads, HD]
    const t3 = g.op('Reshape', [t, shape([1, -1, heads * HD])]);
    const r = g.msOp('RotaryEmbedding', [t3, 'position_ids', cosCache, sinCache], { interleaved: 0, num_heads: heads });
    return g.op('Reshape', [r, shape([-1, heads, HD])], {}, outName);
  };

  const norm = (t: string, prefix: string): string => {
    if (spec.norm === 'layer') {
      return g.op('LayerNormalization', [t, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: spec.normEps });
    }
    // RMSNorm (Zhang & Sennrich 2019): t / sqrt(mean(t²) + eps) · weight
    const ms = g.op('ReduceMean', [g.op('Pow', [t, g.constFloat([2], [])])], { axes: [-1], keepdims: 1 });
    const r = g.op('Div', [t, g.op('Sqrt', [g.op('Add', [ms, g.constFloat([spec.normEps], [])])])]);
    return g.op('Mul', [r, w(`${prefix}.weight`)]);
  };

  // x [n, in] · W → [n, out]. HF Linear stores W as [out, in] (transB=1); GPT-2's Conv1D as [in, out].
  const linear = (t: string, wName: string, bName: string | null): string => {
    const inputs = [t, w(wName)];
    if (bName) inputs.push(w(bName));
    return g.op('Gemm', inputs, { transB: spec.arch === 'gpt2' ? 0 : 1 });
  };

  // Several HF Linear layers on the same input as ONE Gemm: their [out, in] weights (and biases) stacked
  // along `out` at build time, the result split back. Fewer, larger ops: per-op overhead dominates small models.
  const fusedLinear = (t: string, wNames: string[], bNames: (string | null)[], name: string): string[] => {
    const parts = wNames.map((wn) => weights.get(wn));
    const outs = parts.map((p) => p.shape[0]);
    const inF = parts[0].shape[1];
    const wData = new Float32Array(outs.reduce((a, b) => a + b, 0) * inF);
    let off = 0;
    for (const p of parts) {
      wData.set(p.data, off);
      off += p.data.length;
    }
    const inputs = [t, g.weight(`${name}.weight`, wData, [wData.length / inF, inF])];
    if (bNames.some((b) => b !== null)) {
      const bData = new Float32Array(wData.length / inF);
      let bo = 0;
      bNames.forEach((bn, i) => {
        if (bn) bData.set(weights.get(bn).data, bo);
        bo += outs[i];
      });
      inputs.push(g.weight(`${name}.bias`, bData, [bData.length]));
    }
    const y = g.op('Gemm', inputs, { transB: 1 });
    return g.opN('Split', [y, g.constInt64(outs)], outs.length, { axis: 1 });
  };

  const scale = g.constFloat([1 / Math.sqrt(HD)], []);
  for (let l = 0; l < L; l++) {
    const n = names.layer(l);
    const h = norm(x, n.norm1);
    let q: string;
    let k: string;
    let v: string;
    if (n.qkv) {
      const qkv = linear(h, n.qkv, n.qkvBias); // [n, 3D]
      [q, k, v] = g.opN('Split', [qkv, g.constInt64([D, D, D])], 3, { axis: 1 });
    } else {
      [q, k, v] = fusedLinear(h, [n.q, n.k, n.v], [n.qBias, n.kBias, n.vBias], `layers.${l}.qkv`); // [n, H·HD], [n, KV·HD] ×2
    }
    const presentK = `present_key.${l}`;
    const presentV = `present_value.${l}`;
    if (spec.ropeInvFreq) {
      q = rope(q, H); // [n, H, HD]
      rope(k, KV, presentK); // [n, KV, HD]
    } else {
      q = g.op('Reshape', [q, shape([-1, H, HD])]); // [n, H, HD]
      g.op('Reshape', [k, shape([-1, KV, HD])], {}, presentK);
    }
    g.op('Reshape', [v, shape([-1, KV, HD])], {}, presentV);

    const kAll = g.op('Concat', [`past_key.${l}`, presentK], { axis: 0 }); // [T, KV, HD]
    const vAll = g.op('Concat', [`past_value.${l}`, presentV], { axis: 0 }); // [T, KV, HD]
    const kT = g.op('Reshape', [g.op('Transpose', [kAll], { perm: [1, 2, 0] }), shape([KV, 1, HD, -1])]); // [KV, 1, HD, T]
    const vH = g.op('Reshape', [g.op('Transpose', [vAll], { perm: [1, 0, 2] }), shape([KV, 1, -1, HD])]); // [KV, 1, T, HD]
    // Query heads grouped by the KV head they share (GQA): head h uses KV head floor(h / G).
    const qH = g.op('Reshape', [g.op('Transpose', [g.op('Mul', [q, scale])], { perm: [1, 0, 2] }), shape([KV, G, -1, HD])]); // [KV, G, n, HD]
    const scores = g.op('Add', [g.op('MatMul', [qH, kT]), 'attention_bias']); // [KV, G, n, T]
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.op('MatMul', [probs, vH]); // [KV, G, n, HD]
    const merged = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [ctx, shape([H, -1, HD])])], { perm: [1, 0, 2] }), shape([-1, H * HD])]); // [n, H·HD]
    x = g.op('Add', [x, linear(merged, n.o, n.oBias)]);

    const h2 = norm(x, n.norm2);
    let mlp: string;
    if (n.gate) {
      // SwiGLU (Shazeer 2020): down(silu(gate(h)) · up(h))
      const [gate, up] = fusedLinear(h2, [n.gate, n.up], [n.gateBias, n.upBias], `layers.${l}.gate_up`); // [n, I] ×2
      const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
      mlp = linear(act, n.down, n.downBias);
    } else {
      mlp = linear(gelu(g, linear(h2, n.up, n.upBias), spec.act), n.down, n.downBias);
    }
    x = g.op('Add', [x, mlp]);
    onProgress?.(l + 1, L);
  }

  const xf = norm(x, names.finalNorm);
  const rows = g.op('Gather', [xf, 'logits_rows'], { axis: 0 }); // [m, D]
  const head = names.head === names.embed ? embed : w(names.head); // [vocab, D]
  g.op('Gemm', [rows, head], { transB: 1 }, 'logits'); // [m, vocab]

  g.output('logits', 'float', ['m', spec.vocabSize]);
  for (let l = 0; l < L; l++) {
    g.output(`present_key.${l}`, 'float', ['n', KV, HD]);
    g.output(`present_value.${l}`, 'float', ['n', KV, HD]);
  }
  return g.finish(`sprig-${spec.arch}`);
}

function gelu(g: OnnxGraph, t: string, act: ModelSpec['act']): string {
  const half = g.constFloat([0.5], []);
  const one = g.constFloat([1], []);
  if (act === 'gelu') {
    // 0.5·x·(1 + erf(x/√2))
    const e = g.op('Erf', [g.op('Mul', [t, g.constFloat([Math.SQRT1_2], [])])]);
    return g.op('Mul', [g.op('Mul', [t, half]), g.op('Add', [e, one])]);
  }
  // tanh approximation (Hendrycks & Gimpel 2016), GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  const x3 = g.op('Mul', [g.op('Mul', [t, t]), t]);
  const inner = g.op('Mul', [g.op('Add', [t, g.op('Mul', [x3, g.constFloat([0.044715], [])])]), g.constFloat([Math.sqrt(2 / Math.PI)], [])]);
  return g.op('Mul', [g.op('Mul', [t, half]), g.op('Add', [g.op('Tanh', [inner]), one])]);
}

interface LayerNames {
  norm1: string;
  norm2: string;
  qkv?: string;
  qkvBias: string | null;
  q: string;
  k: string;
  v: string;
  qBias: string | null;
  kBias: string | null;
  vBias: string | null;
  o: string;
  oBias: string | null;
  gate?: string;
  gateBias: string | null;
  up: string;
  upBias: string | null;
  down: string;
  downBias: string | null;
}

/** Checkpoint tensor names per architecture (HF naming). */
export function weightNames(spec: ModelSpec, weights: WeightSource) {
  if (spec.arch === 'gpt2') {
    const p = weights.has('transformer.wte.weight') ? 'transformer.' : '';
    return {
      embed: `${p}wte.weight`,
      posEmbed: `${p}wpe.weight` as string | null,
      finalNorm: `${p}ln_f`,
      head: `${p}wte.weight`,
      layer: (l: number): LayerNames => {
        const b = `${p}h.${l}`;
        return {
          norm1: `${b}.ln_1`,
          norm2: `${b}.ln_2`,
          qkv: `${b}.attn.c_attn.weight`,
          qkvBias: `${b}.attn.c_attn.bias`,
          q: '', k: '', v: '', qBias: null, kBias: null, vBias: null,
          o: `${b}.attn.c_proj.weight`,
          oBias: `${b}.attn.c_proj.bias`,
          gateBias: null,
          up: `${b}.mlp.c_fc.weight`,
          upBias: `${b}.mlp.c_fc.bias`,
          down: `${b}.mlp.c_proj.weight`,
          downBias: `${b}.mlp.c_proj.bias`,
        };
      },
    };
  }
  const head = spec.tiedEmbeddings || !weights.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const bias = (on: boolean, name: string) => (on ? name : null);
  return {
    embed: 'model.embed_tokens.weight',
    posEmbed: null as string | null,
    finalNorm: 'model.norm',
    head,
    layer: (l: number): LayerNames => {
      const b = `model.layers.${l}`;
      const a = `${b}.self_attn`;
      return {
        norm1: `${b}.input_layernorm`,
        norm2: `${b}.post_attention_layernorm`,
        qkvBias: null,
        q: `${a}.q_proj.weight`,
        k: `${a}.k_proj.weight`,
        v: `${a}.v_proj.weight`,
        qBias: bias(spec.qkvBias, `${a}.q_proj.bias`),
        kBias: bias(spec.qkvBias, `${a}.k_proj.bias`),
        vBias: bias(spec.qkvBias, `${a}.v_proj.bias`),
        o: `${a}.o_proj.weight`,
        oBias: bias(spec.oBias, `${a}.o_proj.bias`),
        gate: `${b}.mlp.gate_proj.weight`,
        gateBias: bias(spec.mlpBias, `${b}.mlp.gate_proj.bias`),
        up: `${b}.mlp.up_proj.weight`,
        upBias: bias(spec.mlpBias, `${b}.mlp.up_proj.bias`),
        down: `${b}.mlp.down_proj.weight`,
        downBias: bias(spec.mlpBias, `${b}.mlp.down_proj.bias`),
      };
    },
  };
}
