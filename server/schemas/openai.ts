// JSON schemas and types of the OpenAI request bodies Sprig accepts (the only snake_case in the server).
// Unknown top-level fields are rejected (additionalProperties: false) so typos never pass silently.

const nullable = (type: string | string[]) => ({ type: [...(Array.isArray(type) ? type : [type]), 'null'] });

const tokenIds = { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 } as const;

/** Sprig's per-request extension: turn speculation off, pick drafters, cap the draft tree. */
const speculation = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    drafters: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 16 },
    max_tree_tokens: { type: 'integer', minimum: 0 },
  },
} as const;

/** Fields shared by /v1/completions and /v1/chat/completions. */
const common = {
  model: { type: 'string' },
  max_tokens: { ...nullable('integer'), minimum: 0 },
  temperature: { ...nullable('number'), minimum: 0, maximum: 2 },
  top_p: { ...nullable('number'), exclusiveMinimum: 0, maximum: 1 },
  top_k: { ...nullable('integer'), minimum: -1 },
  seed: nullable('integer'),
  stop: {
    anyOf: [
      { type: 'null' },
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 16 },
    ],
  },
  n: { ...nullable('integer'), minimum: 1, maximum: 16 },
  stream: nullable('boolean'),
  stream_options: {
    ...nullable('object'),
    additionalProperties: false,
    // continuous_usage_stats is vLLM's: every chunk carries the running usage (exact per-token latency for clients).
    properties: { include_usage: { type: 'boolean' }, continuous_usage_stats: { type: 'boolean' } },
  },
  presence_penalty: { ...nullable('number'), minimum: -2, maximum: 2 },
  frequency_penalty: { ...nullable('number'), minimum: -2, maximum: 2 },
  logit_bias: { ...nullable('object'), additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
  user: { type: 'string' },
  speculation,
  /** Sprig's extension: choices[i].token_details (per token) and choices[i].sequence_scores. */
  token_details: nullable('boolean'),
  /** Structured output (grammar/spec.ts): OpenAI's response_format, and Sprig's `grammar` (GBNF/EBNF) and `regex`. */
  response_format: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string' }, json_schema: { type: 'object', properties: { name: { type: 'string' }, schema: { type: 'object' }, strict: nullable('boolean') } } },
  },
  grammar: { type: 'string', minLength: 1 },
  regex: { type: 'string', minLength: 1 },
} as const;

export const completionBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: {
    ...common,
    prompt: {
      anyOf: [
        { type: 'string' },
        { type: 'array', items: { type: 'string' }, minItems: 1 },
        tokenIds,
        { type: 'array', items: tokenIds, minItems: 1 },
      ],
    },
    echo: nullable('boolean'),
    suffix: nullable('string'),
    best_of: { ...nullable('integer'), minimum: 1 },
    logprobs: { ...nullable('integer'), minimum: 0, maximum: 5 },
  },
} as const;

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
} as const;

const message = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
    content: { anyOf: [{ type: 'null' }, { type: 'string' }, { type: 'array', items: contentPart }] },
    name: { type: 'string' },
    tool_call_id: { type: 'string' },
    tool_calls: { type: 'array' },
    refusal: nullable('string'),
  },
} as const;

export const chatBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['messages'],
  properties: {
    ...common,
    messages: { type: 'array', items: message, minItems: 1 },
    max_completion_tokens: { ...nullable('integer'), minimum: 1 },
    logprobs: nullable('boolean'),
    top_logprobs: { ...nullable('integer'), minimum: 0, maximum: 20 },
    tools: { type: 'array' },
    tool_choice: { anyOf: [{ type: 'null' }, { type: 'string' }, { type: 'object' }] },
    parallel_tool_calls: { type: 'boolean' },
    metadata: { type: 'object' },
    store: nullable('boolean'),
  },
} as const;

export interface SpeculationOptions {
  enabled?: boolean;
  drafters?: string[];
  max_tree_tokens?: number;
}

/** What both endpoints share, after schema validation. */
export interface CommonBody {
  model?: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean; continuous_usage_stats?: boolean } | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  user?: string;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean | null } };
  grammar?: string;
  regex?: string;
  speculation?: SpeculationOptions;
  token_details?: boolean | null;
}

export interface CompletionBody extends CommonBody {
  prompt: string | string[] | number[] | number[][];
  echo?: boolean | null;
  suffix?: string | null;
  best_of?: number | null;
  logprobs?: number | null;
}

export interface ContentPart { type: string; text?: string }

export interface ChatMessageBody {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | ContentPart[] | null;
  name?: string;
  tool_call_id?: string;
  /** An assistant's earlier calls: [{id, type: 'function', function: {name, arguments (a JSON string)}}]. */
  tool_calls?: unknown[];
}

export interface ChatBody extends CommonBody {
  messages: ChatMessageBody[];
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  /** [{type: 'function', function: {name, description, parameters}}] (grammar/tool-spec.ts reads them). */
  tools?: unknown[];
  tool_choice?: string | object;
  parallel_tool_calls?: boolean;
}

/** The OpenAI error envelope, as every error response carries it. */
export const errorResponseSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        message: { type: 'string' },
        type: { type: 'string' },
        param: nullable('string'),
        code: nullable('string'),
      },
    },
  },
} as const;

const usage = {
  type: 'object',
  properties: {
    prompt_tokens: { type: 'integer' },
    completion_tokens: { type: 'integer' },
    total_tokens: { type: 'integer' },
    prompt_tokens_details: { type: 'object', properties: { cached_tokens: { type: 'integer' } } },
  },
} as const;

/** The fields every response and chunk starts with. */
const responseHead = {
  id: { type: 'string' },
  object: { type: 'string' },
  created: { type: 'integer' },
  model: { type: 'string' },
} as const;

/** Passed through as the engine reports it (see engine/stats.ts SpeculationStats). */
const speculationStats = { type: 'object', additionalProperties: true } as const;

/**
 * Sprig's per-choice extension (server/token-details.ts TokenDetailOut, engine/token-details.ts SequenceScores).
 * Left untyped, so the serializer hands them to JSON.stringify whole (a typed array of objects is slower).
 */
const choiceDetails = {
  token_details: {},
  sequence_scores: {},
} as const;

export const completionResponseSchema = {
  type: 'object',
  properties: {
    ...responseHead,
    choices: {
      type: 'array',
      items: {
        type: 'object',
        properties: { index: { type: 'integer' }, text: { type: 'string' }, logprobs: { type: ['object', 'null'], additionalProperties: true }, finish_reason: { type: 'string' }, ...choiceDetails },
      },
    },
    usage,
    speculation: speculationStats,
  },
} as const;

export const chatResponseSchema = {
  type: 'object',
  properties: {
    ...responseHead,
    choices: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          // content is null when the reply is only tool calls; tool_calls passes whole (server/tool-calls.ts).
          message: { type: 'object', properties: { role: { type: 'string' }, content: nullable('string'), tool_calls: {} } },
          logprobs: { type: ['object', 'null'], additionalProperties: true },
          finish_reason: { type: 'string' },
          ...choiceDetails,
        },
      },
    },
    usage,
    speculation: speculationStats,
  },
} as const;
