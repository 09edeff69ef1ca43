// `sprig info`: what a checkpoint is, before loading it into a session.
import type { Command } from 'commander';
import { loadCheckpoint, parameterCount } from '../model/checkpoint.ts';
import { resolveModelSource } from '../model/hub.ts';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show a checkpoint\'s architecture, size, dtype, vocabulary and context length')
    .option('--model <path>', 'Hugging Face checkpoint folder, or hf:OWNER/REPO[@REVISION] to fetch one from the Hub (default: the embedded default model)')
    .option('--json', 'print JSON')
    .action(async (flags: { model?: string; json?: boolean }) => {
      const ckpt = loadCheckpoint(await resolveModelSource(flags.model));
      const s = ckpt.spec;
      const info = {
        path: ckpt.dir,
        architecture: s.architecture,
        arch: s.arch,
        parameters: parameterCount(ckpt),
        dtype: [...new Set([...ckpt.tensors.values()].map((t) => t.dtype))].join(','),
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
