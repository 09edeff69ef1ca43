// The extraction suite in-process: an item's schema compiled for the model's vocabulary, as the server compiles
// response_format {type: json_schema} (grammar/spec.ts checks it, grammar/xgrammar.ts compiles and caches it).
import { errors } from '../common/errors.ts';
import type { ConstraintRequest } from '../engine/constraint.ts';
import { grammarSpecOf } from '../grammar/spec.ts';
import { bannedTokens, vocabInfo } from '../grammar/vocab.ts';
import { compileGrammar } from '../grammar/xgrammar.ts';
import type { ModelRunner } from '../model/runner.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { WorkloadItem } from './types.ts';

export type ConstraintFor = (item: WorkloadItem) => Promise<ConstraintRequest>;

export function itemConstraints(runner: ModelRunner, tokenizer: Tokenizer): ConstraintFor {
  const info = vocabInfo(tokenizer, runner.compileInfo.modelPath, runner.vocab);
  return async (item) => {
    if (!item.schema) throw errors.invalidParam(`--constrain on: item ${item.id} has no "schema" (use --suite extraction or prompts with a schema per line)`);
    const spec = grammarSpecOf({ response_format: { type: 'json_schema', json_schema: { name: item.id, schema: item.schema, strict: true } } })!;
    return { grammar: await compileGrammar(info, spec), banned: bannedTokens(info, spec) };
  };
}
