// A WeightSource whose matrices are what `--quantize` stores: quantized with ggml's rounding, then dequantized.
// The reference forward over it is what a quantized graph should compute.
import { weightNames } from '../../model/graph/build-decoder.ts';
import { quantizeTarget, type QuantizeMode } from '../../model/graph/weight-format.ts';
import type { ModelSpec } from '../../model/config.ts';
import { dequantize } from '../../model/quant/dequant.ts';
import { quantize } from '../../model/quant/quantize.ts';
import type { WeightSource } from '../../model/weights.ts';

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

export function quantizedWeights(spec: ModelSpec, ws: WeightSource, mode: QuantizeMode): WeightSource {
  const names = weightNames(spec, ws);
  return {
    ...ws,
    get: (name) => {
      const t = ws.get(name);
      if (t.shape.length !== 2 || name === names.posEmbed) return t; // learned positions stay f32
      // GPT-2's Conv1D weights are [in, out]: blocks run along `in`, so quantize the transpose.
      const conv1d = spec.arch === 'gpt2' && name !== names.embed;
      const [out, inF] = conv1d ? [t.shape[1], t.shape[0]] : t.shape;
      const target = quantizeTarget(mode, inF);
      if (target === null) return t;
      const rows = conv1d ? transpose(t.data, inF, out) : t.data;
      const back = dequantize(target, quantize(target, rows), rows.length);
      return { shape: t.shape, data: conv1d ? transpose(back, out, inF) : back };
    },
  };
}
