// Test-only reference forward pass in plain TypeScript (naive loops, float64), for llama / qwen2 / gpt2.
// Given tokens, their positions and who-may-attend-whom, it returns logits for every token.
import { weightNames } from '../../model/graph/build-decoder.ts';
import type { ModelSpec } from '../../model/config.ts';
import { openModelSource } from '../../model/source.ts';
import type { WeightSource } from '../../model/weights.ts';

type Vec = Float64Array;

/** `model`: a checkpoint folder or .gguf file, or a spec with the weights to use (e.g. quantized-dequantized). */
export function referenceForward(model: string | { spec: ModelSpec; weights: WeightSource }, tokens: number[], positions: number[], canAttend: (i: number, j: number) => boolean): Float64Array[] {
  const src = typeof model === 'string' ? openModelSource(model) : model;
  const spec = src.spec;
  const ws = src.weights;
  const names = weightNames(spec, ws);
  const W = (name: string) => Float64Array.from(ws.get(name).data);
  const { hidden: D, numHeads: H, numKvHeads: KV, headDim: HD, numLayers: L } = spec;
  const n = tokens.length;
  const gpt2 = spec.arch === 'gpt2';

  // y = x·Wᵀ (+b): HF Linear W is [out, in]; GPT-2 Conv1D W is [in, out].
  const linear = (x: Vec, w: Vec, b: Vec | null, inF: number, outF: number): Vec => {
    const y = new Float64Array(outF);
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[i] * (gpt2 ? w[i * outF + o] : w[o * inF + i]);
      y[o] = s;
    }
    return y;
  };
  const norm = (x: Vec, prefix: string): Vec => {
    const w = W(`${prefix}.weight`);
    const y = new Float64Array(D);
    if (spec.norm === 'rms') {
      let ms = 0;
      for (let i = 0; i < D; i++) ms += x[i] * x[i];
      const r = 1 / Math.sqrt(ms / D + spec.normEps);
      for (let i = 0; i < D; i++) y[i] = x[i] * r * w[i];
    } else {
      const b = W(`${prefix}.bias`);
      let mean = 0;
      for (let i = 0; i < D; i++) mean += x[i];
      mean /= D;
      let v = 0;
      for (let i = 0; i < D; i++) v += (x[i] - mean) ** 2;
      const r = 1 / Math.sqrt(v / D + spec.normEps);
      for (let i = 0; i < D; i++) y[i] = (x[i] - mean) * r * w[i] + b[i];
    }
    return y;
  };
  const rope = (v: Vec, heads: number, pos: number) => {
    const inv = spec.ropeInvFreq;
    if (!inv) return;
    for (let h = 0; h < heads; h++) {
      const o = h * HD;
      for (let i = 0; i < HD / 2; i++) {
        const a = pos * inv[i];
        const c = Math.cos(a);
        const s = Math.sin(a);
        const x1 = v[o + i];
        const x2 = v[o + i + HD / 2];
        v[o + i] = x1 * c - x2 * s;
        v[o + i + HD / 2] = x2 * c + x1 * s;
      }
    }
  };

  const embed = W(names.embed);
  const posEmbed = names.posEmbed ? W(names.posEmbed) : null;
  let xs: Vec[] = tokens.map((t, i) => {
    const x = embed.slice(t * D, (t + 1) * D);
    if (posEmbed) for (let d = 0; d < D; d++) x[d] += posEmbed[positions[i] * D + d];
    return x;
  });

  const opt = (name: string | null) => (name ? W(name) : null);
  for (let l = 0; l < L; l++) {
    const nm = names.layer(l);
    const qs: Vec[] = [];
    const ks: Vec[] = [];
    const vs: Vec[] = [];
    for (let t = 0; t < n; t++) {
      const h = norm(xs[t], nm.norm1);
      let q: Vec;
      let k: Vec;
      let v: Vec;
      if (nm.qkv) {
        const qkv = linear(h, W(nm.qkv), opt(nm.qkvBias), D, 3 * D);
        q = qkv.slice(0, D);
        k = qkv.slice(D, 2 * D);
        v = qkv.slice(2 * D);
      } else {
        q = linear(h, W(nm.q), opt(nm.qBias), D, H * HD);
        k = linear(h, W(nm.k), opt(nm.kBias), D, KV * HD);
        v = linear(h, W(nm.v), opt(nm.vBias), D, KV * HD);
      }
      rope(q, H, positions[t]);
      rope(k, KV, positions[t]);
      qs.push(q);
      ks.push(k);
      vs.push(v);
    }
    const next: Vec[] = [];
    for (let t = 0; t < n; t++) {
      const ctx = new Float64Array(H * HD);
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor(h / (H / KV));
        const scores: number[] = [];
        const idx: number[] = [];
        for (let j = 0; j < n; j++) {
          if (!canAttend(t, j)) continue;
          let s = 0;
          for (let d = 0; d < HD; d++) s += qs[t][h * HD + d] * ks[j][kvh * HD + d];
          scores.push(s / Math.sqrt(HD));
          idx.push(j);
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let a = 0; a < idx.length; a++) {
          for (let d = 0; d < HD; d++) ctx[h * HD + d] += (e[a] / z) * vs[idx[a]][kvh * HD + d];
        }
      }
      const o = linear(ctx, W(nm.o), opt(nm.oBias), H * HD, D);
      const x = xs[t].map((v, d) => v + o[d]);
      const h2 = norm(x, nm.norm2);
      let mlp: Vec;
      const I = spec.intermediate;
      if (nm.gate) {
        const g = linear(h2, W(nm.gate), opt(nm.gateBias), D, I);
        const u = linear(h2, W(nm.up), opt(nm.upBias), D, I);
        const a = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
        mlp = linear(a, W(nm.down), opt(nm.downBias), I, D);
      } else {
        const u = linear(h2, W(nm.up), opt(nm.upBias), D, I);
        const a = u.map((z) => (spec.act === 'gelu' ? 0.5 * z * (1 + erf(z / Math.SQRT2)) : 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)))));
        mlp = linear(a, W(nm.down), opt(nm.downBias), I, D);
      }
      next.push(x.map((v, d) => v + mlp[d]));
    }
    xs = next;
  }
  const head = W(names.head); // [vocab, D]
  return xs.map((x) => {
    const h = norm(x, names.finalNorm);
    const out = new Float64Array(spec.vocabSize);
    for (let v = 0; v < spec.vocabSize; v++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += h[d] * head[v * D + d];
      out[v] = s;
    }
    return out;
  });
}

// Abramowitz–Stegun 7.1.26 is too coarse for 1e-4; use a series / continued fraction instead.
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let k = 1; k < 80; k++) {
      term *= (-ax * ax) / k;
      sum += term / (2 * k + 1);
    }
    return (sign * 2 * sum) / Math.sqrt(Math.PI);
  }
  return sign * (1 - Math.exp(-ax * ax) / (ax * Math.sqrt(Math.PI)) * (1 - 1 / (2 * ax * ax)));
}
