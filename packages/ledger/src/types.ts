import type { CacheSegment, RequestAnatomy } from '@agenttap/session-extractor'
import type { NormalizedUsage } from '@agenttap/stream-normalizer'

/**
 * The model-call ledger's output: the facts every reader of a capture (analyze, the live views,
 * exporters, replay, transcript importers) agrees on. Provider semantics are decoded once —
 * responses by `@agenttap/stream-normalizer`, requests by `@agenttap/session-extractor` — and
 * assembled here into one {@link ModelCall} per model response.
 *
 * Conventions (documented in docs/FORMAT.md, section "Model calls"):
 * - token counts are normalised so that `input + cache_read + cache_write_5m + cache_write_1h`
 *   is every prompt token the provider processed, each counted once, and `output` includes
 *   reasoning (`reasoning` is the part of `output` that was reasoning, when reported);
 * - times are ISO-8601 UTC strings with milliseconds, like the capture records;
 * - text fields hold what the provider sent, already redacted on disk by the proxy.
 */

/**
 * Version of the ledger's output. Bumped whenever a field's meaning changes or a field is
 * added that an index must materialise; an index built by another version is rebuilt.
 */
export const LEDGER_VERSION = 4 as const

/** Where a call was learned from. */
export type CallSource = 'wire' | 'claude-transcript' | 'codex-rollout' | 'otel'

/** The API family the call spoke (the response side's stream format). */
export type CallApi = 'anthropic-messages' | 'openai-responses' | 'openai-chat' | 'unknown'

/** How the response travelled: an SSE stream, WebSocket frames, or one (non-streaming) HTTP body. */
export type CallTransport = 'sse' | 'ws' | 'http'

/**
 * What a flow is: `model` asks a model for a response; `aux` is anything else the agent calls
 * (Claude Code's `/api/claude_code/policy_limits` and `/settings`, Codex's plugin listing,
 * token counting, quota and title requests without tools…). Aux flows are kept, but model
 * views and counts leave them out by default.
 */
export type FlowKind = 'model' | 'aux'

/**
 * How a call ended.
 * - `completed`: the provider's terminal event (`message_stop`, `response.completed`,
 *   `response.incomplete`, a Chat `finish_reason` / `[DONE]`) or a whole JSON body was captured,
 *   with no error — whatever the socket did afterwards (Codex closes it as soon as it reads
 *   `response.completed`);
 * - `error`: the provider reported an error (an HTTP status ≥ 400, an `error` event, `response.failed`);
 * - `truncated`: the stream stopped before its terminal event and nobody reported why
 *   (upstream closed, proxy killed);
 * - `aborted`: the client went away before the terminal event;
 * - `upstream_error`: the upstream could not be reached or answered with no response at all;
 * - `open`: still streaming (only while a flow is live; an index keeps such calls pending).
 */
export type CallOutcome = 'completed' | 'error' | 'truncated' | 'aborted' | 'upstream_error' | 'open'

/**
 * Tokens of one call, provider conventions normalised:
 * - Anthropic: `input` = `input_tokens` (it excludes cache reads and writes), `cache_read` =
 *   `cache_read_input_tokens`, cache writes split by TTL from `cache_creation.ephemeral_5m/1h_input_tokens`
 *   (all of `cache_creation_input_tokens` counts as 5m when the split is absent), `output` =
 *   the last `message_delta.usage.output_tokens` (cumulative: the last, never the sum);
 * - OpenAI Responses / Chat: `input` = `input_tokens − cached_tokens` (OpenAI's input includes
 *   the cached part), `cache_read` = `cached_tokens`, no cache writes, `output` = `output_tokens`
 *   (includes reasoning), `reasoning` = `reasoning_tokens`.
 *
 * One shape with stream-normalizer's `NormalizedUsage` (whose `normalizeUsage` applies these
 * conventions): declared there once, named here for the ledger's readers.
 */
export type CallUsage = NormalizedUsage

/** The provider's error, as it reported it. */
export interface CallError {
  /** e.g. `overloaded_error`, `rate_limit_error`, `invalid_request_error`, `server_error`. */
  type?: string
  /** e.g. `rate_limit_exceeded` (OpenAI). */
  code?: string
  message: string
}

/** Kind of tool call (the vocabulary of `@agenttap/stream-normalizer`'s `ToolCallKind`). */
export type LedgerToolKind = 'function' | 'custom' | 'local_shell' | 'server' | 'mcp'

/** A tool call the model made in this response. */
export interface LedgerToolCall {
  /** Provider call id: Anthropic `toolu_…`, Responses `call_id`, Chat `tool_calls[].id`. */
  call_id: string
  /** Position of the call within the response (0-based). */
  position: number
  name: string
  kind: LedgerToolKind
  /** The arguments as sent (joined fragments): JSON text for function calls, raw text for custom ones. */
  arguments: string
  /** false when the stream stopped before the call's end. */
  complete: boolean
  /** Why `arguments` is not valid JSON, when it should be and is not. */
  parse_error?: string
  /** For shell tools (the shell-tool vocabulary of stream-normalizer): the command as a user would type it. */
  command?: string
  /** For shell tools: the working directory, when given. */
  workdir?: string
  /** MCP server label, when the call names one. */
  server?: string
}

/** A tool result the request sent back (the answer to an earlier call). */
export interface LedgerToolResult {
  /** The call it answers. */
  call_id: string
  /** Tool name, from the call in the request's own history (or the ledger's memory of the session). */
  name?: string
  /** The result text: text blocks joined, Codex's `{"output", "metadata"}` wrapper unwrapped. */
  output: string
  /** The tool reported failure (`is_error`, a non-zero exit code). */
  is_error: boolean
  /** Exit code, when the tool reported one. */
  exit_code?: number
}

/**
 * What the request asked for (the request side, decoded by session-extractor's request anatomy).
 * Large content (system prompt, tool definitions) is referenced by hash; the text comes once
 * per distinct hash through {@link LedgerContent}.
 */
export type CallRequest = Pick<
  RequestAnatomy,
  'model' | 'max_tokens' | 'temperature' | 'reasoning_effort' | 'stream' | 'tool_names' | 'message_count' | 'tools_hash' | 'history_hash' | 'prompt_cache_key' | 'user_agent'
> & {
  /** Hash of the system prompt / Responses `instructions` (see {@link LedgerContent}); the text is in `RequestAnatomy.system`. */
  system_hash?: string
  /**
   * The request in the provider's cache order (Anthropic: tools → system blocks → messages;
   * Responses: instructions → tools → input items): one exact hash and byte size per segment and
   * the `cache_control` breakpoints (session-extractor's `cacheSegments`). Absent when the body
   * could not be read.
   */
  segments?: CallSegment[]
}

/** One segment of a request in cache order (see {@link CallRequest.segments}): session-extractor's `CacheSegment`, which decodes it. */
export type CallSegment = CacheSegment

/** One model response, with the request that asked for it. */
export interface ModelCall {
  ledger_version: typeof LEDGER_VERSION
  /** Stable unique key: `<flow_id>#<index>` for wire calls; `<source>:<id>` otherwise. */
  key: string
  source: CallSource
  flow_id: string
  /** Position of this response within its flow (a Codex WebSocket flow carries many). */
  index: number
  /** Provider response id: Anthropic `msg_…`, Responses `resp_…`, Chat `chatcmpl-…`. */
  response_id?: string
  /** Provider request id: the response's `request-id` (Anthropic) / `x-request-id` (OpenAI) header. */
  request_id?: string
  session_id: string
  /** Which rule found the session id (`header:…`, `body:…`, `history` when chained by history, `derived`). */
  session_source?: string
  /** Subagent marker of the request (`x-openai-subagent`, Claude Code agent id), absent for the main agent. */
  agent?: string
  /** `claude-code`, `codex`, `sdk`, `unknown`, … */
  client: string
  /** `anthropic`, `openai`, `unknown`. */
  provider: string
  api: CallApi
  transport: CallTransport
  kind: FlowKind
  /** Model the response reported, else the one the request named. */
  model?: string
  /** When the request was sent (the flow start; for later WebSocket responses, the client frame that asked). */
  started_at: string
  /** When the first model output (text, thinking or tool call) arrived. */
  first_token_at?: string
  /** When the call ended (terminal event, or the flow end). */
  ended_at?: string
  /** `first_token_at − started_at` in ms. */
  ttft_ms?: number
  /** `ended_at − started_at` in ms. */
  duration_ms?: number
  outcome: CallOutcome
  /** `end_turn`, `tool_use`, `max_tokens`, `stop_sequence`, `completed`, `max_output_tokens`, `stop`, `tool_calls`, … */
  stop_reason?: string
  /** HTTP status of the flow (101 for WebSocket). */
  http_status?: number
  error?: CallError
  /** Absent when the response carried no usage. */
  usage?: CallUsage
  /** The new user prompt this request carried (system wrappers and tool results excluded), when it carried one. */
  prompt?: string
  /** Assistant text, blocks joined with a blank line. */
  text: string
  /** Reasoning text (thinking, reasoning text or summaries), blocks joined with a blank line. */
  reasoning: string
  tool_calls: LedgerToolCall[]
  /** Tool results carried by the request of this call. */
  tool_results: LedgerToolResult[]
  request: CallRequest
  /** Rate-limit state the response reported (header name → value, names lower-cased). */
  rate_limits?: Record<string, string>
}

/** One flow as a whole (a request/response pair, or a WebSocket connection). */
export interface FlowFacts {
  ledger_version: typeof LEDGER_VERSION
  flow_id: string
  session_id: string
  session_source?: string
  agent?: string
  client: string
  provider: string
  kind: FlowKind
  method?: string
  url?: string
  host?: string
  path?: string
  http_status?: number
  /** The capture's outcome of the flow (the `flow_end` record), corrected to `completed` when its terminal event was captured. */
  outcome: CallOutcome
  started_at: string
  ended_at?: string
  ttfb_ms?: number
  duration_ms?: number
  events?: number
  bytes?: number
  user_agent?: string
  /** Model calls the flow carried. */
  calls: number
}

/**
 * A context compaction the agent recorded: Claude Code's `compact_boundary` system entry, Codex's
 * `compacted` item or `context_compacted` event. Transcript importers emit them next to the calls
 * (the wire has no such event: a compaction there is just a request with a shorter history).
 */
export interface CompactionEvent {
  /** Stable unique key, `<source>:<session>:<id or position>` (re-importing a file gives the same keys). */
  key: string
  source: CallSource
  session_id: string
  /** Subagent that compacted, absent for the main agent. */
  agent?: string
  /** When the agent wrote it (ISO-8601 UTC). */
  at: string
  /** `auto` or `manual` when the agent says. */
  trigger?: string
  /** Context tokens before the compaction (Claude `compactMetadata.preTokens`; Codex: the thread's last prompt size). */
  pre_tokens?: number
  /** Context tokens after it, when known. */
  post_tokens?: number
}

/** A piece of request content referenced by hash from {@link CallRequest}, emitted once per distinct hash. */
export type LedgerContent =
  | { kind: 'system'; hash: string; text: string }
  | { kind: 'tool'; hash: string; name: string; tool_kind: string; description?: string; schema?: string }
  | { kind: 'tools'; hash: string; tool_hashes: string[] }
  /** A cache segment's JSON (only with the ledger's `segmentTexts` option). */
  | { kind: 'segment'; hash: string; text: string }

/**
 * What an agent's own telemetry said about a call, a tool call or a prompt (a `telemetry` record of
 * the capture, `signal: "log"`: Claude Code's `claude_code.*` and Codex's `codex.*` events), joined
 * to the wire's model call when it names one. Only telemetry knows some of it: what a call cost by
 * the agent's estimate, how long a tool ran and whether the user allowed it, which part of the agent
 * made the request (`query_source`), the agent id.
 */
export interface TelemetryFact {
  ledger_version: typeof LEDGER_VERSION
  source: 'otel'
  /** The event name as sent (`claude_code.api_request`, `codex.tool_result`). */
  name: string
  /** The event without its namespace (`api_request`, `tool_result`, `tool_decision`, `user_prompt`, `api_error`, …). */
  event: string
  client: string
  session_id: string
  /** When the agent says it happened. */
  time: string
  /** How it was joined: `request_id` (the response's `request-id` header), `tool_call_id` (the call whose response made the tool call), `session` (the session only), `none`. */
  join: 'request_id' | 'tool_call_id' | 'session' | 'none'
  /** The joined wire call's key and flow. */
  call_key?: string
  flow_id?: string
  request_id?: string
  prompt_id?: string
  tool_call_id?: string
  tool_name?: string
  model?: string
  /** The agent's cost estimate (Claude Code `cost_usd`). */
  cost_usd?: number
  /** Claude Code: the API request's or the tool's duration; Codex: the tool's. */
  duration_ms?: number
  /** Input tokens as the agent counts them (Claude Code: uncached input, like the API; Codex: input including cached). */
  input_tokens?: number
  output_tokens?: number
  cache_read_tokens?: number
  cache_creation_tokens?: number
  reasoning_tokens?: number
  /** Tool permission decision (`accept`, `reject`) and where it came from (`config`, `user_permanent`, …). */
  decision?: string
  decision_source?: string
  /** Whether the tool run succeeded. */
  success?: boolean
  /** Which part of the agent made the request (Claude Code `query_source`). */
  query_source?: string
  agent_id?: string
  status_code?: number
  error?: string
}
