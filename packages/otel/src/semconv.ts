/**
 * The OpenTelemetry GenAI semantic conventions this package follows: status "Development", as
 * published with semantic-conventions v1.41.0 (docs/gen-ai: gen-ai-spans.md, gen-ai-agent-spans.md,
 * gen-ai-metrics.md, anthropic.md, openai.md), the last release before the GenAI conventions moved
 * to their own repository. Names are spelled out here, once.
 */
export const GENAI_SEMCONV_VERSION = '1.41.0' as const

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  conversationId: 'gen_ai.conversation.id',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestStream: 'gen_ai.request.stream',
  responseId: 'gen_ai.response.id',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  outputType: 'gen_ai.output.type',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  tokenType: 'gen_ai.token.type',
  errorType: 'error.type',
  serverAddress: 'server.address',
} as const

/** Metric instruments (histograms). */
export const METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  operationDuration: 'gen_ai.client.operation.duration',
} as const

/** `gen_ai.client.token.usage` bucket boundaries the conventions recommend. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
/** `gen_ai.client.operation.duration` bucket boundaries (seconds) the conventions recommend. */
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]

/** agenttap's own attributes (not in the conventions), under one prefix. */
export const AGENTTAP = {
  flowId: 'agenttap.flow_id',
  callKey: 'agenttap.call.key',
  client: 'agenttap.client',
  outcome: 'agenttap.outcome',
  transport: 'agenttap.transport',
  httpStatus: 'http.response.status_code',
  cacheWrite1h: 'agenttap.usage.cache_creation_1h.input_tokens',
  toolCommand: 'agenttap.tool.command',
  toolIsError: 'agenttap.tool.is_error',
  toolExitCode: 'agenttap.tool.exit_code',
  turnPrompt: 'agenttap.turn.has_prompt',
} as const
