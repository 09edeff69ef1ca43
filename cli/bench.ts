// `sprig bench`: speculative decoding vs the plain baseline on prompt suites, in-process or over HTTP.
// Flags are parsed and validated here; bench/bench.ts does the work. Exit code 2 = a losslessness failure.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DRAFTER_NAMES } from '../drafters/registry.ts';
import { runBench, type BenchOptions } from '../bench/bench.ts';
import { defaultDrafterSpecs } from '../bench/configs.ts';
import { SUITES } from '../bench/workloads.ts';
import { intArg, QUANTIZE_HELP, quantizeArg, CTX_HELP } from './args.ts';

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function listOf<T>(name: string, parse: (s: string) => T) {
  return (v: string): T[] => {
    const out = list(v).map(parse);
    if (out.length === 0) throw new InvalidArgumentError(`${name} needs at least one value`);
    return out;
  };
}

const budget = (s: string): number | 'auto' => {
  if (s === 'auto') return 'auto';
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--tree-budget values must be 'auto' or integers ≥ 1, got ${JSON.stringify(s)}`);
  return n;
};

const temperature = (s: string): number => {
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < 0 || n > 2) throw new InvalidArgumentError(`--temperature values must be numbers in [0, 2], got ${JSON.stringify(s)}`);
  return n;
};

const onOff = (s: string): boolean => {
  if (s !== 'on' && s !== 'off') throw new InvalidArgumentError(`--constrain values are on and off, got ${JSON.stringify(s)}`);
  return s === 'on';
};

const concurrency = (s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--concurrency values must be integers ≥ 1, got ${JSON.stringify(s)}`);
  return n;
};

/** The flags as commander parses them: BenchOptions, except the three list flags named in the singular. */
type BenchFlags = Omit<BenchOptions, 'treeBudgets' | 'temperatures' | 'command' | 'progress'> & {
  treeBudget: (number | 'auto')[];
  temperature: number[];
  progress: boolean;
};

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark speculative decoding against the plain baseline (in-process, or --base-url for any OpenAI-compatible server)')
    .option('--model <path>', 'in-process: checkpoint folder (default: the embedded default model); with --base-url: the request\'s model name')
    .option('--draft <path>', 'in-process: draft model checkpoint for the `draft` drafter (adds it to the default sweep)')
    .option('--quantize <mode>', `in-process: ${QUANTIZE_HELP}`, quantizeArg('--quantize'), 'none')
    .option('--draft-quantize <mode>', 'in-process: the same for the draft model', quantizeArg('--draft-quantize'), 'none')
    .option('--ctx-size <n>', `in-process: ${CTX_HELP}`, intArg('--ctx-size', 0), 0)
    .option('--datastore <file>', 'in-process: token datastore for the `retrieval` drafter (sprig datastore build)')
    .option('--suffix-cache-requests <n>', 'in-process: earlier outputs the suffix drafter keeps (default 1024); each configuration learns its own, item after item', intArg('--suffix-cache-requests', 0))
    .option('--layerskip-layers <k>', 'in-process: the layerskip drafter drafts with the target\'s first K layers (default: chosen at startup by measured acceptance × cost when a configuration uses it; adds it to the default sweep)', intArg('--layerskip-layers', 1))
    .option('--suffix-cache <file>', 'in-process: a saved suffix cache (sprig serve / sprig generate --prompts … --suffix-cache) every configuration starts from; read, never written')
    .option('--recycling-state <file>', 'in-process: a saved Token Recycling matrix (sprig serve / sprig generate --prompts … --recycling-state) every configuration starts from; read, never written')
    .option('--base-url <url>', 'HTTP mode: an OpenAI-compatible server (Sprig, llama-server, vLLM, …), e.g. http://127.0.0.1:8080')
    .option('--api-key <key>', 'HTTP mode: sent as "Authorization: Bearer <key>"')
    .option('--endpoint <kind>', 'HTTP mode: completions (plain-text prompts) or chat (messages)', (v: string) => {
      if (v !== 'completions' && v !== 'chat') throw new InvalidArgumentError(`--endpoint must be completions or chat, got ${JSON.stringify(v)}`);
      return v;
    }, 'completions')
    .option('--drafters <list>', `configurations, comma-separated; '+' combines drafters (known: ${DRAFTER_NAMES.join(', ')}; HTTP also: server = the server's default). The baseline none always runs. Default: ${defaultDrafterSpecs(DRAFTER_NAMES).join(',')} (+ draft with --draft)`, list)
    .addOption(new Option('--tree-budget <list>', 'draft nodes per step, comma-separated integers or auto').argParser(listOf('--tree-budget', budget)).default(['auto'], 'auto'))
    .addOption(new Option('--temperature <list>', 'sampling temperatures, comma-separated (0 = greedy, checked for losslessness)').argParser(listOf('--temperature', temperature)).default([0], '0'))
    .addOption(new Option('--concurrency <list>', 'HTTP mode: streaming clients at once, a sweep, e.g. 1,4,16').argParser(listOf('--concurrency', concurrency)).default([1], '1'))
    .option('--constrain <list>', 'structured output: on (answers follow each prompt\'s "schema", as response_format json_schema), off, or on,off (default: on,off for --suite extraction, off otherwise)', listOf('--constrain', onOff))
    .option('--suite <name>', `project prompt suite: ${Object.keys(SUITES).join(', ')} or auto (general for chat models, stories for models without a chat template)`, 'auto')
    .option('--prompts <files>', 'JSONL prompt files instead of a suite, comma-separated (Spec-Bench question.jsonl, HumanEval, or {"prompt"} / {"turns"} lines)', list)
    .option('--categories <list>', 'only these categories', list)
    .option('--limit <n>', 'first n prompts of each category', intArg('--limit', 1))
    .option('--max-tokens <n>', 'tokens to generate per turn', intArg('--max-tokens', 1), 128)
    .option('--repeats <n>', 'measured repeats (reported as median, min–max)', intArg('--repeats', 1), 3)
    .option('--warmup <n>', 'unmeasured warm-up generations per configuration', intArg('--warmup', 0), 1)
    .option('--seed <n>', 'sampling seed (temperature > 0)', intArg('--seed', 0), 0)
    .option('--threads <n>', 'in-process: onnxruntime intra-op threads (0 = by model size: 1 below 20M parameters, else every core)', intArg('--threads', 0), 0)
    .option('--out <dir>', 'output folder (default: bench/results/<run-id>/)')
    .option('--run-id <id>', 'run id (default: date-time, mode and model)')
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal anyway)')
    .action(async (f: BenchFlags) => {
      const { treeBudget, temperature, progress, ...rest } = f;
      const opts: BenchOptions = {
        ...rest,
        treeBudgets: treeBudget,
        temperatures: temperature,
        command: ['sprig', ...process.argv.slice(2)].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' '),
        progress: progress ? undefined : false,
      };
      const outcome = await runBench(opts);
      if (outcome.exitCode) process.exitCode = outcome.exitCode;
    });
}
