import type { Alert, AlertOptions } from '@agenttap/cache-insights'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { AgentEvent } from '@agenttap/stream-normalizer'
import type { LiveCalls } from './live-calls.js'
import type { RenderOp } from './types.js'

/** The contract of `createLiveView`: its options, what it gives back, its JSON tap's events. */

/**
 * A tool result a request carried (the answer to an earlier response's tool call), as the JSON
 * tap gives it: from the flow's request body, or from a WebSocket client frame (Codex sends its
 * tool outputs in `response.create` frames on the same connection).
 */
export interface LiveToolResultEvent {
  type: 'tool_result'
  flow_id: string
  call_id: string
  name?: string
  output: string
  is_error: boolean
  exit_code?: number
}

/** A unified event as the JSON tap gives it (an AgentEvent, or a request's tool result) plus the flow's session and client. */
export type LiveJsonEvent = (AgentEvent | LiveToolResultEvent) & { session_id: string; client?: string }

/** Options of {@link createLiveView}. */
export interface LiveViewOptions {
  /** Receives the ops to put on the screen, in order. */
  onOps(ops: RenderOp[]): void
  /** JSON tap: receives the unified events instead of rendering them (`agenttap-monitor --json`). */
  onJson?(e: LiveJsonEvent): void
  /** Clock in ms (session guard, idle detection, end grace). @defaultValue Date.now */
  now?: () => number
  /** The card on screen keeps it until silent this long. @defaultValue 2000 */
  sessionGuardMs?: number
  /** Detection window of shell commands in tool arguments (min 8). @defaultValue 8 */
  argsSubDeltas?: number
  /** Show only tool calls (name + arguments): no text, thinking, results or end lines. */
  functionOnly?: boolean
  /** Show only flows whose session id starts with one of these. */
  sessions?: readonly string[]
  /** Show only flows of these clients (`claude-code`, `codex`, `unknown`). */
  clients?: readonly string[]
  /**
   * After a stream's terminal event, wait this long for the flow's `flow_end` record (outcome,
   * HTTP status) before showing the end line without it. @defaultValue 1000
   */
  flowEndGraceMs?: number
  /** A streaming flow silent this long is ended as dead (idle). @defaultValue 120000 */
  idleMs?: number
  /**
   * Raw tool-argument previews, erased by a backtrack once the call is understood. Off where
   * nothing can erase a row (pipes, logs). @defaultValue true
   */
  preview?: boolean
  /** Longest raw tool-argument preview, asked when a call starts (the terminal width). @defaultValue 72 */
  previewChars?: () => number
  /** `thinking: ` / `reasoning: ` labels before thinking (what tells it from the answer without colours). @defaultValue true */
  labels?: boolean
  /** The tool results a request sends back open its card (`↳ Bash result: …`). @defaultValue true */
  toolResults?: boolean
  /**
   * Time on card headers: `capture` (when the flow started, from its records) or `clock`
   * (`now()` when the card took the screen). @defaultValue 'capture'
   */
  headerTime?: 'capture' | 'clock'
  /**
   * The model calls the end lines are made from (usage, outcome, errors, durations). Fed every
   * record the view reads. @defaultValue createLiveCalls({ requestFacts: 'call' })
   */
  calls?: LiveCalls
  /** Diagnostics (malformed stream data, lifecycle defects), for `--verbose` logging. */
  onDiagnostic?(e: Error): void
  /**
   * Live alerts (`@agenttap/cache-insights`' alert monitor over the view's calls): a cache break
   * with its cause and cost, context ≥ 80 % of the window, quota ≥ 80 %, a model switch mid-session.
   * `true` or thresholds: each alert is one line under the end line of the call that raised it
   * (and goes to `onAlert`). Needs the view's own calls (no `calls` option). @defaultValue false
   */
  alerts?: boolean | Omit<AlertOptions, 'onAlert'>
  /** Receives each alert once (a hook, the web badge); setting it turns alerts on. */
  onAlert?(alert: Alert): void
}

/** Counters of a {@link LiveView}. */
export interface LiveViewStats {
  records: number
  /** Unified events produced by the normalizers. */
  events: number
  /** Flows seen (shown or filtered out). */
  flows: number
  /** Flows skipped by `sessions` / `clients`. */
  filteredFlows: number
  /** Flows whose end was shown. */
  ended: number
  /** Malformed-stream reports from the normalizers. */
  streamErrors: number
  /** Flows currently held (bounded: ended flows are dropped). */
  liveFlows: number
}

/** Records in, render ops out. See {@link createLiveView}. */
export interface LiveView {
  /** Feeds one canonical record (`flow`, `sse`, `client_frame`, `flow_end`; other types are ignored). */
  feed(record: CaptureRecord): void
  /** Applies the clock: idle flows, overdue end lines, the session guard. Call from a timer. */
  tick(): void
  /** End of input: open streams end (cut off), every end line and buffered card is shown. */
  end(): void
  /**
   * Ends at most `max` open flows as `end()` would, and returns how many are still open: a
   * caller that must stay responsive (to a signal, to its output) ends a large input in slices,
   * then calls `end()` for the rest.
   */
  endFlows(max: number): number
  /**
   * The viewer stops watching (Ctrl-C): buffered output is shown, but streams still open are not
   * declared dead: they may well go on.
   */
  stop(): void
  /** The ts (ms) of the latest record, for time prefixes. */
  readonly lastRecordTime: number
  readonly stats: LiveViewStats
}
