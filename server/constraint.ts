// Structured output for a request: its grammar spec compiled for the served model's vocabulary (cached per
// vocabulary and spec in grammar/xgrammar.ts), with the tokens JSON bans, as the engine's ConstraintRequest.
import type { ConstraintRequest } from '../engine/constraint.ts';
import { bannedTokens, vocabInfo } from '../grammar/vocab.ts';
import { compileGrammar, type GrammarSpec } from '../grammar/xgrammar.ts';
import type { Engine } from './engine.ts';

export async function compileConstraint(engine: Engine, spec: GrammarSpec): Promise<ConstraintRequest> {
  const info = vocabInfo(engine.tokenizer, engine.runner.compileInfo.modelPath, engine.runner.vocab);
  return { grammar: await compileGrammar(info, spec), banned: bannedTokens(info, spec) };
}
