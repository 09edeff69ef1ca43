// Builds the ONNX graph of a decoder-only transformer (llama / qwen2 / gpt2) from a ModelSpec and its weights.
// The caller supplies positions and an additive attention bias, so one forward can score a whole draft tree.
//
// Inputs:  input_ids [1, n] int64, position_ids [1, n] int64, attention_bias [1, 1, n, past + n] float
//          (0 = attend, large negative = masked), logits_rows [m] int64 (which of the n rows get logits),
//          past_key.{l} / past_value.{l} [1, past, numKvHeads·headDim] (sequence-major, so a cache prefix is a view).
// Outputs: logits [1, m, vocab], present_key.{l} / present_value.{l} [1, n, numKvHeads·headDim] for the n new tokens.
//
// Everything stays 3D [1, n, ·] so the graph needs no reshapes: per-op overhead dominates small models on CPU.
//
// The batched variant (continuous batching, `slots` = S > 0) packs up to S sequences' rows into the same [1, n, ·]
// for every matrix product, so weights are read once per step; attention runs per slot, over that sequence's own
// cache as it lies (no padding, no copy beyond the Concat with its new rows that the single graph does too):
//          slot_rows [S] int64 (slot s owns the next slot_rows[s] packed rows, in slot order; 0 = unused slot),
//          attention_bias.{s} [1, 1, n_s, past_s + n_s], past_key.{l}.{s} / past_value.{l}.{s} [1, past_s, KV·HD]
//          in place of attention_bias and past_key.{l} / past_value.{l}; an unused slot takes [1, 1, 0, 0] and
//          [1, 0, KV·HD]. Per layer, q/k/v are Split by slot_rows, and each slot's attention sits in an If on
//          slot_rows[s] > 0 (onnxruntime's Attention rejects 0 query rows) whose else-branch is an empty
//          [1, 0, H·HD]; the slots' outputs Concat back in packed order. An unused slot costs its If (~6 µs a layer).
//          No weights live in these Ifs, so prepacking is unaffected. The Concat of past and new rows stays: attending
//          over the cache in place (new rows written into its pending rows through preallocated outputs) measured
//          slower, since the per-head reads of a cold cache cost more than one sequential copy read back warm
//          (82M f32, 16 slots at past 600, 1 thread: Attention 18.9 ms in place vs Concat 7.9 + Attention 7.9 ms).
//
// Early exits (the layerskip drafter, self-speculation): with `earlyExits` = [e1 < e2 < …], an input exit_layer [1]
// int64 says how many layers run (numLayers for the target's own forward, or one of the exits). The layers from
// each exit to the next sit in one `If` on exit_layer > e: it runs them, or passes the hidden state through with
// empty present K/V [1, 0, kvDim]. The final norm and the head follow as usual, so every exit uses the target's
// own weights: one session, one copy. The `If`s are side by side, never nested: onnxruntime prepacks a subgraph's
// weights only from the scope right above it, so a nested layer would run unpacked (slower, other rounding).
// Layers that do not run read no past: a draft forward may feed them empty.
import type { ModelSpec } from '../config.ts';
import type { WeightSource } from '../weights.ts';
import { OnnxGraph } from './onnx-graph.ts';
import { matrixFormat, type MatrixFormat, type QuantizeMode } from './weight-format.ts';
import { nbitsGather, nbitsMatMul } from './nbits-ops.ts';

export type { WeightSource } from '../weights.ts';

export interface BuildProgress {
  (done: number, total: number): void;
}

export interface BuildOptions {
  /** How f32/f16/bf16 matrices are stored in the graph; already-quantized GGUF tensors stay as they are. */
  quantize?: QuantizeMode;
  onProgress?: BuildProgress;
  /** Slots of the batched variant (see the header); 0 (the default) builds the single-sequence graph. */
  slots?: number;
  /** Layers after which a forward may exit (see the header); each in [1, numLayers - 1]. Not with `slots`. */
  earlyExits?: readonly number[];
}

export function buildDecoderGraph(spec: ModelSpec, weights: WeightSource, g: OnnxGraph, opts: BuildOptions = {}): Uint8Array {
  const { hidden: D, numHeads: H, numKvHeads: KV, headDim: HD, numLayers: L } = spec;
  const names = weightNames(spec, weights);
  const gpt2 = spec.arch === 'gpt2';
  const quantize = opts.quantize ?? 'none';
  const onProgress = opts.onProgress;
  const S = opts.slots ?? 0;
  if (!Number.isInteger(S) || S < 0) throw new Error(`slots ${S} must be a non-negative integer`);
  const batched = S > 0;
  const exits = new Set(opts.earlyExits ?? []);
  for (const e of exits) if (!Number.isInteger(e) || e < 1 || e >= L) throw new Error(`early exit ${e} is outside [1, ${L - 1}]`);
  if (batched && exits.size) throw new Error('early exits are not built into the batched variant');

  g.input('input_ids', 'int64', [1, 'n']);
  g.input('position_ids', 'int64', [1, 'n']);
  if (batched) {
    g.input('slot_rows', 'int64', [S]);
    for (let s = 0; s < S; s++) g.input(`attention_bias.${s}`, 'float', [1, 1, `n.${s}`, `total.${s}`]);
  } else {
    g.input('attention_bias', 'float', [1, 1, 'n', 'total']);
  }
  g.input('logits_rows', 'int64', ['m']);
  if (exits.size) g.input('exit_layer', 'int64', [1]);
  for (let l = 0; l < L; l++) {
    if (!batched) {
      g.input(`past_key.${l}`, 'float', [1, 'past', KV * HD]);
      g.input(`past_value.${l}`, 'float', [1, 'past', KV * HD]);
    }
    for (let s = 0; s < S; s++) {
      g.input(`past_key.${l}.${s}`, 'float', [1, `past.${s}`, KV * HD]);
      g.input(`past_value.${l}.${s}`, 'float', [1, `past.${s}`, KV * HD]);
    }
  }
  // Batched: whether each slot has rows ([1] bool), and an unused slot's attention output [1, 0, H·HD].
  const slotUsed = Array.from({ length: S }, (_, s) => g.op('Greater', [g.op('Slice', ['slot_rows', g.constInt64([s]), g.constInt64([s + 1])]), g.constInt64([0])]));
  const emptyAtt = batched ? g.constFloat([], [1, 0, H * HD]) : '';
  /** Attention over slot s: its new rows' q/k/v [1, n_s, ·] after its own past. [1, n_s, H·HD] */
  const attention = (l: number, sfx: string, q: string, k: string, v: string, bias: string): string => {
    // ONNX Attention (opset 23), 3D form: our sequence-major cache is already [1, T, KV·HD]; GQA by head counts;
    // the caller's additive bias as attn_mask, so a tree mask works like a causal one.
    const kAll = g.op('Concat', [`past_key.${l}${sfx}`, k], { axis: 1 }); // [1, T, KV·HD]
    const vAll = g.op('Concat', [`past_value.${l}${sfx}`, v], { axis: 1 }); // [1, T, KV·HD]
    return g.op('Attention', [q, kAll, vAll, bias], { q_num_heads: H, kv_num_heads: KV }); // [1, n, H·HD]
  };

  const w = (name: string) => {
    const t = weights.get(name);
    return g.weight(name, t.data, t.shape);
  };

  /**
   * x [1, n, in] · W → [1, n, Σ out] for HF Linear weights ([out, in]) or GPT-2 Conv1D weights ([in, out]).
   * Consecutive weights of one storage format are stacked along `out` into one MatMul (f32) or one MatMulNBits
   * (quantized) and split back, so q/k/v and gate/up are one product each unless their formats differ.
   */
  const linear = (t: string, wNames: string[], bNames: (string | null)[], name: string, outNames?: string[]): string[] => {
    const formats = wNames.map((wn) => matrixFormat(weights, wn, quantize, gpt2));
    const outs: string[] = [];
    let i = 0;
    while (i < wNames.length) {
      let j = i + 1;
      while (j < wNames.length && formats[j].key === formats[i].key) j++;
      const group = wNames.slice(i, j);
      const gname = j - i === wNames.length ? name : `${name}.${i}`;
      const groupOuts = outNames?.slice(i, j);
      outs.push(...linearGroup(t, group, bNames.slice(i, j), gname, formats.slice(i, j), groupOuts));
      i = j;
    }
    return outs;
  };

  /** One product for weights sharing a storage format (`formats`, one per weight, as linear() read them). */
  const linearGroup = (t: string, wNames: string[], bNames: (string | null)[], name: string, formats: MatrixFormat[], outNames?: string[]): string[] => {
    let y: string;
    let outs: number[];
    if (formats[0].kind === 'nbits') {
      const parts = formats.map((f) => f.nbits());
      outs = parts.map((p) => p.rows);
      y = nbitsMatMul(g, t, parts, name);
    } else {
      const parts = wNames.map((wn) => weights.get(wn));
      const inF = gpt2 ? parts[0].shape[0] : parts[0].shape[1];
      outs = parts.map((p) => (gpt2 ? p.shape[1] : p.shape[0]));
      const total = outs.reduce((a, b) => a + b, 0);
      const wData = new Float32Array(inF * total); // [in, Σ out]
      let col = 0;
      parts.forEach((p, pi) => {
        const o = outs[pi];
        for (let r = 0; r < inF; r++) {
          for (let c = 0; c < o; c++) wData[r * total + col + c] = gpt2 ? p.data[r * o + c] : p.data[c * inF + r];
        }
        col += o;
      });
      y = g.op('MatMul', [t, g.weight(`${name}.weight`, wData, [inF, total])]);
    }
    if (bNames.some((b) => b !== null)) {
      const bData = new Float32Array(outs.reduce((a, b) => a + b, 0));
      let bo = 0;
      bNames.forEach((bn, i) => {
        if (bn) bData.set(weights.get(bn).data, bo);
        bo += outs[i];
      });
      y = g.op('Add', [y, g.weight(`${name}.bias`, bData, [bData.length])]);
    }
    if (outs.length === 1) {
      if (outNames) g.op('Identity', [y], {}, outNames[0]);
      return outNames ?? [y];
    }
    return g.opN('Split', [y, g.constInt64(outs)], outs.length, { axis: 2 }, outNames);
  };

  // The embedding stays in its stored form: quantized rows are gathered and dequantized by GatherBlockQuantized,
  // sharing the head's MatMulNBits initializer when the embedding is tied.
  const tiedHead = names.head === names.embed;
  const embedFormat = matrixFormat(weights, names.embed, quantize, false);
  let embedF32 = '';
  let x: string;
  let headShared: ReturnType<typeof nbitsGather> | null = null;
  if (embedFormat.kind === 'nbits') {
    headShared = nbitsGather(g, embedFormat.nbits(), 'input_ids', 'embed', D);
    x = headShared.out; // [1, n, D]
  } else {
    embedF32 = w(names.embed); // [vocab, D]
    x = g.op('Gather', [embedF32, 'input_ids'], { axis: 0 }); // [1, n, D]
  }
  if (names.posEmbed) x = g.op('Add', [x, g.op('Gather', [w(names.posEmbed), 'position_ids'], { axis: 0 })]);

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
  const rope = (t: string, heads: number, outName?: string): string =>
    g.msOp('RotaryEmbedding', [t, 'position_ids', cosCache, sinCache], { interleaved: 0, num_heads: heads }, outName); // [1, n, heads·HD]

  const norm = (t: string, prefix: string): string => {
    if (spec.norm === 'layer') {
      return g.op('LayerNormalization', [t, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: spec.normEps });
    }
    // RMSNorm (Zhang & Sennrich 2019): t / sqrt(mean(t²) + eps) · weight; onnxruntime fuses this pattern.
    const ms = g.op('ReduceMean', [g.op('Pow', [t, g.constFloat([2], [])]), g.constInt64([-1])], { keepdims: 1 });
    const r = g.op('Div', [t, g.op('Sqrt', [g.op('Add', [ms, g.constFloat([spec.normEps], [])])])]);
    return g.op('Mul', [r, w(`${prefix}.weight`)]);
  };

  // The layers from an early exit `from` up to `to` run inside an If on exit_layer > from (see the header).
  let segment: { from: number; x: string } | null = null;
  const emptyKv = exits.size ? g.constFloat([], [1, 0, KV * HD]) : '';
  const endSegment = (from: number, to: number, xIn: string, xOut: string): string => {
    const kv: string[] = [];
    for (let l = from; l < to; l++) kv.push(`present_key.${l}`, `present_value.${l}`);
    const run = g.endScope([xOut, ...kv.map((p) => `${p}~`)]);
    g.beginScope();
    const skip = g.endScope([g.op('Identity', [xIn]), ...kv.map(() => g.op('Identity', [emptyKv]))]);
    const cond = g.op('Greater', ['exit_layer', g.constInt64([from])]); // [1] bool
    return g.opN('If', [cond], kv.length + 1, { then_branch: { graph: run }, else_branch: { graph: skip } }, [`hidden.${to}`, ...kv])[0];
  };
  for (let l = 0; l < L; l++) {
    if (exits.has(l)) {
      if (segment) x = endSegment(segment.from, l, segment.x, x);
      segment = { from: l, x };
      g.beginScope();
    }
    const n = names.layer(l);
    const sfx = segment ? '~' : ''; // inside an If: its outputs take the plain names
    const presentK = `present_key.${l}${sfx}`;
    const presentV = `present_value.${l}${sfx}`;
    const h = norm(x, n.norm1); // [1, n, D]
    const qkvNames = [`q.${l}`, `k.${l}`, presentV]; // v is an output as it comes
    if (n.qkv) {
      const [qkv] = linear(h, [n.qkv], [n.qkvBias], `layers.${l}.qkv`); // GPT-2's fused c_attn: [1, n, 3D]
      g.opN('Split', [qkv, g.constInt64([D, D, D])], 3, { axis: 2 }, qkvNames);
    } else {
      linear(h, [n.q, n.k, n.v], [n.qBias, n.kBias, n.vBias], `layers.${l}.qkv`, qkvNames);
    }
    const [q, k] = qkvNames;
    let qr = q;
    if (spec.ropeInvFreq) {
      qr = rope(q, H); // [1, n, H·HD]
      rope(k, KV, presentK); // [1, n, KV·HD]
    } else {
      g.op('Identity', [k], {}, presentK);
    }
    let att: string; // [1, n, H·HD]
    if (!batched) {
      att = attention(l, '', qr, presentK, presentV, 'attention_bias');
    } else {
      // Per slot: its rows of q/k/v (Split by slot_rows), attention in an If on whether it has any.
      const [qs, ks, vs] = [qr, presentK, presentV].map((t) => g.opN('Split', [t, 'slot_rows'], S, { axis: 1 })); // S × [1, n_s, ·]
      const outs = slotUsed.map((used, s) => {
        g.beginScope();
        const run = g.endScope([attention(l, `.${s}`, qs[s], ks[s], vs[s], `attention_bias.${s}`)]);
        g.beginScope();
        const skip = g.endScope([g.op('Identity', [emptyAtt])]);
        return g.op('If', [used], { then_branch: { graph: run }, else_branch: { graph: skip } }); // [1, n_s, H·HD]
      });
      att = S === 1 ? outs[0] : g.op('Concat', outs, { axis: 1 });
    }
    x = g.op('Add', [x, linear(att, [n.o], [n.oBias], `layers.${l}.o`)[0]]);

    const h2 = norm(x, n.norm2);
    let act: string;
    if (n.gate) {
      // SwiGLU (Shazeer 2020): down(silu(gate(h)) · up(h))
      const [gate, up] = linear(h2, [n.gate, n.up], [n.gateBias, n.upBias], `layers.${l}.gate_up`); // [1, n, I] ×2
      act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    } else {
      act = gelu(g, linear(h2, [n.up], [n.upBias], `layers.${l}.up`)[0], spec.act);
    }
    x = g.op('Add', [x, linear(act, [n.down], [n.downBias], `layers.${l}.down`)[0]]);
    onProgress?.(l + 1, L);
  }
  if (segment) x = endSegment(segment.from, L, segment.x, x);

  const xf = norm(x, names.finalNorm);
  const rows = g.op('Gather', [xf, 'logits_rows'], { axis: 1 }); // [1, m, D]
  const headFormat = matrixFormat(weights, names.head, quantize, false);
  if (headFormat.kind === 'nbits') {
    // Tied: the embedding's matrix, already converted (its bytes are shared; converting the head again read and
    // quantized the largest matrix a second time).
    const shared = tiedHead ? headShared?.weights : undefined;
    const logits = nbitsMatMul(g, rows, [shared?.m ?? headFormat.nbits()], 'head', shared);
    g.op('Identity', [logits], {}, 'logits'); // [1, m, vocab]
  } else {
    const head = tiedHead && embedF32 ? embedF32 : w(names.head); // [vocab, D]
    g.op('MatMul', [rows, g.op('Transpose', [head], { perm: [1, 0] })], {}, 'logits'); // [1, m, vocab]
  }

  g.output('logits', 'float', [1, 'm', spec.vocabSize]);
  for (let l = 0; l < L; l++) {
    g.output(`present_key.${l}`, 'float', [1, 'n', KV * HD]);
    g.output(`present_value.${l}`, 'float', [1, 'n', KV * HD]);
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
