/**
 * Unified agent events: what every provider adapter emits. This file is the contract between
 * stream-normalizer (producer) and flow-fsm / monitor / extractors (consumers).
 */

/** API family of a stream. */
export type StreamProvider = 'anthropic' | 'openai-responses' | 'openai-chat' | 'unknown'

/** Fields every unified event carries. */
export interface EventBase {
  /** Flow (request/response pair) the event belongs to. */
  flow_id: string
  provider: StreamProvider
  /** Position of the source SSE event / WS frame within the flow (canonical `seq`), when known. */
  seq?: number
  /** Anthropic content block index / Responses `output_index` / Chat `tool_calls[].index`. */
  index?: number
  /** Tool call id: Anthropic `toolu_…`, Responses `call_id`, Chat `tool_calls[].id`. */
  call_id?: string
  /** Responses `item_id` where one exists. */
  item_id?: string
}

export interface MessageStartEvent extends EventBase {
  type: 'message_start'
  message_id?: string
  model?: string
  role?: string
}

export interface TextDeltaEvent extends EventBase {
  type: 'text_delta'
  text: string
}

export interface ThinkingDeltaEvent extends EventBase {
  type: 'thinking_delta'
  text: string
  /** `thinking` (Anthropic thinking / Responses reasoning text) or `summary` (reasoning summary). */
  kind?: 'thinking' | 'summary' | 'signature' | 'redacted'
}

/** Kind of tool call, from the provider's item/block type. */
export type ToolCallKind =
  | 'function' // Anthropic tool_use, Responses function_call, Chat tool_calls
  | 'custom' // Responses custom_tool_call (raw string input, e.g. apply_patch)
  | 'local_shell' // Responses local_shell_call
  | 'server' // Anthropic server_tool_use, Responses web_search_call etc.

export interface ToolCallStartEvent extends EventBase {
  type: 'tool_call_start'
  name: string
  kind: ToolCallKind
  /** MCP server of the call (Anthropic `mcp_tool_use.server_name`, Responses `mcp_call.server_label`). */
  server?: string
}

export interface ToolArgsDeltaEvent extends EventBase {
  type: 'tool_args_delta'
  /** Raw argument fragment as sent (JSON text for function calls, raw text for custom calls). */
  delta: string
}

export interface ToolCallEndEvent extends EventBase {
  type: 'tool_call_end'
  name: string
  kind: ToolCallKind
  /** All argument fragments joined. */
  arguments: string
  /** `JSON.parse(arguments)` when it parsed (custom calls: absent). */
  parsed?: unknown
  /** Why `arguments` did not parse, when it did not. */
  parse_error?: string
  /** true when the stream ended (or the message stopped) before the call's end event came. */
  incomplete?: boolean
  /** MCP server of the call (Anthropic `mcp_tool_use.server_name`, Responses `mcp_call.server_label`). */
  server?: string
}

/**
 * Token usage as the provider reported it (field names after Anthropic's; OpenAI's
 * `prompt_tokens` / `input_tokens` include the cached part, Anthropic's `input_tokens` does not:
 * {@link normalizeUsage} turns this into one convention). Anthropic's `message_delta` usage is
 * cumulative: the latest event wins.
 */
export interface Usage {
  input_tokens?: number
  output_tokens?: number
  cache_read_input_tokens?: number
  cache_creation_input_tokens?: number
  /** Anthropic `usage.cache_creation.ephemeral_5m_input_tokens`: cache writes with a 5-minute TTL. */
  cache_creation_5m_input_tokens?: number
  /** Anthropic `usage.cache_creation.ephemeral_1h_input_tokens`: cache writes with a 1-hour TTL. */
  cache_creation_1h_input_tokens?: number
  reasoning_tokens?: number
  total_tokens?: number
}

/**
 * Usage of the current message (response). Within one message the latest usage event holds the
 * message's complete counts. `cumulative` says how the message's usage combines with earlier
 * usage of the *flow*: true when it replaces it (the flow's first message), false when it adds
 * to it (the second and later responses on one Responses WebSocket flow, each reporting only
 * its own tokens).
 */
export interface UsageEvent extends EventBase {
  type: 'usage'
  usage: Usage
  /** true when this usage replaces earlier usage of the flow (cumulative), false when it adds. */
  cumulative: boolean
}

export interface MessageEndEvent extends EventBase {
  type: 'message_end'
  /** `end_turn`, `tool_use`, `max_tokens`, `completed`, `failed`, `incomplete`, `stop`, … */
  stop_reason?: string
  /** true when the stream ended without its terminal event. */
  incomplete?: boolean
  /** Provider detail of an unusual end (Responses `incomplete_details.reason`, e.g. `max_output_tokens`). */
  detail?: string
}

export interface ErrorEvent extends EventBase {
  type: 'error'
  error_type?: string
  code?: string
  message: string
}

/** One rate-limit window of a {@link RateLimitsEvent} (Codex: the 5-hour `primary`, the weekly `secondary`). */
export interface RateLimitWindow {
  /** Share of the window used, in percent (0–100, may exceed 100). */
  used_percent: number
  /** Length of the window in minutes, when sent. */
  window_minutes?: number
  /** When the window resets, Unix seconds, when sent (`reset_at` / `resets_at`). */
  resets_at?: number
  /** Seconds until the window resets, when sent instead of `resets_at` (older Codex servers). */
  resets_in_seconds?: number
}

/**
 * The account's rate-limit state, sent inside the stream (Codex: a `codex.rate_limits` event, over
 * SSE or as a WebSocket text frame, before each response). The same fact as the `x-codex-*`
 * response headers; {@link rateLimitHeaders} writes it with their names.
 */
export interface RateLimitsEvent extends EventBase {
  type: 'rate_limits'
  /** The metered limit (`codex` for the default one; `metered_limit_name` / `limit_name`). */
  limit_id: string
  primary?: RateLimitWindow
  secondary?: RateLimitWindow
  /** Plan of the account (`plus`, `pro`, `team`, …), when sent. */
  plan_type?: string
  /** Credits of the account, when sent. */
  credits?: { has_credits: boolean; unlimited: boolean; balance?: string }
}

export interface UnknownEvent extends EventBase {
  type: 'unknown'
  /** SSE event name or JSON `type` of what was not understood. */
  event?: string
  /** The raw data string. */
  data: string
  /** Why it is unknown: unrecognised type, JSON parse failure, … */
  reason?: string
}

/** Any unified event. Narrow on `type`. */
export type AgentEvent =
  | MessageStartEvent
  | TextDeltaEvent
  | ThinkingDeltaEvent
  | ToolCallStartEvent
  | ToolArgsDeltaEvent
  | ToolCallEndEvent
  | UsageEvent
  | MessageEndEvent
  | ErrorEvent
  | RateLimitsEvent
  | UnknownEvent

/** Every `AgentEvent['type']`. */
export type AgentEventType = AgentEvent['type']
