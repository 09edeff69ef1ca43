// The only module that imports @mlc-ai/web-xgrammar (xgrammar's grammar engine compiled to wasm). Its bundle is
// Emscripten UMD marked "type": "module", so it needs CommonJS globals before import; its API then sits on
// globalThis.xgrammar. One tokenizer info + compiler per vocabulary, one compiled grammar per constraint, both cached.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as XG from '@mlc-ai/web-xgrammar';
import { errors } from '../common/errors.ts';

type XgModule = typeof XG;
export type CompiledGrammar = XG.CompiledGrammar;

let loading: Promise<XgModule> | null = null;

/** Loads the wasm module once per process. */
export function xgrammar(): Promise<XgModule> {
  loading ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    const require = createRequire(import.meta.url);
    const main = require.resolve('@mlc-ai/web-xgrammar');
    // They stay set: the wasm module starts lazily, at the library's first call, and reads them then.
    g.require ??= require;
    g.__filename ??= main;
    g.__dirname ??= path.dirname(main);
    await import('@mlc-ai/web-xgrammar');
    const api = g.xgrammar as XgModule | undefined;
    if (!api?.GrammarCompiler) throw errors.internal('@mlc-ai/web-xgrammar did not register globalThis.xgrammar');
    return api;
  })();
  return loading;
}

/** What xgrammar needs to know about a vocabulary: every token's raw string, by id, and how to decode it. */
export interface VocabInfo {
  /** A stable key for the cache (the model's path). */
  key: string;
  /** Raw vocabulary strings by id ('' for holes); its length is the logits' width. */
  tokens: string[];
  stopIds: number[];
}

/** byte_fallback (SentencePiece '<0x0A>' pieces), byte_level (GPT-2 'Ġ' pieces) or raw. */
export function vocabType(tokens: readonly string[]): 'byte_fallback' | 'byte_level' | 'raw' {
  if (tokens.includes('<0x0A>')) return 'byte_fallback';
  if (tokens.some((t) => t.startsWith('Ġ') || t === 'Ċ')) return 'byte_level';
  return 'raw';
}

const compilers = new Map<string, Promise<XG.GrammarCompiler>>();
const compiled = new Map<string, Promise<CompiledGrammar>>();
const MAX_COMPILED = 64;

function compilerFor(api: XgModule, vocab: VocabInfo): Promise<XG.GrammarCompiler> {
  let c = compilers.get(vocab.key);
  if (!c) {
    const type = vocabType(vocab.tokens);
    c = api.TokenizerInfo.createTokenizerInfo(vocab.tokens, type, type === 'byte_fallback', vocab.tokens.length, vocab.stopIds)
      .then((ti) => api.GrammarCompiler.createGrammarCompiler(ti));
    compilers.set(vocab.key, c);
  }
  return c;
}

/** A constraint as the request states it (grammar/spec.ts builds it from the API fields). */
export type GrammarSpec =
  | { kind: 'json' }
  | { kind: 'json_schema'; schema: string }
  | { kind: 'ebnf'; grammar: string }
  | { kind: 'regex'; pattern: string }
  /** Tool calls (grammar/tool-spec.ts): one of the calls, each its wrapper text around arguments of its JSON schema. */
  | { kind: 'tool_calls'; calls: ToolCallShape[] };

/** One function's call as text: `begin`, then JSON arguments valid against `schema` (a JSON string), then `end`. */
export interface ToolCallShape { begin: string; schema: string; end: string }

/** The compiled grammar for `spec` over `vocab`, compiled once and kept (most recently used 64). */
export async function compileGrammar(vocab: VocabInfo, spec: GrammarSpec): Promise<CompiledGrammar> {
  const key = `${vocab.key}\u0000${JSON.stringify(spec)}`;
  let c = compiled.get(key);
  if (c) {
    compiled.delete(key);
    compiled.set(key, c); // most recently used last
    return c;
  }
  const api = await xgrammar();
  const compiler = await compilerFor(api, vocab);
  c = compileWith(compiler, spec);
  compiled.set(key, c);
  c.catch(() => compiled.delete(key));
  while (compiled.size > MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  return c;
}

async function compileWith(compiler: XG.GrammarCompiler, spec: GrammarSpec): Promise<CompiledGrammar> {
  try {
    switch (spec.kind) {
      case 'json': return await compiler.compileBuiltinJSONGrammar();
      // One line, ", " and ": " separators: the tokens a model usually writes, and no runs of whitespace.
      case 'json_schema': return await compiler.compileJSONSchema(spec.schema, false, -1, [', ', ': '], true);
      case 'ebnf': return await compiler.compileGrammar(spec.grammar);
      case 'regex': return await compiler.compileStructuralTag({ type: 'structural_tag', format: { type: 'regex', pattern: spec.pattern } });
      case 'tool_calls': return await compiler.compileStructuralTag(await toolCallsTag(spec.calls));
    }
  } catch (e) {
    const what = spec.kind === 'ebnf' ? 'grammar' : spec.kind === 'regex' ? 'regex' : spec.kind === 'tool_calls' ? 'tools' : 'response_format';
    throw errors.invalidParam(`cannot compile the ${what}: ${String((e as Error).message ?? e)}`, what, { cause: e });
  }
}

/**
 * A structural tag: an alternation of tags (begin text, arguments, end text). The arguments are the EBNF of each
 * schema with the json_schema case's separators (a structural tag's own json_schema allows any whitespace, where
 * a weak model can loop), so a call reads as one line.
 */
async function toolCallsTag(calls: readonly ToolCallShape[]): Promise<XG.StructuralTag> {
  const api = await xgrammar();
  const tags = await Promise.all(calls.map(async (c): Promise<XG.TagFormat> => {
    const g = await api.Grammar.fromJSONSchema(c.schema, false, -1, [', ', ': '], true);
    try {
      return { type: 'tag', begin: c.begin, content: { type: 'grammar', grammar: g.toString() }, end: c.end };
    } finally {
      g.dispose();
    }
  }));
  return { type: 'structural_tag', format: tags.length === 1 ? tags[0] : { type: 'or', elements: tags } };
}

/**
 * One matcher: a grammar state that moves token by token and back. The mask is read synchronously
 * (the library's own getNextTokenBitmask is async only to await its module's start-up).
 */
export class Matcher {
  private constructor(private readonly m: XG.GrammarMatcher, readonly vocab: number) {}

  /** stopIds: the tokens that end the output once the grammar is complete (default: the vocabulary's). */
  static async create(grammar: CompiledGrammar, vocab: number, stopIds?: readonly number[]): Promise<Matcher> {
    const api = await xgrammar();
    const stops = stopIds && stopIds.length > 0 ? [...stopIds] : undefined;
    // maxRollbackTokens -1: any depth (trees walk down and back up).
    return new Matcher(await api.GrammarMatcher.createGrammarMatcher(grammar, stops, false, -1), vocab);
  }

  /** Advances by one token; false (and no move) when the grammar rejects it. */
  accept(token: number): boolean {
    return this.m.acceptToken(token);
  }

  rollBack(n: number): void {
    if (n > 0) this.m.rollBack(n);
  }

  /** Writes the allowed-token bitmask into `out` ([ceil(vocab / 32)], bit t of word t >> 5 set = allowed). */
  fillMask(out: Int32Array): Int32Array {
    const handle = (this.m as unknown as { handle: { GetNextTokenBitmask(v: number): EmbindVector } }).handle;
    const v = handle.GetNextTokenBitmask(this.vocab);
    try {
      const n = Math.min(v.size(), out.length);
      for (let i = 0; i < n; i++) out[i] = v.get(i);
    } finally {
      v.delete();
    }
    return out;
  }

  /** The longest string the grammar forces next ('' when there is a choice). */
  jumpForward(): string {
    return this.m.findJumpForwardString();
  }

  isTerminated(): boolean {
    return this.m.isTerminated();
  }

  dispose(): void {
    this.m.dispose();
  }
}

interface EmbindVector { size(): number; get(i: number): number; delete(): void }
