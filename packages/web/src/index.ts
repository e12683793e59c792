/**
 * @agenttap/web — the live web view of agenttap captures: a flow list that updates as traffic
 * passes (pushed over SSE), flow detail (conversation as the monitor renders it, raw events,
 * redacted request) and a session view with flow-fsm's tool-call findings. Guarded by a
 * loopback bind, a Host-header check and a token.
 */
export { createWebServer } from './server.js'
export type { WebServer, WebServerOptions } from './server.js'
export { parseWebArgs, runWebCli, WEB_USAGE, DEFAULT_WEB_PORT } from './cli.js'
export type { WebCliOptions } from './cli.js'
export { createFlowIndex } from './flow-index.js'
export type { FlowEntry, FlowIndex, FlowIndexOptions, RecordLocation } from './flow-index.js'
export { renderConversation, layout, usageLine, mergeUsage } from './conversation.js'
export type { RenderedConversation, SseLike } from './conversation.js'
export { buildRequestView, promptPreview } from './request-view.js'
export { createHostCheck, generateToken, cookieName, tokenSource, SECURITY_HEADERS } from './security.js'
export type { TokenSource } from './security.js'
export { readLinesAt, scanForFlow, searchFlows } from './line-reader.js'
export type { ReadLine, SearchResult } from './line-reader.js'
export { WebError } from './errors.js'
export type { WebErrorCode } from './errors.js'
export type {
  FlowDetail,
  FlowListState,
  FlowRequest,
  FlowSummary,
  FlowUsage,
  IngestStatus,
  RawEvent,
  RawEventsPage,
  RequestMessage,
  RequestPart,
  RequestTool,
  RequestView,
  SessionFinding,
  SessionView,
  Span,
  SpanStyle,
} from './types.js'

/** Package name, for diagnostics. */
export const packageName = '@agenttap/web'
