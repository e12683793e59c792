import { randomUUID } from 'node:crypto'
import type { FlowOutcome } from '@agenttap/jsonl-io'
import type { CaptureChannel } from './capture-channel.js'
import type { FlowInit } from './capture-ops.js'
import type { HostFilter } from './host-filter.js'

type Headers = Record<string, string | string[] | undefined>

/** The data path's handle on a flow; the capture engine keeps the rest. */
export interface Flow {
  id: string
  seq: number
  host: string
  method: string
  state: 'open' | 'ended'
  /** False when the host filter can't capture this flow whatever it answers: the capture never hears of it. */
  capturable: boolean
  /** Response status, once a head came. */
  status?: number
  reqBytes: number
  reqTruncated: boolean
  /** How much of the request body the capture gets. */
  reqCap: number
  /** Cuts the flow's connections (proxy shutdown). */
  kill?: () => void
}

/** What the relays tell the capture about flows, as ops in wire order (see {@link CaptureChannel}). */
export interface FlowFeed {
  /** A request head: a new flow (`captured` decides for WebSocket flows, else the host filter). */
  open(method: string, url: string, host: string, headers: Headers, transport: 'sse' | 'ws' | 'http', clientIp?: string, captured?: boolean): Flow
  /** Request body bytes (capped for the capture; the upstream gets them all anyway). */
  requestBody(flow: Flow, chunk: Buffer): void
  /** A response head. */
  response(flow: Flow, status: number, headers: Headers): void
  /** Response body bytes (transfer coding removed) the client already has. */
  responseBody(flow: Flow, chunk: Buffer): void
  /** A WebSocket message (`fromServer`: upstream → client). */
  wsMessage(flow: Flow, fromServer: boolean, data: Buffer, isBinary: boolean): void
  /** Something for the flow_end's `error`. */
  note(flow: Flow, message: string): void
  /** Ends a flow exactly once (its flow_end follows from the capture). */
  end(flow: Flow, outcome: FlowOutcome, error?: string): void
  /** The capture is behind: stop reading `source` until it caught up (memory stays bounded, nothing is dropped). */
  throttle(source: { pause(): void; resume(): void }): void
  /** Ends every open flow (`aborted`) and cuts its connections. */
  abortAll(reason: string): void
  readonly openFlows: number
  readonly stats: { flows: number; bytes: number }
}

/** Wall-clock time with sub-ms precision: ops carry the wire time of what they report. */
function now(): number {
  return performance.timeOrigin + performance.now()
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}

/**
 * Creates the feed from the relays to the capture. Flows of hosts the filter can never capture
 * cost no capture work: the capture never hears of them.
 */
export function createFlowFeed(opts: { filter: HostFilter; maxRequestBodyBytes: number; channel: () => CaptureChannel | undefined }): FlowFeed {
  const { filter } = opts
  const open = new Set<Flow>()
  const stats = { flows: 0, bytes: 0 }
  let flowSeq = 0
  const post: CaptureChannel['post'] = (op) => opts.channel()?.post(op)

  /**
   * How much of a request body to keep for the capture. Hosts that are only captured if they
   * answer text/event-stream get a smaller buffer: a large upload to some unrelated host
   * shouldn't sit in memory for nothing.
   */
  const requestCap = (host: string): number => (filter.captures(host) ? opts.maxRequestBodyBytes : Math.min(opts.maxRequestBodyBytes, 4 * 1024 * 1024))

  const feed: FlowFeed = {
    open(method, url, host, headers, transport, clientIp, captured) {
      stats.flows++
      // A host the filter excludes even for an event stream is never captured: no capture work at all.
      const capturable = captured ?? filter.captures(host, 'text/event-stream')
      const flow: Flow = { id: randomUUID(), seq: flowSeq++, host, method, state: 'open', capturable, reqBytes: 0, reqTruncated: false, reqCap: requestCap(host) }
      open.add(flow)
      if (!capturable) return flow
      const init: FlowInit = { seq: flow.seq, t: now(), method, url, host, transport, headers }
      if (clientIp !== undefined) init.clientIp = clientIp
      if (captured !== undefined) init.captured = captured
      post(['open', flow.id, init])
      return flow
    },
    requestBody(flow, chunk) {
      if (flow.reqTruncated || flow.state !== 'open' || !flow.capturable) return
      if (flow.reqBytes + chunk.length > flow.reqCap) {
        flow.reqTruncated = true
        return
      }
      flow.reqBytes += chunk.length
      post(['req', flow.id, chunk])
    },
    response(flow, status, headers) {
      flow.status = status
      // The capture decides what to keep of it with the host filter's verdict on the content type.
      if (flow.state === 'open' && flow.capturable) post(['head', flow.id, now(), status, headers, filter.captures(flow.host, headerValue(headers['content-type']))])
    },
    responseBody(flow, chunk) {
      stats.bytes += chunk.length
      if (flow.state === 'open' && flow.capturable) post(['body', flow.id, now(), chunk])
    },
    wsMessage(flow, fromServer, data, isBinary) {
      if (flow.state !== 'open') return
      stats.bytes += data.length
      if (flow.capturable) post(['ws', flow.id, now(), fromServer, data, isBinary])
    },
    note(flow, message) {
      if (flow.state === 'open' && flow.capturable) post(['note', flow.id, message])
    },
    end(flow, outcome, error) {
      if (flow.state !== 'open') return
      flow.state = 'ended'
      open.delete(flow)
      if (!flow.capturable) return
      // A flow that ends before any response head is captured by its host alone.
      post(['end', flow.id, now(), outcome, error, filter.captures(flow.host), flow.reqTruncated])
    },
    throttle(source) {
      const ch = opts.channel()
      if (!ch?.congested) return
      source.pause()
      ch.whenDrained(() => source.resume())
    },
    abortAll(reason) {
      for (const flow of [...open]) {
        feed.end(flow, 'aborted', reason)
        flow.kill?.()
      }
    },
    get openFlows() {
      return open.size
    },
    stats,
  }
  return feed
}
