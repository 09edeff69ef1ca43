// POST /v1/completions: prompt as a string, strings, token ids or token id arrays; echo; no suffix.
import type { FastifyInstance } from 'fastify';
import { errors } from '../../common/errors.ts';
import { checkModel, completionLogprobs, planGeneration, rejectUnsupportedCompletion } from '../params.ts';
import { completionPrompts, promptRoom } from '../prompts.ts';
import { completionBodySchema, completionResponseSchema, errorResponseSchema, type CompletionBody } from '../schemas/openai.ts';
import { serveJob } from '../serve-job.ts';
import type { ServerState } from '../state.ts';

/** OpenAI's default for /v1/completions when max_tokens is left out. */
const DEFAULT_MAX_TOKENS = 16;
/** prompts × n per request. */
const MAX_CHOICES = 64;

export function registerCompletions(app: FastifyInstance, state: ServerState): void {
  app.post<{ Body: CompletionBody }>('/v1/completions', {
    schema: { body: completionBodySchema, response: { 200: completionResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema } },
  }, async (request, reply) => {
    const body = request.body;
    const engine = await state.getEngine();
    checkModel(body.model, engine.modelId);
    rejectUnsupportedCompletion(body);
    const plan = planGeneration(body, body.max_tokens ?? DEFAULT_MAX_TOKENS, state.config, engine, completionLogprobs(body));
    const numPrompts = typeof body.prompt === 'string' || body.prompt.every((p) => typeof p === 'number') ? 1 : body.prompt.length;
    if (numPrompts * plan.n > MAX_CHOICES) {
      throw errors.invalidParam(`${numPrompts} prompts × n=${plan.n} asks for ${numPrompts * plan.n} choices; at most ${MAX_CHOICES} per request`, 'n');
    }
    if (plan.grammar) plan.constraint = await engine.compileConstraint(plan.grammar);
    const room = promptRoom(engine.contextLength, plan.maxTokens, 'prompt');
    const prompts = await completionPrompts(body.prompt, await state.getEncoder(), engine.tokenizer, engine.vocabSize, room);
    return serveJob(state, request, reply, 'completion', prompts, plan, body.echo === true);
  });
}
