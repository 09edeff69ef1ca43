// `sprig generate`: one completion from the command line; --json prints one JSON object as the last line.
import type { Command } from 'commander';
import { errors } from '../common/errors.ts';
import { loadEngine } from '../engine/load.ts';
import { decodeAfter, IncrementalDetokenizer } from '../model/detokenizer.ts';
import { generate } from '../engine/generate.ts';
import { DEFAULT_DRAFTERS, DRAFTER_NAMES, parseDrafters } from '../drafters/registry.ts';
import { DEFAULT_SUFFIX_CACHE_REQUESTS } from '../drafters/suffix-cache.ts';
import { budgetArg, floatArg, intArg, QUANTIZE_HELP, quantizeArg, CTX_HELP } from './args.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';
import { layerskipSetting } from '../engine/layerskip-layers.ts';

interface GenerateFlags {
  model?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  json?: boolean;
  threads: number;
  drafters: string;
  treeBudget: number | 'auto';
  maxTreeTokens?: number;
  draft?: string;
  datastore?: string;
  recyclingState?: string;
  suffixCache?: string;
  suffixCacheRequests: number;
  quantize: QuantizeMode;
  draftQuantize: QuantizeMode;
  ctxSize: number;
  layerskipLayers?: number;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate a completion for a prompt')
    .option('--model <path>', 'Hugging Face checkpoint folder, .gguf file, or hf:OWNER/REPO[:QUANT] (default: the embedded default model)')
    .option('--draft <path>', 'draft model (folder, .gguf or hf:…) for the `draft` drafter (same vocabulary as --model)')
    .option('--quantize <mode>', QUANTIZE_HELP, quantizeArg('--quantize'), 'none')
    .option('--draft-quantize <mode>', 'the same for the draft model', quantizeArg('--draft-quantize'), 'none')
    .option('--ctx-size <n>', CTX_HELP, intArg('--ctx-size', 0), 0)
    .option('--datastore <file>', 'token datastore for the `retrieval` drafter (sprig datastore build)')
    .option('--recycling-state <file>', 'keep Token Recycling\'s matrix in this file: loaded at start, saved at exit')
    .option('--suffix-cache <file>', 'keep the suffix drafter\'s cache of earlier outputs in this file: loaded at start, saved at exit')
    .option('--suffix-cache-requests <n>', 'earlier outputs the suffix drafter keeps, least recently used forgotten first', intArg('--suffix-cache-requests', 0), DEFAULT_SUFFIX_CACHE_REQUESTS)
    .requiredOption('--prompt <text>', 'prompt text')
    .option('--max-tokens <n>', 'tokens to generate', intArg('--max-tokens', 1), 64)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', floatArg('--temperature', 0, 2), 0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', intArg('--top-k', 0), 0)
    .option('--top-p <p>', 'nucleus sampling mass (1 = off)', floatArg('--top-p', 0.000001, 1), 1)
    .option('--seed <s>', 'random seed for reproducible sampling', intArg('--seed', 0))
    .option('--threads <n>', 'onnxruntime intra-op threads (0 = by model size: 1 below 20M parameters, else every core)', intArg('--threads', 0), 0)
    .option('--drafters <list>', `comma-separated drafters: ${DRAFTER_NAMES.join(', ')}`, DEFAULT_DRAFTERS.join(','))
    .option('--tree-budget <auto|n>', 'draft tokens verified per step: auto sizes each tree for this machine', budgetArg, 'auto')
    .option('--layerskip-layers <k>', 'the layerskip drafter drafts with the target\'s first K layers (default: chosen at startup by measured acceptance × cost)', intArg('--layerskip-layers', 1))
    .option('--max-tree-tokens <n>', 'hard cap on draft tokens per step', intArg('--max-tree-tokens', 0))
    .option('--json', 'print one JSON object (last line of stdout) instead of streaming text')
    .action(async (flags: GenerateFlags) => {
      const drafters = parseDrafters(flags.drafters, '--drafters');
      if (drafters.includes('draft') && !flags.draft) throw errors.invalidParam('--drafters draft needs --draft PATH', 'draft');
      const engine = await loadEngine({ model: flags.model, draft: flags.draft, quantize: flags.quantize, draftQuantize: flags.draftQuantize, ctxSize: flags.ctxSize, datastore: flags.datastore, recyclingState: flags.recyclingState, suffixCache: flags.suffixCache, suffixCacheRequests: flags.suffixCacheRequests, threads: flags.threads, layerskip: layerskipSetting(drafters, flags.layerskipLayers) });
      const { runner, tokenizer } = engine;
      const ds = engine.resources.datastore;
      if (ds) process.stderr.write(`[sprig] datastore ${flags.datastore}: ${ds.numDocs} documents, ${ds.tokens.length} tokens, ${ds.fileBytes} bytes\n`);
      const promptTokens = tokenizer.encode(flags.prompt);
      const detok = new IncrementalDetokenizer(tokenizer, { context: promptTokens });
      const result = await generate(
        runner,
        {
          promptTokens,
          maxTokens: flags.maxTokens,
          sampling: { temperature: flags.temperature, topK: flags.topK, topP: flags.topP, seed: flags.seed },
          eosIds: tokenizer.eosIds.length ? tokenizer.eosIds : undefined,
          drafters,
          treeBudget: flags.treeBudget,
          maxTreeTokens: flags.maxTreeTokens,
        },
        flags.json ? undefined : (toks) => {
          for (const t of toks) process.stdout.write(detok.push(t));
        },
        engine.resources,
      );
      if (flags.json) {
        const out = {
          text: decodeAfter(tokenizer, promptTokens, result.tokens),
          tokens: result.tokens,
          prompt_tokens: promptTokens,
          finish_reason: result.finishReason,
          timings: result.timings,
          speculation: result.speculation,
        };
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        process.stdout.write(`${detok.flush()}\n`);
        const t = result.timings;
        process.stderr.write(`[sprig] ${result.tokens.length} tokens, prefill ${t.prefill_ms.toFixed(1)} ms, decode ${t.decode_ms.toFixed(1)} ms, ${t.tokens_per_s.toFixed(1)} tokens/s, finish ${result.finishReason}\n`);
      }
      await engine.dispose();
    });
}
