/** The schema version every record written by this version of agenttap carries in `v`. */
export const SCHEMA_VERSION = 1 as const

/** Which agent sent the request. */
export type Client = 'claude-code' | 'codex' | 'unknown'

/** Which API family the request speaks. */
export type Provider = 'anthropic' | 'openai' | 'unknown'

/** How a flow ended. */
export type FlowOutcome = 'completed' | 'error' | 'aborted' | 'upstream_error'

/** Fields every canonical record carries. Unknown extra fields are kept as they are. */
export interface BaseRecord {
  /** Schema version (1). */
  v: number
  /** Record type: `flow`, `sse`, `flow_end`, or a type from a newer writer (passed through). */
  type: string
  /** ISO-8601 UTC timestamp with milliseconds. */
  ts: string
  /** Id of the intercepted request/response pair. */
  flow_id: string
  /** Agent session the flow belongs to. */
  session_id: string
  [extra: string]: unknown
}

/** `sse_flows.jsonl`: one per intercepted request. */
export interface FlowRecord extends BaseRecord {
  type: 'flow'
  flow_seq?: number
  client?: Client | string
  provider?: Provider | string
  /** Which rule of session-extractor's priority chain found `session_id`. */
  session_source?: string
  method?: string
  url?: string
  status?: number
  request_headers?: Record<string, string | string[]>
  response_headers?: Record<string, string | string[]>
  /** Redacted request JSON, or `{ "$ref": "sse_logs/…" }` when large. */
  request_body?: unknown
}

/** `sse_lines.jsonl`: one per dispatched SSE event or WebSocket text frame. */
export interface SseRecord extends BaseRecord {
  type: 'sse'
  /** 0-based position within the flow. */
  seq: number
  /** Milliseconds since the flow started. */
  t_ms?: number
  /** The SSE `event:` name, absent when the server sent none. */
  event?: string
  /** The raw `data` string, untouched. */
  data: string
  /** `sse` (default) or `ws` for WebSocket text frames. */
  transport?: 'sse' | 'ws'
}

/** `sse_flow_ends.jsonl`: one per finished flow. */
export interface FlowEndRecord extends BaseRecord {
  type: 'flow_end'
  outcome: FlowOutcome | string
  status?: number
  events?: number
  bytes?: number
  ttfb_ms?: number | null
  duration_ms?: number
  error?: string | { type?: string; message?: string; [k: string]: unknown }
}

/**
 * `sse_lines.jsonl`: one per text frame the *client* sent on a WebSocket after the upgrade
 * (Codex sends `response.create` frames carrying the prompt and the tool outputs), redacted.
 * Numbered in the same `seq` sequence as the server's frames of the flow, so the two sides
 * interleave in the order the proxy saw them.
 */
export interface ClientFrameRecord extends BaseRecord {
  type: 'client_frame'
  /** 0-based position within the flow, shared with the flow's `sse` records. */
  seq: number
  /** Milliseconds since the flow started. */
  t_ms?: number
  /** The frame's text (redacted JSON). */
  data: string
  transport?: 'ws'
}

/**
 * `sse_flow_ends.jsonl`: a sink had to drop records (Redis down or slow); the files have them
 * all. `flow_id` and `session_id` are `-`.
 */
export interface SinkGapRecord extends BaseRecord {
  type: 'sink_gap'
  /** Which sink dropped records (`redis`). */
  sink: string
  /** The stream (or other target) that missed them. */
  stream?: string
  /** How many records were dropped. */
  dropped: number
  /** Timestamp of the first dropped record. */
  from?: string
  /** Timestamp of the last dropped record. */
  to?: string
}

/**
 * `sse_flow_ends.jsonl`: one item an agent exported about itself over OTLP (Claude Code's
 * `claude_code.*`, Codex's `codex.*` events, metric points and spans), received by agenttap's OTLP
 * receiver and written through redaction. `flow_id` is `-` (telemetry arrives after the flow it
 * speaks of; readers join it by the keys below); `session_id` is the agent's session
 * (`session.id`, `conversation.id`) or `-`.
 */
export interface TelemetryRecord extends BaseRecord {
  type: 'telemetry'
  /** Which OTLP signal carried it. */
  signal: 'log' | 'metric' | 'span'
  /** The exporting agent, from the resource's `service.name` (`claude-code`, `codex`, …). */
  client: Client | string
  /** The resource's `service.name`, as sent. */
  service?: string
  /** Event name (`claude_code.api_request`, `codex.tool_result`), metric name, or span name. */
  name: string
  /** When the agent says it happened (the event's or point's own time), ISO-8601 UTC. `ts` is when it was received. */
  time?: string
  /** The item's attributes, flattened (`{"prompt.id": "…", "cost_usd": 0.01}`), redacted. */
  attributes: Record<string, unknown>
  /** A metric point's value (sum or gauge; a histogram's sum), or a span's duration in ms. */
  value?: number
  /** Join keys, copied out of the attributes: the provider's request id (Claude `request_id`). */
  request_id?: string
  /** Claude Code `prompt.id` (one per user prompt). */
  prompt_id?: string
  /** The tool call id: Claude `tool_use_id`, Codex `call_id`. */
  tool_call_id?: string
  /** Span ids of a `span` item. */
  trace_id?: string
  span_id?: string
}

/** A record of a type this version does not know, kept as it was read. */
export interface UnknownRecord extends BaseRecord {}

/** Any canonical record. Narrow on `type`. */
export type CaptureRecord = FlowRecord | SseRecord | FlowEndRecord | ClientFrameRecord | SinkGapRecord | TelemetryRecord

/** The file names of a capture directory (`<log root>/all-mitm-sse/`). */
export const CAPTURE_FILES = {
  flows: 'sse_flows.jsonl',
  lines: 'sse_lines.jsonl',
  flowEnds: 'sse_flow_ends.jsonl',
  rawDir: 'sse_logs',
} as const

/**
 * Which capture file a record belongs in: `flow` → sse_flows, `sse` and `client_frame` →
 * sse_lines, `flow_end` and any other type (e.g. a sink's `sink_gap` notice, `telemetry`) → sse_flow_ends.
 */
export function captureFileFor(type: string): (typeof CAPTURE_FILES)['flows' | 'lines' | 'flowEnds'] {
  return type === 'sse' || type === 'client_frame' ? CAPTURE_FILES.lines : type === 'flow' ? CAPTURE_FILES.flows : CAPTURE_FILES.flowEnds
}
