// `sprig profile`: where one forward's time goes, op by op (onnxruntime's profiler), for a model and quantization.
import type { Command } from 'commander';
import { profileForwards } from '../bench/profile.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';
import { resolveModelSource } from '../model/hub.ts';
import { CTX_HELP, intArg, QUANTIZE_HELP, quantizeArg } from './args.ts';

interface ProfileFlags { model?: string; ctxSize: number; quantize: QuantizeMode; threads: number; prefix: number; sizes: string; runs: number; json?: boolean }

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description('profile forwards over n tokens op by op: matrix products, attention, the rest, and the JavaScript around run()')
    .option('--model <path>', 'checkpoint folder, .gguf file, or hf:OWNER/REPO[:QUANT] (default: the embedded default model)')
    .option('--quantize <mode>', QUANTIZE_HELP, quantizeArg('--quantize'), 'none')
    .option('--threads <n>', 'onnxruntime intra-op threads (0 = by model size)', intArg('--threads', 0), 0)
    .option('--ctx-size <n>', CTX_HELP, intArg('--ctx-size', 0), 0)
    .option('--prefix <n>', 'committed tokens before the measured forwards', intArg('--prefix', 1), 128)
    .option('--sizes <list>', 'tokens per forward, comma-separated', '1,4,16')
    .option('--runs <n>', 'measured forwards per size', intArg('--runs', 1), 50)
    .option('--json', 'print JSON')
    .action(async (f: ProfileFlags) => {
      const sizes = f.sizes.split(',').map((s) => intArg('--sizes', 1)(s.trim()));
      const model = await resolveModelSource(f.model);
      const out = await profileForwards({ model, contextLength: f.ctxSize, quantize: f.quantize, threads: f.threads, prefix: f.prefix, sizes, runs: f.runs });
      if (f.json) {
        process.stdout.write(`${JSON.stringify(out)}\n`);
        return;
      }
      process.stdout.write(`model ${model} quantize ${f.quantize} threads ${out.threads} prefix ${f.prefix}; ms per forward: median wall time of runner.forward, onnxruntime's model_run, the JS and binding around it, per-op kernel sums, and onnxruntime's time between kernels\n`);
      process.stdout.write(`${['n', 'wall', 'ort run', 'JS+binding', 'matmul', 'attention', 'other ops', 'between ops', 'top other ops'].join('\t')}\n`);
      for (const r of out.rows) {
        const other = Object.entries(r.ops).filter(([op]) => !['MatMulNBits', 'MatMul', 'Attention'].includes(op)).sort((a, b) => b[1] - a[1]).slice(0, 4);
        process.stdout.write(`${[r.n, r.wall_ms.toFixed(3), r.ort_ms.toFixed(3), (r.wall_ms - r.ort_ms).toFixed(3), r.groups.matmul.toFixed(3), r.groups.attention.toFixed(3), r.groups.other.toFixed(3), (r.ort_ms - r.groups.matmul - r.groups.attention - r.groups.other).toFixed(3), other.map(([op, ms]) => `${op} ${ms.toFixed(3)}`).join(', ')].join('\t')}\n`);
      }
    });
}
