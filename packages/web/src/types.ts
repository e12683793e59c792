/**
 * Types shared by the web server and the browser page (the page imports them type-only), so the
 * JSON the server sends and the page reads cannot drift apart.
 */
import type { FlowState } from '@agenttap/flow-fsm'
import type { CallUsage } from '@agenttap/ledger'

/**
 * Tokens of a flow in the ledger's convention (the numbers analyze and the monitor print): `input`
 * is the prompt billed at the base price, cache reads and writes apart, `output` with reasoning.
 * The sum over the flow's calls (a WebSocket flow carries several).
 */
export type FlowUsage = CallUsage

/** One row of the flow list: what the index keeps per flow (never bodies). */
export interface FlowSummary {
  flow_id: string
  session_id: string
  /** ISO time of the request (the `flow` record), or of the first record seen for the flow. */
  ts: string
  flow_seq?: number
  client?: string
  provider?: string
  model?: string
  method?: string
  url?: string
  /** HTTP status (from `flow_end`, else the `flow` record). */
  status?: number
  /** Lifecycle (flow-fsm's registry): `STREAMING`, `DONE` (flow_end seen), `DEAD` (aborted, or silent for the idle timeout). */
  state: FlowState
  /**
   * How the flow's (last) model call ended, once the flow ended: `completed`, `error`,
   * `truncated`, `aborted`, `upstream_error` — the ledger's outcome, not the socket's.
   */
  outcome?: string
  ttfb_ms?: number | null
  duration_ms?: number
  /** SSE events / WS frames seen so far. */
  events: number
  bytes?: number
  /** Absent until a call reported usage. */
  usage?: FlowUsage
  /** Model calls (responses) of the flow so far. */
  calls: number
  /** Tool calls announced in the response(s). */
  tool_calls: number
  /** Live alerts its calls raised (cache break, context / quota ≥ 80 %, model switch), one line each. */
  alerts?: string[]
  /** Distinct tool names called (at most 12), for the list and the search. */
  tool_names?: string[]
  stop_reason?: string
  /** First error of the flow (`flow_end.error` or an in-stream API error). */
  error?: string
  /** The last user prompt of the request, cut to a short preview. */
  prompt?: string
  /** Codex sub-agent name, when the request carried one. */
  subagent?: string
  /** The `flow` record itself has been seen (false: only sse / flow_end records so far). */
  has_request: boolean
}

/** Styles of conversation spans, the same as flow-fsm's render styles. */
export type SpanStyle = 'text' | 'thinking' | 'tool' | 'command' | 'error' | 'meta' | 'dim'

/** A run of text in one style; never contains a newline. */
export interface Span {
  text: string
  style: SpanStyle
}

/** `GET /api/flows/:id`: the flow rendered as the monitor shows it. */
export interface FlowDetail {
  summary: FlowSummary
  /** One array of spans per screen line. */
  lines: Span[][]
  /** Shell commands detected in tool calls, in order (`$ …` lines). */
  commands: string[]
  /** Malformed events or records met while rendering, with their location. */
  problems: string[]
  /** true when the records came from memory or files completely. */
  complete: boolean
}

/** One raw SSE event / WS frame as captured. */
export interface RawEvent {
  seq: number
  t_ms?: number
  event?: string
  transport?: string
  data: string
}

/** `GET /api/flows/:id/events`. */
export interface RawEventsPage {
  flow_id: string
  total: number
  from: number
  events: RawEvent[]
}

/** One part of a request message. */
export interface RequestPart {
  kind: 'text' | 'thinking' | 'tool_use' | 'tool_result' | 'image' | 'other'
  /** Tool name / call id / item type, when there is one. */
  title?: string
  text: string
}

/** One message of the request conversation. */
export interface RequestMessage {
  role: string
  parts: RequestPart[]
}

/** One tool offered to the model. */
export interface RequestTool {
  name: string
  description?: string
  /** Pretty-printed JSON schema of the input. */
  schema?: string
}

/** The request body split into what a reader looks for. */
export interface RequestView {
  model?: string
  /** Other top-level scalar settings (max_tokens, stream, reasoning effort, …). */
  params: Record<string, string>
  system: string[]
  tools: RequestTool[]
  messages: RequestMessage[]
}

/** `GET /api/flows/:id/request`: the redacted request as captured. */
export interface FlowRequest {
  flow_id: string
  method?: string
  url?: string
  status?: number
  request_headers: Record<string, string>
  response_headers: Record<string, string>
  view: RequestView | null
  /** Pretty-printed redacted body (cut at `bodyLimit` characters), or null when none was captured. */
  body: string | null
  body_truncated: boolean
  /** Why the body is not available, when it is not. */
  body_error?: string
}

/** A tool-call validation finding as flow-fsm reports it (the fields the page shows). */
export interface SessionFinding {
  kind: string
  call_id: string
  name?: string
  flow_id: string
  where?: string
  message?: string
}

/** `GET /api/sessions/:id`. */
export interface SessionView {
  session_id: string
  flows: FlowSummary[]
  findings: SessionFinding[]
  /** Counts from the validator (`calls`, `answered`, `unanswered`, …). */
  counts: Record<string, number>
  /** Set when validation could not run (e.g. flows no longer readable). */
  validation_error?: string
  /** Context and quota over time as an SVG plot (server-made, text escaped). */
  timeline_svg?: string
  /** Live alerts of the session's calls, oldest first. */
  alerts?: string[]
}

/** Ingest health pushed to the page. */
export interface IngestStatus {
  flows: number
  /** Flows dropped from the index because of `maxFlows`. */
  evicted: number
  /** Malformed lines / records skipped. */
  errors: number
  /** The latest of them, with file, line and byte offset. */
  last_error?: string
  /** History (the files as they were at start) fully indexed. */
  history_loaded: boolean
}
