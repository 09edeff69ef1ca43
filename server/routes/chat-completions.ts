// POST /v1/chat/completions: messages (and tools) rendered with the checkpoint's chat template (400 without one).
import type { FastifyInstance } from 'fastify';
import { chatLogprobs, checkModel, planGeneration, planTools, rejectUnsupportedChat } from '../params.ts';
import { chatPrompt, promptRoom } from '../prompts.ts';
import { chatBodySchema, chatResponseSchema, errorResponseSchema, type ChatBody } from '../schemas/openai.ts';
import { serveJob } from '../serve-job.ts';
import type { ServerState } from '../state.ts';

export function registerChatCompletions(app: FastifyInstance, state: ServerState): void {
  app.post<{ Body: ChatBody }>('/v1/chat/completions', {
    schema: { body: chatBodySchema, response: { 200: chatResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema } },
  }, async (request, reply) => {
    const body = request.body;
    const engine = await state.getEngine();
    checkModel(body.model, engine.modelId);
    rejectUnsupportedChat(body);
    // max_completion_tokens wins over the deprecated max_tokens; neither means "fill the window".
    const plan = planGeneration(body, body.max_completion_tokens ?? body.max_tokens ?? null, state.config, engine, chatLogprobs(body));
    planTools(body, plan, engine.tokenizer.chatTemplate); // tools go to the template; required/named calls are constrained
    if (plan.grammar) plan.constraint = await engine.compileConstraint(plan.grammar);
    const room = promptRoom(engine.contextLength, plan.maxTokens, 'messages');
    const prompt = await chatPrompt(body.messages, await state.getEncoder(), engine.tokenizer, room, plan.tools?.tools);
    return serveJob(state, request, reply, 'chat', [prompt], plan);
  });
}
