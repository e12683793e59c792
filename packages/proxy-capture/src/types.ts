import type { MessagePort } from 'node:worker_threads'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { RedactorOptions } from '@agenttap/session-extractor'
import type { Logger } from 'pino'
import type { ConnectToRule } from './connect-to.js'
import type { SessionChainingOptions } from './session-chaining.js'

/** Writes the raw bytes of one flow body under `sse_logs/`. */
export interface RawWriter {
  /**
   * Where the body is, relative to the capture directory: a file of its own
   * (`sse_logs/<flow>.response.raw`) or, once ended, a byte range of a shared body log
   * (`sse_logs/bodies-<start>-<pid>.log#bytes=<first>-<last>`, inclusive). Empty when the body
   * was empty. See jsonl-io's `readRawRef`.
   */
  readonly ref: string
  write(chunk: Uint8Array | string): void
  end(): void
}

/**
 * Where canonical records go. Files now ({@link createFileSink}); a Redis stream sink
 * implements the same interface later. `write` must not throw for I/O failures: report them
 * through `flush`/`close` or a logger, and keep accepting records.
 */
export interface CaptureSink {
  /** Accepts one canonical record (already redacted). Called in capture order. */
  write(record: CaptureRecord): void
  /** Opens a raw body file for a flow; sinks without blob storage omit it. */
  raw?(name: string): RawWriter
  /** Resolves once everything written so far is handed to the OS (or remote). */
  flush(): Promise<void>
  close(): Promise<void>
  /**
   * For a sink that works on a thread of its own: a port the capture thread posts its records to
   * (`{ type: 'records', records: CaptureRecord[] }`, in capture order, a batch per turn of that
   * thread), so they never pass through the proxy's thread, which relays the traffic. Asked once
   * when the capture starts on its thread; `write` is then not called. While the capture runs
   * inline (no thread) the port is not asked for and records come through `write`.
   */
  recordPort?(): MessagePort | undefined
}

/** The redaction functions the capture goes through (session-extractor's shape). */
export interface CaptureRedactor {
  headers(h: Record<string, string | string[] | undefined>): Record<string, string | string[]>
  json(value: unknown): unknown
  text(s: string): string
  url(u: string): string
}

/** Options of {@link createCaptureProxy}. */
export interface CaptureProxyOptions {
  /** Interface to listen on. @defaultValue `'127.0.0.1'` */
  host?: string
  /** Port; 0 picks a free one. @defaultValue 9110 */
  port?: number
  /** Binding anything but a loopback address must be asked for explicitly. @defaultValue false */
  allowNonLoopback?: boolean
  /** CA directory. @defaultValue `~/.agenttap/ca` */
  caDir?: string
  /**
   * Log root; the capture goes to `<logDir>/all-mitm-sse/` (a capture directory itself is taken
   * as it is, see jsonl-io's `resolveCapture`). Refused when it belongs to another user; modes
   * other users could read are made private (logged).
   * @defaultValue `$AGENTTAP_LOG_DIR` or `~/centralized-logs`
   */
  logDir?: string
  /**
   * The capture files, written where the capture runs (its thread): `false` for none (only
   * `sinks`), or the file sink's `fsync` / `batchMs`. @defaultValue `true`
   */
  files?: boolean | { fsync?: 'never' | 'close' | 'always'; batchMs?: number }
  /**
   * Extra sinks (e.g. {@link createRedisSink}), besides the capture files: every record, in
   * capture order, on the proxy's thread (records come back from the capture thread for them).
   * Not a file sink: the proxy writes its files itself (`INVALID_OPTION`).
   */
  sinks?: CaptureSink[]
  /** Only these hosts are captured (`*.example.com` matches subdomains). */
  includeHosts?: readonly string[]
  /** These hosts are never captured (still proxied). */
  excludeHosts?: readonly string[]
  /** Extra PEM roots trusted for upstream TLS (e.g. a corporate proxy, or a test server). */
  upstreamCa?: string | readonly string[]
  /**
   * curl-style `--connect-to` rules (`HOST1:PORT1:HOST2:PORT2`, empty HOST1/PORT1 = any, or
   * {@link ConnectToRule} objects): a request for HOST1:PORT1 is sent to HOST2:PORT2 instead.
   * Everything else stays the request's own: the flow's `url` and `host` and its client/provider
   * classification, the `Host` header, the TLS server name (SNI) towards the upstream, and the
   * name its certificate is verified against (so the stand-in upstream needs a certificate for
   * the real name, trusted through {@link CaptureProxyOptions.upstreamCa}). The first matching
   * rule wins. Meant for tests and local stand-ins of an API.
   */
  connectTo?: readonly (string | ConnectToRule)[]
  /** Verify upstream certificates. @defaultValue true */
  rejectUnauthorized?: boolean
  /** Diagnostics. @defaultValue a silent pino logger */
  logger?: Logger
  /** Request/response bodies up to this size are inlined in records; larger ones become `{ $ref }`. @defaultValue 1 MiB */
  maxInlineBodyBytes?: number
  /** Request bodies are kept for the capture up to this size. @defaultValue 64 MiB */
  maxRequestBodyBytes?: number
  /** Cap on one SSE event. @defaultValue 16 MiB */
  maxEventBytes?: number
  /**
   * Response bodies under `sse_logs/`. `redacted` (the default) writes a decoded, redacted
   * copy (`<flow>.response.redacted.txt`: SSE bodies rebuilt from the redacted records, so
   * secrets split across events are caught; other bodies through session-extractor's stream
   * redactor). `off` writes none. `exact` is an explicit, UNSAFE opt-in: it keeps the wire
   * bytes (`<flow>.response.raw`, compressed if the server compressed) without any redaction,
   * so a secret the *server* sends back (a model echoing a key) reaches disk there.
   * @defaultValue `'redacted'`
   */
  rawBodies?: 'exact' | 'redacted' | 'off'
  /**
   * Run the capture (session extraction, redaction, SSE framing, records, files) on a thread
   * of its own, so the relay never waits for it: the client's bytes cost the proxy's event
   * loop a copy, nothing more. Whatever the other options (`sinks`, `redaction`, …). `false`
   * runs the same capture on the proxy's thread, after each event-loop turn (for debugging).
   * @defaultValue `true`
   */
  captureThread?: boolean
  /**
   * Requests that carry no session id of their own (SDK scripts) get the session of the
   * conversation they continue, found by their message history (session-extractor's session
   * chain, one per client address and client; `session_source: "history"` on the flow record),
   * so every turn of one conversation has one session id and unrelated runs have their own.
   * `false` writes the derived id (a hash of client address, URL and body length) instead.
   * Plain data: it crosses to the capture thread.
   * @defaultValue `{}` (on: 10000 histories per client, 16 clients)
   */
  sessionChain?: SessionChainingOptions | false
  /**
   * Options of session-extractor's `createRedactor` (extra patterns, allowed fields, the marker
   * key), used for everything the capture writes. Plain data: they cross to the capture thread.
   * @defaultValue the default redactor's
   */
  redaction?: RedactorOptions
  /**
   * HMAC key of the redaction markers (`redaction.hashKey` wins when set): the same secret gets
   * the same marker in every capture keyed with it, and a capture alone gives nothing to test
   * password guesses against.
   * @defaultValue the per-install key beside the CA, `<caDir>/keys/redaction.key` (created on
   * first use, mode 0600; see `ensureRedactionKey`)
   */
  redactionKey?: string
  /**
   * Traffic bytes the capture may have still to process; past it the relay stops reading until
   * the capture caught up (memory bounded, nothing dropped: the stream slows). @defaultValue 8 MiB
   */
  maxCaptureBacklogBytes?: number
  /** Records buffered per {@link CaptureProxy.records} iterator before old ones are dropped. @defaultValue 10000 */
  maxBufferedRecords?: number
}

/** Counters of a running proxy. */
export interface CaptureStats {
  openFlows: number
  flows: number
  capturedFlows: number
  events: number
  bytes: number
  certsMinted: number
  /**
   * Records lost: those a lagging {@link CaptureProxy.records} iterator dropped, plus
   * `lostRecords`.
   */
  droppedRecords: number
  /** Records the capture files could not take (disk full): reported, and a `sink_gap` record once writable again. */
  lostRecords: number
  /** Whether the capture runs on its own thread (see {@link CaptureProxyOptions.captureThread}). */
  captureThread: boolean
  /** Traffic bytes the capture thread has still to process; past `maxCaptureBacklogBytes` the relay waits for it. */
  captureBacklogBytes: number
  /** The largest `captureBacklogBytes` so far. */
  captureBacklogMaxBytes: number
  /** Times the relay waited for the capture to catch up. */
  captureStalls: number
}

/** A record-stream subscription as used by the live monitor. */
export interface RecordIteratorOptions {
  signal?: AbortSignal
  /** Records kept while the consumer lags; older ones are dropped (counted in stats). */
  maxBuffered?: number
}

/** A running (or startable) capture proxy. */
export interface CaptureProxy {
  /** Creates/loads the CA, opens sinks, listens. Resolves with the bound address. */
  start(): Promise<{ host: string; port: number; url: string }>
  /**
   * Stops listening, ends every open flow with `outcome:"aborted"` (error `proxy shutdown`),
   * flushes and closes the sinks.
   */
  stop(): Promise<void>
  /** Resolves once everything captured so far is written (flow_ends of ended flows included). */
  flush(): Promise<void>
  readonly host: string
  /** The bound port (after start). */
  readonly port: number
  /** `http://host:port`, the value for `HTTPS_PROXY`. */
  readonly url: string
  /** CA paths (after start). */
  readonly caCertPath: string
  readonly caBundlePath: string
  /** The capture directory `<logDir>/all-mitm-sse`. */
  readonly captureDir: string
  /**
   * MONITOR HOOK: called synchronously with every canonical record, in capture order, after it
   * went to the sinks. Returns an unsubscribe function.
   */
  onRecord(fn: (record: CaptureRecord) => void): () => void
  /** MONITOR HOOK: the same records as an async iterable (bounded buffer, see options). */
  records(opts?: RecordIteratorOptions): AsyncIterable<CaptureRecord>
  /**
   * Adds a record the proxy did not capture itself — a sink's `sink_gap` notice — to the
   * capture: written to the files and passed to the sinks and subscribers, in order with the
   * captured records. Not redacted: only for records agenttap's own components make.
   */
  write(record: CaptureRecord): void
  stats(): CaptureStats
}
