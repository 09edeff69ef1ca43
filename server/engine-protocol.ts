// The messages between the server (server/engine-thread.ts) and the engine's worker thread
// (server/engine-worker.ts). EVERYTHING here is plain data (structured clone; typed arrays allowed): no
// AbortSignal, no compiled grammar, no class instances. Errors cross as WireError and are rebuilt on arrival.
import { SprigError, type ErrorType } from '../common/errors.ts';
import type { GenerateResult } from '../engine/generate.ts';
import type { TokenLogprob } from '../engine/logprobs.ts';
import type { TokenDetail } from '../engine/token-details.ts';
import type { GrammarSpec } from '../grammar/xgrammar.ts';
import type { EngineOptions, EngineRequest } from './engine.ts';

/** What the worker is started with (workerData). */
export interface WorkerStart {
  load: Omit<EngineOptions, 'log'>;
  /** The server's log level: the worker's records go to the server's logger. */
  logLevel: string;
  testHooks?: EngineTestHooks;
}

/** Tests only: what the worker does that no server should. */
export interface EngineTestHooks {
  /** Answer 'crash' by dying. */
  crash?: boolean;
  /** Sleep this long before every target forward (so a test can act while a generation runs). */
  forwardDelayMs?: number;
}

/** A generation as it crosses: the request without its signal, the constraint as its spec. */
export interface WireRequest extends Omit<EngineRequest, 'signal' | 'constraint'> {
  grammar?: GrammarSpec;
}

/** Server → worker. Requests with an `id` get exactly one reply carrying it ('done' or 'error'). */
export type ToWorker =
  | { type: 'generate'; id: number; req: WireRequest }
  /** Stops generation `id` at its next step (it then finishes as 'cancelled'). */
  | { type: 'cancel'; id: number }
  | { type: 'prompt-logprobs'; id: number; tokens: Int32Array /* [numTokens] */; k: number }
  | { type: 'constraint'; id: number; spec: GrammarSpec }
  | { type: 'verify-cost'; id: number }
  /** Fire and forget: the worker makes prefix cache `cacheId` before reading the next message. */
  | { type: 'prefix-cache'; cacheId: number; budgetBytes: number }
  | { type: 'probe'; id: number }
  | { type: 'dispose'; id: number }
  /** Tests: the worker throws outside any handler and dies. */
  | { type: 'crash' };

/** The model's facts, sent once at ready. */
export interface EngineFacts {
  modelId: string;
  created: number;
  contextLength: number;
  vocabSize: number;
  maxTreeTokens: number;
  hasDraftModel: boolean;
  /** Where the server builds the same tokenizer (the model's folder or file, resolved). */
  tokenizerPath: string;
  /** The worker's threadId (worker_threads), where every forward runs. */
  threadId: number;
}

/** What 'probe' answers: which thread runs the model, and how many target forwards it has run. */
export interface EngineProbe {
  threadId: number;
  forwards: number;
}

/** Worker → server. */
export type FromWorker =
  | { type: 'ready'; facts: EngineFacts }
  | { type: 'load-error'; error: WireError }
  /** One step's emitted tokens [n], with their logprobs / details [n] when asked for (OnTokens' arguments). */
  | { type: 'tokens'; id: number; tokens: number[]; logprobs?: TokenLogprob[]; details?: TokenDetail[] }
  | { type: 'done'; id: number; result?: GenerateResult | (TokenLogprob | null)[] | EngineProbe }
  | { type: 'error'; id: number; error: WireError }
  /** One pino JSON line from the worker's logger. */
  | { type: 'log'; line: string };

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** Set for SprigError: rebuilt with the same code, status, type and param (the client's 4xx/5xx). */
  sprig?: { code: string; statusCode: number; type: ErrorType; param: string | null };
}

export function toWireError(e: unknown): WireError {
  if (e instanceof SprigError) return { name: e.name, message: e.message, stack: e.stack, sprig: { code: e.code, statusCode: e.statusCode, type: e.type, param: e.param } };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** The error as thrown in the worker: a SprigError keeps its catalogue fields; the worker's stack is kept. */
export function fromWireError(w: WireError): Error {
  const e = w.sprig ? new SprigError(w.sprig.code, w.message, w.sprig.statusCode, w.sprig.type, w.sprig.param) : new Error(w.message);
  if (!w.sprig) e.name = w.name;
  if (w.stack) e.stack = `${w.stack}\n    (in the engine thread)`;
  return e;
}
