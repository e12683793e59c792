import type { CaptureRecord, FlowEndRecord } from '@agenttap/jsonl-io'

/**
 * What the proxy's data path tells the capture, in wire order. Every op carries the time it
 * happened on the wire (`t`: ms since the epoch, sub-ms precision), so records are timed by the
 * traffic, not by when the capture got round to them (it may run later, or on another thread).
 */
export type CaptureOp =
  /** A request head: the flow starts. */
  | [op: 'open', id: string, init: FlowInit]
  /** Request body bytes (already capped by the proxy). */
  | [op: 'req', id: string, chunk: Uint8Array]
  /** A response head; `captured` is the host filter's verdict. */
  | [op: 'head', id: string, t: number, status: number, headers: Headers, captured: boolean]
  /** Response body bytes, transfer coding removed. */
  | [op: 'body', id: string, t: number, chunk: Uint8Array]
  /** A WebSocket message (`fromServer`: upstream → client). */
  | [op: 'ws', id: string, t: number, fromServer: boolean, data: Uint8Array, isBinary: boolean]
  /** Something to report on the flow_end. */
  | [op: 'note', id: string, message: string]
  /** The flow is over; `captured` overrides the verdict when no response head came. */
  | [op: 'end', id: string, t: number, outcome: FlowEndRecord['outcome'], error: string | undefined, captured: boolean | undefined, reqTruncated: boolean]
  /** A record the proxy did not capture (a sink's `sink_gap` notice): written as it is, in order with the others. */
  | [op: 'record', record: CaptureRecord]

export type Headers = Record<string, string | string[] | undefined>

/** The start of a flow, as the proxy saw it. */
export interface FlowInit {
  seq: number
  /** Wire time of the request head (ms since the epoch). */
  t: number
  method: string
  url: string
  host: string
  transport: 'sse' | 'ws' | 'http'
  headers: Headers
  clientIp?: string
  /** WebSocket flows are captured from the start (the filter decided on the upgrade). */
  captured?: boolean
}
