// Draft and target must share one vocabulary: same size, same special ids, same token strings.
// Checked once at startup; the error names the first difference.
import { errors } from '../common/errors.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

export interface VocabSide {
  name: string;
  /** Rows of the embedding / logits. */
  vocabSize: number;
  tokenizer: Tokenizer;
}

export function checkSameVocabulary(target: VocabSide, draft: VocabSide): void {
  const fail = (what: string) => {
    throw errors.vocabMismatch(`draft model ${draft.name} and target ${target.name} do not share a vocabulary: ${what}`, 'draft');
  };
  if (draft.vocabSize !== target.vocabSize) fail(`vocab_size ${draft.vocabSize} vs ${target.vocabSize}`);
  const tv = target.tokenizer.vocabSize;
  const dv = draft.tokenizer.vocabSize;
  if (tv !== dv) fail(`tokenizer sizes ${dv} vs ${tv}`);
  if (draft.tokenizer.bosId !== target.tokenizer.bosId) fail(`bos id ${draft.tokenizer.bosId} vs ${target.tokenizer.bosId}`);
  const te = [...target.tokenizer.eosIds].sort((a, b) => a - b).join(',');
  const de = [...draft.tokenizer.eosIds].sort((a, b) => a - b).join(',');
  if (te !== de) fail(`eos ids [${de}] vs [${te}]`);
  for (let id = 0; id < tv; id++) {
    const a = target.tokenizer.tokenString(id);
    const b = draft.tokenizer.tokenString(id);
    if (a !== b) fail(`token ${id} is ${JSON.stringify(b)} in the draft and ${JSON.stringify(a)} in the target`);
  }
}
