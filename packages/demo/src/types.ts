import type { Writable } from 'node:stream'
import type { DemoError } from './errors.js'

/** Options of `runDemo`. */
export interface DemoOptions {
  /** Log root of the demo capture. @defaultValue a new temporary directory */
  logDir?: string
  /** agenttap CA directory (the proxy's certificates, the replay's). @defaultValue `~/.agenttap/ca` */
  caDir?: string
  /** Port of the capture proxy. @defaultValue 0 (a free one) */
  port?: number
  /** Serve the live web view on this port; `false` for none. @defaultValue 0 (a free one) */
  webPort?: number | false
  /** Attach the live monitor to this output (a terminal); `false` for none. @defaultValue false */
  monitor?: Writable | false
  /** Where the demo says what it does and what to try next. @defaultValue process.stdout */
  output?: Writable
  /** Pace of the replayed responses (1 = as recorded; `Infinity` = as fast as possible). @defaultValue 1 */
  speed?: number
  /** The capture to replay. @defaultValue the capture bundled with this package */
  capture?: string
  /** Problems that do not stop the demo. */
  onError?(error: DemoError): void
}

/** A running demo. */
export interface Demo {
  /** The log root the proxy captures into. */
  logDir: string
  /** `http://127.0.0.1:<port>` of the capture proxy (HTTPS_PROXY). */
  proxyUrl: string
  /** The replay upstream. */
  replayUrl: string
  /** The web view's URL with its token, when it runs. */
  webUrl?: string
  /** Resolves when the scripted client has sent every request and read every answer. */
  finished: Promise<DemoResult>
  /** Stops the client, the proxy (flushing the capture), the replay, the monitor and the web view. */
  close(): Promise<void>
}

/** What the scripted client did. */
export interface DemoResult {
  /** Requests sent (a WebSocket response counts as one). */
  requests: number
  /** HTTP statuses and WebSocket frames received. */
  statuses: number[]
  events: number
  failed: number
}
