import type { BaseRecord, FlowEndRecord, FlowRecord, SseRecord } from '@agenttap/jsonl-io'
import type { AgentEvent, StreamProvider, Usage } from './normalizer-contract.js'

/**
 * A canonical capture record as flow-fsm reads it: `@agenttap/jsonl-io`'s record types (the one
 * declaration of the format), with every field but `type` and `flow_id` optional, since a reader
 * must cope with records that lack them. Any jsonl-io `CaptureRecord` is one.
 */
export type CanonicalRecord = Partial<BaseRecord> & Pick<BaseRecord, 'type' | 'flow_id'>

/** `type:"flow"`: one per intercepted request (jsonl-io's `FlowRecord`, fields optional). */
export type FlowRecordLike = Partial<FlowRecord> & { type: 'flow'; flow_id: string }

/** `type:"sse"`: one dispatched SSE event or WebSocket text frame (jsonl-io's `SseRecord`, fields optional but `data`). */
export type SseRecordLike = Partial<SseRecord> & { type: 'sse'; flow_id: string; data: string }

/** `type:"flow_end"`: how the flow finished (jsonl-io's `FlowEndRecord`, fields optional). */
export type FlowEndRecordLike = Partial<FlowEndRecord> & { type: 'flow_end'; flow_id: string }

/** Lifecycle state of one flow. `DONE` and `DEAD` are final. */
export type FlowState = 'STREAMING' | 'DONE' | 'DEAD'

/** Why a flow went `DEAD`. */
export type DeadReason =
  /** Nothing arrived for `idleMs`. */
  | 'idle'
  /** The stream ended (message_end `incomplete`, or flow_end) without its terminal event. */
  | 'incomplete'
  /** flow_end said `aborted` (client or proxy cut the connection). */
  | 'aborted'

/** Which kind of output block the flow is in. */
export type BlockKind = 'text' | 'thinking' | 'tool'

/** The block a flow is currently streaming. */
export interface CurrentBlock {
  kind: BlockKind
  index?: number
  call_id?: string
  name?: string
}

/** Event counts of one flow. */
export interface FlowCounts {
  /** Canonical `sse` records seen. */
  records: number
  /** Unified events seen. */
  events: number
  textDeltas: number
  thinkingDeltas: number
  toolCalls: number
  toolArgsDeltas: number
  errors: number
  unknown: number
  /** Characters of visible text streamed. */
  textChars: number
  /** Characters of thinking streamed. */
  thinkingChars: number
  /** Messages (responses) that ended; a WebSocket flow can carry several. */
  messages: number
}

/** Everything the registry knows about one flow. Read-only snapshot semantics: do not mutate. */
export interface FlowInfo {
  flow_id: string
  session_id: string
  state: FlowState
  /** Set when `state` is `DEAD`. */
  deadReason?: DeadReason | undefined
  client?: string
  /** Provider from the flow record (`anthropic`, `openai`) or the stream (`openai-responses` …). */
  provider?: string | StreamProvider
  url?: string
  /** `ws` when the flow is a WebSocket connection (several responses, ends with the connection). */
  transport?: 'sse' | 'ws'
  model?: string
  message_id?: string
  /** HTTP status from the flow / flow_end record. */
  status?: number
  /** flow_end `outcome` when one arrived. */
  outcome?: string
  stop_reason?: string
  /** Last error message (stream `error` event or flow_end error). */
  error?: string
  currentBlock?: CurrentBlock | undefined
  counts: FlowCounts
  /** Latest usage; cumulative usage replaces, additive usage sums. */
  usage: Usage
  /** Capture time the flow started (ms since epoch, from the flow record `ts`), when known. */
  startedAt?: number
  /** Time to first byte in ms (flow_end `ttfb_ms`, else first sse `t_ms`, else first record ts). */
  ttfb_ms?: number
  /** Duration in ms (flow_end `duration_ms`, else last sse `t_ms`). */
  duration_ms?: number
  /** A message (response) started and has not ended yet. */
  messageOpen?: boolean
  /** Injected-clock time of the last input for this flow. */
  lastActivityAt: number
  /** Injected-clock time the flow became DONE/DEAD. */
  finishedAt?: number | undefined
}

/** A state change of one flow, reported by the registry. */
export interface FlowTransition {
  flow_id: string
  from: FlowState
  to: FlowState
  /** `resumed`: an idle-DEAD flow received data again and is back to STREAMING. */
  reason: 'terminal_event' | 'flow_end' | 'resumed' | DeadReason
  flow: FlowInfo
}

/** Style tag of rendered text; the app maps styles to colors (or none). */
export type RenderStyle = 'text' | 'thinking' | 'tool' | 'command' | 'error' | 'meta' | 'dim'

/**
 * One rendering instruction. `text` never contains a newline (newlines are `newline` ops), so a
 * consumer always knows whether the cursor is at the start of a line. `backtrack` means
 * "carriage return + erase line" (`\r\x1b[2K` on a terminal). `header` starts a card on the
 * screen: print it on its own line.
 */
export type RenderOp =
  | { op: 'text'; text: string; style: RenderStyle }
  | { op: 'backtrack' }
  | { op: 'newline' }
  | { op: 'header'; flow_id: string; session_id: string; client?: string; ts: number }

/** Kind of a tool-call lifecycle defect. */
export type CallFindingKind =
  /**
   * A call was announced in a response and no later request carried its result (not reported
   * for calls already reported as `incomplete_args`, nor for provider-run server tools).
   */
  | 'unanswered_call'
  /** A request carried a result whose call was never announced (not captured, not in the history). */
  | 'orphan_result'
  /** The same call id was announced twice. */
  | 'duplicate_call'
  /** A result appeared in a request earlier than the response that announced its call. */
  | 'result_before_call'
  /** The call's arguments never completed (stream ended mid-arguments). */
  | 'incomplete_args'
  /** The call's arguments completed but are not valid JSON. */
  | 'invalid_args'

/** One tool-call lifecycle defect, with where it was seen. */
export interface CallFinding {
  kind: CallFindingKind
  session_id: string
  call_id: string
  /** Tool name, when known. */
  name?: string
  /** Flow where the defect shows (the announcing flow, or the request carrying the result). */
  flow_id: string
  /** Canonical `seq` of the sse record (response side). */
  seq?: number
  /**
   * Human-readable position: `response seq 12 (block 1)` or a request-body path such as
   * `request_body.messages[4].content[0]`.
   */
  position: string
  /** The other flow involved (the first announcement for duplicates, the call for early results). */
  related_flow_id?: string
  /** One line describing the defect and what it means. */
  message: string
}

/** Per-session tool-call counts. */
export interface CallCounts {
  flows: number
  /** Distinct call ids announced in captured responses. */
  calls: number
  /** Calls whose result appeared in a later request. */
  answered: number
  unanswered: number
  /** Distinct results seen in requests (history replays counted once). */
  results: number
  orphanResults: number
  duplicateCalls: number
  resultsBeforeCall: number
  incompleteArgs: number
  invalidArgs: number
  /** Results for calls announced before the capture started (found only in the request history). */
  preCaptureResults: number
  /**
   * Requests whose body could not be checked (stored out of line as `{"$ref": …}` and not
   * resolved, or not JSON). Their results are unknown, so unanswered calls may be false alarms.
   */
  uncheckedRequests: number
}

export type { AgentEvent }
