// Request body → generation plan: defaults, the model check, and clear 400s for the OpenAI parameters
// Sprig does not implement (suffix, best_of ≠ n). Pure functions; nothing here touches the engine.
import { errors } from '../common/errors.ts';
import { parseDrafters } from '../drafters/registry.ts';
import type { SamplingParams } from '../common/sampling.ts';
import { grammarSpecOf } from '../grammar/spec.ts';
import type { GrammarSpec } from '../grammar/xgrammar.ts';
import { toolPlanOf, type ToolPlan } from '../grammar/tool-spec.ts';
import type { ServerConfig } from './config.ts';
import type { EngineConstraint } from './engine.ts';
import type { ChatBody, CommonBody, CompletionBody } from './schemas/openai.ts';

export interface GenerationPlan {
  /** null: up to the end of the context window. */
  maxTokens: number | null;
  sampling: SamplingParams;
  stop: string[];
  /** Choices per prompt. */
  n: number;
  stream: boolean;
  includeUsage: boolean;
  /** Every text chunk carries the choice's running usage (stream_options.continuous_usage_stats). */
  continuousUsage: boolean;
  /** Log-probabilities of generated tokens with this many alternatives; undefined = not asked. */
  logprobs?: number;
  /** Per-token details and sequence scores (Sprig's `token_details`). */
  tokenDetails: boolean;
  /** undefined: the engine's default. */
  drafters?: string[];
  treeBudget: number | 'auto';
  maxTreeTokens?: number;
  /** Structured output: what the request constrains to; the route compiles it into `constraint`. */
  grammar?: GrammarSpec;
  constraint?: EngineConstraint;
  /** Chat with tools (grammar/tool-spec.ts): what the template gets, how the reply is read, any constraint. */
  tools?: ToolPlan;
}

/** A request may name the served model (by id or by the path it was loaded from) or leave it out. */
export function checkModel(model: string | undefined, modelId: string): void {
  if (model === undefined || model === '' || model === modelId || model === 'default') return;
  throw errors.notFound(`The model '${model}' does not exist; this server serves '${modelId}'`, 'model');
}

const notYet = (param: string, what: string) => errors.invalidParam(`${param} is not supported yet: ${what}`, param);

export function rejectUnsupportedCompletion(body: CompletionBody): void {
  if (body.suffix) throw errors.invalidParam('suffix is not supported: Sprig has no fill-in-the-middle mode', 'suffix');
  if (body.max_tokens === 0 && body.echo !== true) throw errors.invalidParam('max_tokens must be at least 1 (0 is only meaningful with echo: true)', 'max_tokens');
  const n = body.n ?? 1;
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== n) {
    throw notYet('best_of', `it must equal n (${n}) or be left out`);
  }
}

export function rejectUnsupportedChat(body: ChatBody): void {
  if (body.max_tokens === 0) throw errors.invalidParam('max_tokens must be at least 1', 'max_tokens');
  if (body.top_logprobs && !body.logprobs) throw errors.invalidParam('top_logprobs needs logprobs: true', 'top_logprobs');
}

/** What planGeneration needs to know about the loaded engine. */
export interface EngineLimits {
  maxTreeTokens: number;
  hasDraftModel: boolean;
  vocabSize: number;
}

function requestDrafters(names: string[], engine: EngineLimits): string[] {
  const parsed = parseDrafters(names, 'speculation.drafters');
  if (parsed.includes('draft') && !engine.hasDraftModel) {
    throw errors.invalidParam('the drafter "draft" needs a draft model, and this server was started without --draft', 'speculation.drafters');
  }
  return parsed;
}

/** Completions ask with `logprobs: k` (0–5), chat with `logprobs: true` and `top_logprobs: k` (0–20). */
export function completionLogprobs(body: CompletionBody): number | undefined {
  return typeof body.logprobs === 'number' ? body.logprobs : undefined;
}

export function chatLogprobs(body: ChatBody): number | undefined {
  return body.logprobs === true ? body.top_logprobs ?? 0 : undefined;
}

/** {"token id": bias} → [id, bias] pairs; keys must be token ids (the vocabulary is checked by the engine). */
function logitBias(body: Record<string, number> | null | undefined, vocab: number): [number, number][] | undefined {
  if (!body) return undefined;
  const pairs = Object.entries(body).map(([k, v]): [number, number] => {
    if (!/^\d+$/.test(k) || Number(k) >= vocab) throw errors.invalidParam(`logit_bias keys are token ids in [0, ${vocab}), got ${JSON.stringify(k)}`, 'logit_bias');
    return [Number(k), v];
  });
  return pairs.length ? pairs : undefined;
}

export function planGeneration(body: CommonBody, maxTokens: number | null, config: ServerConfig, engine: EngineLimits, logprobs?: number): GenerationPlan {
  const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const spec = body.speculation ?? {};
  const off = spec.enabled === false;
  const defaultDrafters = config.drafters.length ? config.drafters : undefined;
  const maxTreeTokens = spec.max_tree_tokens ?? config.maxTreeTokens;
  if (maxTreeTokens !== undefined && maxTreeTokens > engine.maxTreeTokens) {
    throw errors.invalidParam(`speculation.max_tree_tokens is ${maxTreeTokens}, but this model accepts at most ${engine.maxTreeTokens} draft tokens per step`, 'speculation.max_tree_tokens');
  }
  return {
    maxTokens,
    sampling: {
      temperature: body.temperature ?? 1,
      topK: Math.max(0, body.top_k ?? 0),
      topP: body.top_p ?? 1,
      seed: body.seed ?? undefined,
      logitBias: logitBias(body.logit_bias, engine.vocabSize),
      presencePenalty: body.presence_penalty ?? 0,
      frequencyPenalty: body.frequency_penalty ?? 0,
    },
    stop,
    n: body.n ?? 1,
    stream: body.stream === true,
    includeUsage: body.stream === true && body.stream_options?.include_usage === true,
    continuousUsage: body.stream === true && body.stream_options?.include_usage === true && body.stream_options?.continuous_usage_stats === true,
    logprobs,
    tokenDetails: body.token_details === true,
    drafters: off ? [] : spec.drafters ? requestDrafters(spec.drafters, engine) : defaultDrafters,
    treeBudget: config.treeBudget,
    maxTreeTokens: off ? undefined : maxTreeTokens,
    grammar: grammarSpecOf(body) ?? undefined,
  };
}

/**
 * Chat's tools: the plan (null without tools) is put on `plan`; a required or named call constrains the output,
 * which cannot also follow response_format, grammar or regex. template: the model's chat template.
 */
export function planTools(body: ChatBody, plan: GenerationPlan, template: string | null): void {
  const tools = toolPlanOf(body, template);
  if (!tools) return;
  plan.tools = tools;
  if (!tools.grammar) return;
  if (plan.grammar) throw errors.invalidParam('tool_choice required (or a named function) constrains the reply to a tool call; it cannot also follow response_format, grammar or regex', 'tool_choice');
  plan.grammar = tools.grammar;
}
