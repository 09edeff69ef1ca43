// `sprig info`: what a checkpoint is, before loading it into a session.
import type { Command } from 'commander';
import { resolveModelSource } from '../model/hub.ts';
import { openModelSource } from '../model/source.ts';

/**
 * Bytes per weight the graph holds under each --quantize mode for float tensors: f32; Q8_0 as 8-bit values plus
 * an f32 scale per 32; Q4_0 as 4-bit values plus an f32 scale per 32 (MatMulNBits keeps scales in f32).
 */
const GRAPH_BYTES_PER_WEIGHT = { none: 4, q8: 1 + 4 / 32, q4: 0.5 + 4 / 32 };

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show a checkpoint\'s architecture, size, dtype, vocabulary and context length')
    .option('--model <path>', 'Hugging Face checkpoint folder, .gguf file, or hf:OWNER/REPO[@REVISION][:QUANT] to fetch one from the Hub (default: the embedded default model)')
    .option('--json', 'print JSON')
    .action(async (flags: { model?: string; json?: boolean }) => {
      const src = openModelSource(await resolveModelSource(flags.model));
      const s = src.spec;
      const mb = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));
      const floats = Object.keys(src.typeSummary).every((k) => k === 'F32' || k === 'F16' || k === 'BF16');
      const info = {
        path: src.path,
        format: src.format,
        architecture: s.architecture,
        arch: s.arch,
        parameters: src.parameterCount,
        dtype: Object.entries(src.typeSummary).map(([k, n]) => `${k}×${n}`).join(','),
        file_mb: mb(src.fileBytes),
        // What the compiled graph holds for the weights under each --quantize (float checkpoints; a quantized
        // GGUF keeps its own types, about its file size plus f32 block scales).
        graph_weights_mb: floats
          ? Object.entries(GRAPH_BYTES_PER_WEIGHT).map(([mode, b]) => `${mode}:${mb(src.parameterCount * b)}`).join(',')
          : `~${mb(src.fileBytes)}+scales`,
        vocab: s.vocabSize,
        context_length: s.contextLength,
        layers: s.numLayers,
        hidden: s.hidden,
        heads: s.numHeads,
        kv_heads: s.numKvHeads,
        head_dim: s.headDim,
        intermediate: s.intermediate,
        tied_embeddings: s.tiedEmbeddings,
        eos_token_ids: s.eosTokenIds,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      for (const [k, v] of Object.entries(info)) process.stdout.write(`${k.padEnd(16)} ${Array.isArray(v) ? v.join(',') : v}\n`);
    });
}
