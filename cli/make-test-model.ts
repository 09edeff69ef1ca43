// `sprig make-test-model`: a deterministic random-weight checkpoint for tests and benchmarks.
import type { Command } from 'commander';
import { makeTestModel, type TestModelOptions } from '../model/make-test-model.ts';
import { intArg } from './args.ts';

/** The options as flags: --out added, --context for contextLength. */
type Flags = Omit<TestModelOptions, 'contextLength' | 'tiedEmbeddings'> & { out: string; seed: number; context?: number };

export function registerMakeTestModel(program: Command): void {
  program
    .command('make-test-model')
    .description('write a deterministic random-weight checkpoint (HF format with tokenizer.json, or a GGUF file)')
    .requiredOption('--arch <arch>', 'llama | qwen2 | gpt2')
    .requiredOption('--out <path>', 'output folder (HF) or .gguf file (--format gguf)')
    .option('--seed <n>', 'random seed', intArg('--seed', 0), 0)
    .option('--layers <n>', 'transformer layers', intArg('--layers', 1))
    .option('--hidden <n>', 'hidden size', intArg('--hidden', 2))
    .option('--heads <n>', 'attention heads', intArg('--heads', 1))
    .option('--kv-heads <n>', 'key/value heads (GQA)', intArg('--kv-heads', 1))
    .option('--vocab <n>', 'vocabulary size', intArg('--vocab', 1))
    .option('--intermediate <n>', 'MLP size', intArg('--intermediate', 1))
    .option('--context <n>', 'context length', intArg('--context', 8))
    .option('--dtype <dtype>', 'float32 | float16 | bfloat16', 'float32')
    .option('--format <format>', 'hf | gguf', 'hf')
    .option('--quant <type>', 'GGUF matrix type: f32 | f16 | q8_0 | q4_0 | q4_k | q5_k | q6_k (with --format gguf)', 'f32')
    .action((f: Flags) => {
      makeTestModel(f.out, {
        arch: f.arch, seed: f.seed, layers: f.layers, hidden: f.hidden, heads: f.heads, kvHeads: f.kvHeads,
        vocab: f.vocab, intermediate: f.intermediate, contextLength: f.context, dtype: f.dtype, format: f.format, quant: f.quant,
      });
      process.stdout.write(`wrote ${f.arch} test model to ${f.out}${f.format === 'gguf' ? ` (GGUF, ${f.quant})` : ''}\n`);
    });
}
