/**
 * @agenttap/session-extractor: pure functions the proxy runs on every intercepted request:
 * which session it belongs to, which client and provider, and redaction of every secret
 * before anything reaches disk.
 */
export { extractSessionId, validateSessionId, parseClaudeUserId, deriveSessionId, MAX_SESSION_ID_LENGTH } from './session-id.js'
export { detectClient, detectProvider, detectSubagent } from './detect.js'
export { inspectRequest } from './inspect.js'
export {
  createRedactor,
  redactHeaders,
  redactJson,
  redactText,
  redactUrl,
  isSecretHeaderName,
  isSecretFieldName,
  REDACTED_PREFIX,
} from './redactor.js'
export { createStreamRedactor } from './stream-redactor.js'
export { createSseRedactor } from './sse-redactor.js'
export { analyzeRequest, analyzeClientFrame, requestHistory, requestHistoryUnits } from './request-anatomy.js'
export { clearRequestMemo } from './request-memo.js'
export { cacheSegments } from './cache-segments.js'
export type { CacheAnatomy, CacheSegment, CacheSegmentKind } from './cache-segments.js'
export type { AnalyzedRequest, AnalyzeRequestOptions, RequestAnatomy, RequestApi, RequestKind, ToolDefinition } from './request-anatomy.js'
export { requestTurn, requestApiOfBody, userWords } from './request-turn.js'
export type { RequestToolResult, RequestTurn, RequestTurnLimits } from './request-turn.js'
export { createSessionChain } from './session-chain.js'
export type { SessionAssignment, SessionChain, SessionChainEntry, SessionChainOptions } from './session-chain.js'
export { assistantUnit, contentHash } from './history-hash.js'
export type { AssistantTurn, TurnToolCall } from './history-hash.js'
export { SessionExtractorError } from './errors.js'
export type { SessionExtractorErrorCode } from './errors.js'
export type { StreamRedactor, StreamRedactorOptions } from './stream-redactor.js'
export type { SseRedactor, SseRedactorOptions, SseDataRecord } from './sse-redactor.js'
export type {
  Client,
  Provider,
  HeaderValue,
  RequestHeaders,
  RequestInfo,
  SessionSource,
  SessionIdResult,
  RequestInspection,
  RedactorOptions,
  Redactor,
  SecretSpan,
} from './types.js'
