// `sprig` command line: generate, info, make-test-model, serve. Flags are validated here and fail loudly.
import { Command, InvalidArgumentError } from 'commander';
import { isSprigError } from '../common/errors.ts';
import { QUANTIZE_MODES, type QuantizeMode } from '../model/graph/weight-format.ts';
import { registerDatastore } from './datastore.ts';
import { registerBench } from './bench.ts';
import { registerGenerate } from './generate.ts';
import { registerInfo } from './info.ts';
import { registerMakeTestModel } from './make-test-model.ts';
import { registerProfile } from './profile.ts';
import { registerServe } from './serve.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('sprig')
    .description('Sprig: a speculative-decoding LLM inference server')
    .showHelpAfterError()
    .exitOverride();
  registerDatastore(program);
  registerBench(program);
  registerGenerate(program);
  registerInfo(program);
  registerMakeTestModel(program);
  registerProfile(program);
  registerServe(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      process.exitCode = err.exitCode ?? 1;
      return;
    }
    process.stderr.write(`sprig: ${isSprigError(e) ? `${e.message} [${e.code}]` : (e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}

/** commander parsers that reject bad numbers instead of passing NaN along. */
export function intArg(name: string, min = -Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function floatArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return n;
  };
}

/** --tree-budget: 'auto' or a non-negative integer. */
export function budgetArg(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  return intArg('--tree-budget', 0)(v);
}

/** --quantize / --draft-quantize: none, q8 or q4. */
export function quantizeArg(flag: string) {
  return (v: string): QuantizeMode => {
    if (!(QUANTIZE_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${QUANTIZE_MODES.join(', ')}, got ${JSON.stringify(v)}`);
    return v as QuantizeMode;
  };
}

export const QUANTIZE_HELP = 'store float weights quantized in the graph: none (f32; f16/bf16 are widened, 2× their file size), q8 (Q8_0, ~1.06 bytes per weight), q4 (Q4_0, head Q6_K, ~0.6 bytes per weight); quantized GGUF tensors keep their own type';
