// Argument parsers and help texts the subcommands share: they reject bad values instead of passing NaN along.
import { InvalidArgumentError } from 'commander';
import { QUANTIZE_MODES, type QuantizeMode } from '../model/graph/weight-format.ts';

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

/** A switch given as on or off (--engine-thread on). */
export function onOffArg(flag: string) {
  return (v: string): boolean => {
    if (v !== 'on' && v !== 'off') throw new InvalidArgumentError(`${flag} must be on or off, got ${JSON.stringify(v)}`);
    return v === 'on';
  };
}

/** --quantize / --draft-quantize: none, q8 or q4. */
export function quantizeArg(flag: string) {
  return (v: string): QuantizeMode => {
    if (!(QUANTIZE_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${QUANTIZE_MODES.join(', ')}, got ${JSON.stringify(v)}`);
    return v as QuantizeMode;
  };
}

export const QUANTIZE_HELP = 'store float weights quantized in the graph: none (f32; f16/bf16 are widened, 2× their file size), q8 (Q8_0, ~1.06 bytes per weight), q4 (Q4_0, head Q6_K, ~0.6 bytes per weight); quantized GGUF tensors keep their own type';

export const CTX_HELP = 'context window in tokens (0 = the model\'s own, capped at 16384: the graph\'s rotary tables and the KV bound grow with it)';
