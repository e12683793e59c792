/**
 * @agenttap/stream-normalizer — SSE framing and provider adapters (Anthropic Messages, OpenAI
 * Responses / Codex, OpenAI Chat Completions) to unified agent events, plus incremental JSON
 * string decoding and pretty-printing for streamed tool arguments.
 */
export { createStreamNormalizer, normalizeRecords } from './stream-normalizer.js'
export type { StreamNormalizer, StreamNormalizerOptions, StreamRecord, NormalizeResult } from './stream-normalizer.js'
export { createNormalizerStream } from './normalizer-stream.js'
export { createSseFramer, DEFAULT_MAX_EVENT_BYTES } from './sse-framer.js'
export type { SseFramer, SseFramerOptions } from './sse-framer.js'
export { detectStreamProvider, detectProviderFromEvent } from './detect-provider.js'
export type { ProviderHint } from './detect-provider.js'
export { TextDeltaNormalizer } from './text-delta-normalizer.js'
export type { TextDeltaNormalizerOptions } from './text-delta-normalizer.js'
export { JsonStreamFormatter, formatJsonValue } from './json-stream-formatter.js'
export type { JsonStreamFormatterOptions } from './json-stream-formatter.js'
export { encodeSseEvent } from './encode-sse.js'
export { normalizeResponseBody } from './response-body.js'
export type { NormalizeBodyOptions } from './response-body.js'
export { normalizeUsage, readAnthropicUsage } from './usage.js'
export { rateLimitHeaders, readCodexRateLimits } from './rate-limits.js'
export type { NormalizedUsage } from './usage.js'
export { SHELL_TOOL_NAMES, SHELL_BINARIES, isShellTool, shellCommandOf, argvToCommand } from './shell-tools.js'
export type { ShellCommand } from './shell-tools.js'
export { NormalizerError } from './errors.js'
export type { NormalizerErrorCode, NormalizerErrorContext } from './errors.js'
export type {
  AgentEvent,
  AgentEventType,
  ErrorEvent,
  EventBase,
  MessageEndEvent,
  MessageStartEvent,
  RateLimitsEvent,
  RateLimitWindow,
  StreamProvider,
  TextDeltaEvent,
  ThinkingDeltaEvent,
  ToolArgsDeltaEvent,
  ToolCallEndEvent,
  ToolCallKind,
  ToolCallStartEvent,
  UnknownEvent,
  Usage,
  UsageEvent,
} from './types.js'

/** Package name, for diagnostics. */
export const packageName = '@agenttap/stream-normalizer'
