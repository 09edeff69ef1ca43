// `sprig generate`: one completion from the command line; --json prints one JSON object as the last line.
// --prompts FILES: batch mode, every prompt of JSONL files through one engine (drafter state learns across them,
// as on a running server), one JSON line per generation; the way to build warm drafter state for `sprig bench`.
import path from 'node:path';
import type { Command } from 'commander';
import { errors, isSprigError } from '../common/errors.ts';
import { loadEngine, type LoadedEngine } from '../engine/load.ts';
import { decodeAfter, IncrementalDetokenizer } from '../model/detokenizer.ts';
import { generate, type GenerateRequest } from '../engine/generate.ts';
import { DEFAULT_DRAFTERS, DRAFTER_NAMES, parseDrafters } from '../drafters/registry.ts';
import { DEFAULT_SUFFIX_CACHE_REQUESTS } from '../drafters/suffix-cache.ts';
import { budgetArg, floatArg, intArg, QUANTIZE_HELP, quantizeArg, CTX_HELP } from './args.ts';
import type { QuantizeMode } from '../model/graph/weight-format.ts';
import { layerskipSetting } from '../engine/layerskip-layers.ts';
import { encodeTurn, fitItems } from '../bench/run-inprocess.ts';
import { loadPromptFile, selectItems } from '../bench/workloads.ts';
import type { WorkloadItem } from '../bench/types.ts';

interface GenerateFlags {
  model?: string;
  prompt?: string;
  prompts?: string[];
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
    .description('generate a completion for a prompt, or for every prompt of JSONL files (--prompts: builds warm drafter state for sprig bench)')
    .option('--model <path>', 'Hugging Face checkpoint folder, .gguf file, or hf:OWNER/REPO[:QUANT] (default: the embedded default model)')
    .option('--draft <path>', 'draft model (folder, .gguf or hf:…) for the `draft` drafter (same vocabulary as --model)')
    .option('--quantize <mode>', QUANTIZE_HELP, quantizeArg('--quantize'), 'none')
    .option('--draft-quantize <mode>', 'the same for the draft model', quantizeArg('--draft-quantize'), 'none')
    .option('--ctx-size <n>', CTX_HELP, intArg('--ctx-size', 0), 0)
    .option('--datastore <file>', 'token datastore for the `retrieval` drafter (sprig datastore build)')
    .option('--recycling-state <file>', 'keep Token Recycling\'s matrix in this file: loaded at start, saved at exit')
    .option('--suffix-cache <file>', 'keep the suffix drafter\'s cache of earlier outputs in this file: loaded at start, saved at exit')
    .option('--suffix-cache-requests <n>', 'earlier outputs the suffix drafter keeps, least recently used forgotten first', intArg('--suffix-cache-requests', 0), DEFAULT_SUFFIX_CACHE_REQUESTS)
    .option('--prompt <text>', 'prompt text (this or --prompts is required)')
    .option('--prompts <files>', 'batch mode instead of --prompt: JSONL prompt files, comma-separated, in the formats sprig bench --prompts reads (Spec-Bench question.jsonl, HumanEval, {"prompt"} / {"turns"} lines), run one after another through one engine so cross-request drafter state (--suffix-cache, --recycling-state) learns across them; every turn of an item in order, each after the model\'s answer to the one before (as sprig bench does); one JSON line per turn on stdout, prompts that do not fit the context window skipped with a warning', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
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
      if ((flags.prompt === undefined) === (flags.prompts === undefined)) {
        throw errors.invalidParam(flags.prompt === undefined ? 'sprig generate needs --prompt TEXT (one completion) or --prompts FILES (a batch)' : '--prompt and --prompts cannot be given together: --prompt TEXT for one completion, --prompts FILES for a batch', 'prompt');
      }
      const drafters = parseDrafters(flags.drafters, '--drafters');
      if (drafters.includes('draft') && !flags.draft) throw errors.invalidParam('--drafters draft needs --draft PATH', 'draft');
      // Batch prompts are read before the model loads, so a bad file fails at once.
      const items = flags.prompts ? loadPrompts(flags.prompts) : null;
      const engine = await loadEngine({ model: flags.model, draft: flags.draft, quantize: flags.quantize, draftQuantize: flags.draftQuantize, ctxSize: flags.ctxSize, datastore: flags.datastore, recyclingState: flags.recyclingState, suffixCache: flags.suffixCache, suffixCacheRequests: flags.suffixCacheRequests, threads: flags.threads, layerskip: layerskipSetting(drafters, flags.layerskipLayers) });
      const { runner, tokenizer } = engine;
      const ds = engine.resources.datastore;
      if (ds) process.stderr.write(`[sprig] datastore ${flags.datastore}: ${ds.numDocs} documents, ${ds.tokens.length} tokens, ${ds.fileBytes} bytes\n`);
      if (items) {
        // Ctrl-C or SIGTERM stops the batch after the current generation, so what was learned is saved at exit;
        // a second one quits at once.
        const signal = { received: null as NodeJS.Signals | null };
        const onSignal = (sig: NodeJS.Signals) => {
          if (signal.received) process.exit(130);
          signal.received = sig;
          process.stderr.write(`[sprig] ${sig}: stopping after the current generation${flags.suffixCache || flags.recyclingState ? ', then saving the drafter state' : ''} (again to quit at once)\n`);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          await generateBatch(engine, items, flags, drafters, () => signal.received !== null);
        } catch (e) {
          // What was learned before the error is kept: dispose saves --suffix-cache / --recycling-state.
          if (flags.suffixCache || flags.recyclingState) process.stderr.write('[sprig] stopped by an error: saving the drafter state learned so far\n');
          await engine.dispose().catch((d: unknown) => process.stderr.write(`[sprig] could not save the drafter state: ${(d as Error).message}\n`));
          throw e;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        await engine.dispose();
        if (signal.received) process.exitCode = 130;
        return;
      }
      const promptTokens = tokenizer.encode(flags.prompt!);
      const detok = new IncrementalDetokenizer(tokenizer, { context: promptTokens });
      const result = await generate(
        runner,
        requestFor(promptTokens, flags, drafters, tokenizer.eosIds),
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

/** One generation's request from the command's flags (single prompt and batch alike). */
function requestFor(promptTokens: number[], flags: GenerateFlags, drafters: string[], eosIds: readonly number[]): GenerateRequest {
  return {
    promptTokens,
    maxTokens: flags.maxTokens,
    sampling: { temperature: flags.temperature, topK: flags.topK, topP: flags.topP, seed: flags.seed },
    eosIds: eosIds.length ? [...eosIds] : undefined,
    drafters,
    treeBudget: flags.treeBudget,
    maxTreeTokens: flags.maxTreeTokens,
  };
}

/** Every item of the --prompts files, in file order, ids made unique across files (as sprig bench does). */
function loadPrompts(files: string[]): WorkloadItem[] {
  if (files.length === 0) throw errors.invalidParam('--prompts needs at least one file', 'prompts');
  return selectItems(files.flatMap((f) => loadPromptFile(path.resolve(f))), {});
}

/**
 * Batch mode: the items one after another through one engine and its drafter resources, so the suffix cache and
 * Token Recycling's matrix learn across them as on a running server. Each turn's prompt is built as sprig bench
 * builds it (bench/run-inprocess.ts encodeTurn: a {"prompt"} line verbatim, as --prompt; turns through the chat
 * template, or a User:/Assistant: transcript without one), a later turn after the model's answer to the one before.
 * One JSON line per generation on stdout; progress and a summary on stderr.
 */
async function generateBatch(engine: LoadedEngine, items: WorkloadItem[], flags: GenerateFlags, drafters: string[], stopRequested: () => boolean): Promise<void> {
  const { runner, tokenizer } = engine;
  const err = (line: string) => process.stderr.write(`[sprig] ${line}\n`);
  const t0 = performance.now();
  const skipped: string[] = [];
  let done = 0;
  let generations = 0;
  let tokens = 0;
  let steps = 0;
  let accepted = 0;
  for (const [n, item] of items.entries()) {
    if (stopRequested()) break;
    // The same bound sprig bench drops items by: the last turn's prompt plus --max-tokens for every answer.
    if (fitItems(runner, tokenizer, [item], flags.maxTokens).items.length === 0) {
      const need = encodeTurn(tokenizer, item, [], 0).length;
      err(`warning: skipping ${item.id}: ${need} prompt tokens${item.turns.length > 1 ? ` (first of ${item.turns.length} turns)` : ''} and --max-tokens ${flags.maxTokens} per turn do not fit the context window of ${runner.contextLength} tokens`);
      skipped.push(item.id);
      continue;
    }
    const answers: string[] = [];
    let itemTokens = 0;
    for (let turn = 0; turn < item.turns.length && !stopRequested(); turn++) {
      const promptTokens = encodeTurn(tokenizer, item, answers, turn);
      let result;
      try {
        result = await generate(
          runner,
          requestFor(promptTokens, flags, drafters, tokenizer.eosIds),
          undefined,
          engine.resources,
        );
      } catch (e) {
        // A later turn can outgrow the estimate above (answers re-tokenise): the request is refused before it
        // starts, so no drafter state was touched; the item's remaining turns are skipped.
        if (!(isSprigError(e) && e.code === 'SPRIG_ERR_CONTEXT_OVERFLOW')) throw e;
        err(`warning: skipping ${item.id} from turn ${turn + 1} of ${item.turns.length}: ${e.message}`);
        break;
      }
      const text = decodeAfter(tokenizer, promptTokens, result.tokens);
      answers.push(text);
      const line = {
        id: item.id,
        turn,
        prompt_token_count: promptTokens.length,
        text,
        tokens: result.tokens,
        finish_reason: result.finishReason,
        timings: result.timings,
        speculation: result.speculation,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      generations++;
      itemTokens += result.tokens.length;
      steps += result.speculation?.steps ?? 0;
      accepted += result.speculation?.accepted ?? 0;
    }
    if (answers.length) done++;
    tokens += itemTokens;
    err(`${n + 1}/${items.length} ${item.id}: ${answers.length} turn(s), ${itemTokens} tokens`);
  }
  if (done === 0 && !stopRequested()) process.exitCode = 1; // nothing generated: every prompt was skipped
  const secs = (performance.now() - t0) / 1000;
  const mal = steps > 0 ? ` mean accepted length ${((accepted + steps) / steps).toFixed(2)},` : '';
  const suffix = engine.resources.suffixCache;
  err(`${stopRequested() ? 'interrupted' : 'done'}: ${done} of ${items.length} prompt(s), ${generations} generation(s), ${tokens} tokens in ${secs.toFixed(1)} s,${mal} ${skipped.length} skipped${skipped.length ? ` (${skipped.slice(0, 8).join(', ')}${skipped.length > 8 ? ', …' : ''})` : ''}; suffix cache: ${suffix?.numRequests ?? 0} output(s)`);
}
