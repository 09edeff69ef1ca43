// `sprig` command line: generate, info, make-test-model, serve. Flags are validated here and fail loudly.
import { Command } from 'commander';
import { isSprigError } from '../common/errors.ts';
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
