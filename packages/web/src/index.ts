/**
 * @agenttap/web — the live web view of agenttap captures: a flow list that updates as traffic
 * passes (pushed over SSE), flow detail (conversation rendered by flow-fsm's live pipeline, the
 * one every view uses; raw events; redacted request) and a session view with flow-fsm's tool-call
 * findings. Guarded by a loopback bind, a Host-header check and a token sent in a header. The
 * command line is the proxy app's (`agenttap-proxy web`, `agenttap-proxy start`).
 */
export { createWebServer, DEFAULT_WEB_PORT } from './server.js'
export type { WebServer, WebServerOptions } from './server.js'
export { createFlowIndex } from './flow-index.js'
export type { FlowEntry, FlowIndex, FlowIndexOptions, RecordLocation } from './flow-index.js'
export { renderConversation, layout, commandsOf } from './conversation.js'
export type { FlowRecords, RenderedConversation, SseLike } from './conversation.js'
export { buildRequestView, promptPreview } from './request-view.js'
export { createHostCheck, generateToken, hasToken, SECURITY_HEADERS, TOKEN_HEADER } from './security.js'
export { readLinesAt, scanForFlow, searchFlows } from './line-reader.js'
export type { ReadLine, SearchResult } from './line-reader.js'
export { WebError } from './errors.js'
export type { WebErrorCode } from './errors.js'
export type {
  FlowDetail,
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
