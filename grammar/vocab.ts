// A model's vocabulary as xgrammar needs it: each id's raw token string, padded to the logits' width, special
// tokens blanked (xgrammar would read '<s>' as three characters; stop tokens are passed by id). And the tokens a
// JSON constraint (or tool calls' JSON arguments) bans on top of the grammar: xgrammar's JSON string rule lets raw
// control characters through, which JSON forbids.
import type { Tokenizer } from '../model/tokenizer.ts';
import { vocabType, type GrammarSpec, type VocabInfo } from './xgrammar.ts';

const infos = new WeakMap<Tokenizer, Map<string, VocabInfo>>();

/**
 * key: the model's identity (its path); width: the model's vocab (logits row length, ≥ the tokenizer's). Built once
 * per tokenizer, key and width (it reads every token's string), then shared by every constrained request.
 */
export function vocabInfo(tokenizer: Tokenizer, key: string, width: number): VocabInfo {
  let byKey = infos.get(tokenizer);
  if (!byKey) infos.set(tokenizer, (byKey = new Map()));
  const id = `${key}|${width}`;
  let info = byKey.get(id);
  if (!info) {
    const tokens = Array.from({ length: width }, (_, i) => (i < tokenizer.vocabSize && !tokenizer.specialIds.has(i) ? tokenizer.tokenString(i) : ''));
    byKey.set(id, (info = { key: id, tokens, stopIds: tokenizer.eosIds }));
  }
  return info;
}

const banned = new Map<string, Int32Array>();

/**
 * Token ids the constraint bans besides the grammar: for JSON, those whose bytes hold a control character
 * (U+0000–U+001F; the built-in JSON grammar keeps tab, newline and carriage return for whitespace). [n]
 */
export function bannedTokens(info: VocabInfo, spec: GrammarSpec): Int32Array | undefined {
  if (spec.kind !== 'json' && spec.kind !== 'json_schema' && spec.kind !== 'tool_calls') return undefined;
  // Tool calls: the control characters of the wrapper text stay (Hermes' newlines around the JSON).
  const allowed = spec.kind === 'json' ? new Set([9, 10, 13]) : spec.kind === 'tool_calls' ? wrapperControls(spec.calls) : new Set<number>();
  const key = `${info.key}|${spec.kind}|${[...allowed].sort().join(',')}`;
  let ids = banned.get(key);
  if (!ids) {
    const type = vocabType(info.tokens);
    const out: number[] = [];
    info.tokens.forEach((t, id) => {
      if (controlBytes(t, type).some((b) => !allowed.has(b))) out.push(id);
    });
    banned.set(key, (ids = Int32Array.from(out)));
  }
  return ids;
}

function wrapperControls(calls: readonly { begin: string; end: string }[]): Set<number> {
  const out = new Set<number>();
  for (const c of calls) for (const ch of c.begin + c.end) if (ch.charCodeAt(0) < 0x20) out.add(ch.charCodeAt(0));
  return out;
}

/** The control bytes (< 0x20) a raw token string stands for. */
function controlBytes(token: string, type: ReturnType<typeof vocabType>): number[] {
  const out: number[] = [];
  const byte = type === 'byte_fallback' ? /^<0x([0-9A-Fa-f]{2})>$/.exec(token) : null;
  if (byte) {
    const b = parseInt(byte[1], 16);
    return b < 0x20 ? [b] : [];
  }
  for (const ch of token) {
    const c = ch.codePointAt(0)!;
    if (type === 'byte_level' && c >= 0x100 && c < 0x120) out.push(c - 0x100); // GPT-2's stand-ins for bytes 0x00–0x1F
    else if (type !== 'byte_level' && c < 0x20) out.push(c);
  }
  return out;
}
