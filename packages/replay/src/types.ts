/**
 * A capture, as replay serves it: one {@link ReplayExchange} per captured model response (and per
 * auxiliary request), each with the request's fingerprint, the response's status and headers, and
 * where its events are on disk (byte ranges of the capture's lines, read when the call is served).
 */

/** How a captured response travelled. */
export type ReplayTransport = 'sse' | 'ws' | 'http'

/** One server event (an SSE event, or a WebSocket text frame) of a captured response. */
export interface ReplayEvent {
  /** ms after the request (for a WebSocket response: after the client frame that asked for it). */
  t: number
  /** SSE `event:` name (absent when the server sent none, and for WebSocket frames). */
  event?: string
  data: string
}

/** What a request asked for, reduced to what identifies it in a conversation. */
export interface RequestPrint {
  /** `anthropic-messages`, `openai-responses`, `openai-chat`, or `aux` for anything else. */
  api: string
  model?: string
  /** Hash of the system prompt with its volatile parts left out (see `fingerprint.ts`). */
  system?: string
  tools?: string
  /** Responses `previous_response_id` (the history sent is what follows that response). */
  previous?: string
  /** History chain (session-extractor's `history`): `history[i]` covers messages 0..i. */
  history: string[]
  /**
   * The canonical message of each history unit, for reports (session-extractor's
   * `requestHistoryUnits`). Absent on a loaded capture's prints (they are most of a request's
   * bytes): `ReplayCapture.readPrint` reads them again from disk when a report needs them.
   */
  units?: string[]
  /** Aux requests: `METHOD path` (no query). */
  route?: string
  /**
   * `aux` for a request that asks the model nothing a conversation depends on: a non-model
   * endpoint (policy limits, settings, plugin lists), a Codex prewarm (`generate: false`), a Claude
   * Code request without tools (quota check, title) — session-extractor's request anatomy decides.
   */
  kind: 'model' | 'aux'
  /** The key requests are matched on: equal requests have equal keys. */
  key: string
}

/** One captured response and the request that asked for it. */
export interface ReplayExchange {
  /** The ledger's call key (`<flow_id>#<index>`); aux flows `<flow_id>#0`. */
  key: string
  flow_id: string
  /** Position of the response in its flow (a Codex WebSocket flow holds several). */
  index: number
  session_id: string
  client: string
  provider: string
  kind: 'model' | 'aux'
  transport: ReplayTransport
  method: string
  /** Path and query of the captured request. */
  path: string
  print: RequestPrint
  /** The new user prompt of the request, when it had one (from the ledger). */
  prompt?: string
  /** HTTP status (101 for a WebSocket flow). */
  status: number
  /** Response headers to send: hop-by-hop, length, encoding and redacted ones left out. */
  headers: Record<string, string | string[]>
  /** ms from the request to the response head (HTTP), when captured. */
  ttfb?: number
  /** Number of events of the response (read from disk by `ReplayCapture.readEvents` when served). */
  eventCount: number
  /** Where the exchange is on disk. */
  source: ExchangeSource
  /** The captured response stopped before its end (upstream cut, proxy killed): the replay cuts it too. */
  cut: boolean
  /** Order of the exchange in the capture (request time). */
  order: number
}

/** A byte range of a capture file: `[start, end)`. */
export interface ByteRange {
  file: string
  start: number
  end: number
}

/** Where an exchange's records are in the capture files (so a large capture is served with bounded memory). */
export interface ExchangeSource {
  /** The `flow` record (the request, its headers). */
  request: ByteRange
  /** The `client_frame` that asked for a WebSocket response. */
  frame?: ByteRange
  /** The lines holding the response's records (adjacent lines of the flow joined into one range), in file order. */
  lines: ByteRange[]
  /** The `flow_end` record, when captured. */
  end?: ByteRange
  /** `t_ms` of the client frame that asked for a WebSocket response (event times are counted from it). */
  t0: number
}

/** A WebSocket connection as captured: the upgrade's answer, and the responses it carried. */
export interface ReplayConnection {
  flow_id: string
  path: string
  /** Headers of the 101 answer (hop-by-hop and WebSocket handshake headers left out). */
  headers: Record<string, string | string[]>
  keys: string[]
}

/** A capture loaded for replay. */
export interface ReplayCapture {
  /** The capture directory the files were read from. */
  dir: string
  /** The file the capture was read from when it is a single JSONL file. */
  file?: string
  exchanges: ReplayExchange[]
  connections: ReplayConnection[]
  /** Sessions in the capture, with their number of exchanges (all of them, whatever `session` chose). */
  sessions: Record<string, number>
  /** Events of all exchanges. */
  events: number
  /** The events of an exchange, read from the capture files (its `source.lines`), in `seq` order. */
  readEvents(exchange: ReplayExchange): Promise<ReplayEvent[]>
  /** The body of a response that was not an event stream (redacted as captured), when captured. */
  readBody(exchange: ReplayExchange): Promise<Buffer | undefined>
  /** The exchange's request fingerprint with its `units`, read again from the capture files (for reports). */
  readPrint(exchange: ReplayExchange): Promise<RequestPrint>
}

/** Where a request left the capture. */
export interface Difference {
  /** What differs first: `api`, `model`, `system`, `tools`, `previous_response_id`, `history` (a message), `route` (aux), or `used` (every equal call was already served). */
  field: 'api' | 'model' | 'system' | 'tools' | 'previous_response_id' | 'history' | 'route' | 'used'
  /** For `history`: the index of the first differing message. */
  index?: number
  /**
   * For `history`, when both have that message: the character (of the message as `expected` and
   * `received` show it, role first) at which they first differ.
   */
  at?: number
  /** The captured call's value: for `history`, an excerpt around the first differing character (`…` where it cuts). */
  expected?: string
  /** The request's value (an excerpt, around the same character). */
  received?: string
}

/** One line of the divergence report (JSONL). */
export interface DivergenceEntry {
  type: 'divergence'
  ts: string
  method: string
  path: string
  transport: 'http' | 'ws'
  api: string
  model?: string
  /** The request's fingerprint key. */
  fingerprint: string
  /** Messages in the request's history. */
  messages: number
  /** The captured call that came closest, when there was one. */
  closest?: { key: string; flow_id: string; index: number; session_id: string; common_messages: number; prompt?: string; used: boolean }
  difference: Difference
  /** What replay did: answered with the provider-shaped error, or sent the request to the real upstream. */
  action: 'error' | 'fallthrough'
  /** Status of the error replay answered with; 0 when the request went to the real upstream. */
  status: number
}

/** The last line of the report, written when the server closes. */
export interface ReplaySummary {
  type: 'summary'
  ts: string
  capture: string
  served: number
  divergences: number
  fallthroughs: number
  /**
   * Auxiliary requests (non-model endpoints, prewarms, quota checks) asked more often than the
   * capture has them, answered again from the capture (or, for a non-model endpoint the capture
   * never saw, with an empty success) and not counted as divergences.
   */
  aux: number
  /** Captured calls never asked for. */
  unused: string[]
}
