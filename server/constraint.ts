// Structured output for a request: its grammar spec compiled for the served model's vocabulary (cached per
// vocabulary and spec in grammar/xgrammar.ts), with the tokens JSON bans, as the engine's ConstraintRequest.
import type { ConstraintRequest } from '../engine/constraint.ts';
import { bannedTokens, vocabInfo } from '../grammar/vocab.ts';
import { compileGrammar, type GrammarSpec } from '../grammar/xgrammar.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

/** modelKey: the model's identity (its graph's path); width: its logits' row length. Runs where the engine runs. */
export async function constraintFor(tokenizer: Tokenizer, modelKey: string, width: number, spec: GrammarSpec): Promise<ConstraintRequest> {
  const info = vocabInfo(tokenizer, modelKey, width);
  return { grammar: await compileGrammar(info, spec), banned: bannedTokens(info, spec) };
}
