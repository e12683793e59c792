import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolveLoopback, type TelemetryRecord } from '@agenttap/jsonl-io'
import { createRedactor } from '@agenttap/session-extractor'
import { OtelError } from './errors.js'
import { decodeOtlp, decompress, emptyResponse, type OtlpSignal } from './otlp-decode.js'
import { telemetryRecords } from './telemetry.js'

/** Options of {@link createOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /** Receives each telemetry record, redacted (e.g. the proxy's `write`, which puts it in `sse_flow_ends.jsonl`). */
  onRecord(record: TelemetryRecord): void
  /** Port; 0 picks a free one. @defaultValue 4318 */
  port?: number
  /** @defaultValue '127.0.0.1' */
  host?: string
  /** Decides whether `host` is loopback. @defaultValue jsonl-io's `resolveLoopback` (resolve, then check every address) */
  loopbackRule?(host: string): Promise<boolean> | boolean
  /** Listen on a non-loopback address anyway. @defaultValue false */
  allowNonLoopback?: boolean
  /** JSON redaction of each record (session-extractor's redactor, keyed like the capture's). @defaultValue `createRedactor()` */
  redactor?: { json(value: unknown): unknown }
  /** Keep items from any service, not only Claude Code's and Codex's. @defaultValue false */
  allServices?: boolean
  /** Request bodies over this are refused (413). @defaultValue 16 MiB */
  maxBodyBytes?: number
  /** Bad requests (400 / 413 / 415) and failed writes; the receiver goes on. */
  onError?(err: OtelError): void
}

/** Counters of a receiver. */
export interface OtlpReceiverStats {
  requests: number
  /** Records handed to `onRecord`. */
  records: number
  /** Items from other services, not kept (see `allServices`). */
  ignored: number
  /** Requests refused (undecodable, too large, wrong method or path). */
  refused: number
}

/** What {@link createOtlpReceiver} returns. */
export interface OtlpReceiver {
  /** Listens; resolves with the base URL (`http://127.0.0.1:4318`) to put in `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  start(): Promise<string>
  close(): Promise<void>
  readonly port: number
  readonly stats: OtlpReceiverStats
}

const PATHS: Record<string, OtlpSignal> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' }

/** jsonl-io's loopback rule (the one every agenttap server binds by): resolve the host, check every address. */
async function defaultLoopback(host: string): Promise<boolean> {
  return (await resolveLoopback(host)).loopback
}

/**
 * An OTLP/HTTP receiver (protobuf and JSON; logs, metrics, traces) for the agents' own telemetry —
 * Claude Code with `CLAUDE_CODE_ENABLE_TELEMETRY=1`, Codex with `[otel]` — on loopback. Every log
 * record, metric point and span becomes a `telemetry` record (see `telemetryRecords`), redacted,
 * handed to `onRecord`. Bad requests are answered 400/413/415 and reported; nothing throws.
 *
 * @example
 * ```ts
 * const receiver = createOtlpReceiver({ port: 4318, onRecord: (r) => proxy.write(r) })
 * const url = await receiver.start() // OTEL_EXPORTER_OTLP_ENDPOINT=<url> OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
 * ```
 */
export function createOtlpReceiver(opts: OtlpReceiverOptions): OtlpReceiver {
  if (typeof opts?.onRecord !== 'function') throw new OtelError('INVALID_OPTION', 'createOtlpReceiver: expected an onRecord callback')
  const host = opts.host ?? '127.0.0.1'
  const wanted = opts.port ?? 4318
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) throw new OtelError('INVALID_OPTION', `createOtlpReceiver: expected port 0-65535, received ${String(wanted)}`)
  const maxBody = opts.maxBodyBytes ?? 16 << 20
  const redactor = opts.redactor ?? createRedactor()
  const stats: OtlpReceiverStats = { requests: 0, records: 0, ignored: 0, refused: 0 }
  let server: Server | undefined
  let port = wanted

  const refuse = (res: ServerResponse, status: number, err: OtelError): void => {
    stats.refused++
    opts.onError?.(err)
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ code: status === 413 ? 8 : 3, message: err.message }))
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++
    const path = (req.url ?? '').split('?')[0] ?? ''
    const signal = PATHS[path]
    if (req.method !== 'POST' || !signal) {
      req.resume()
      refuse(res, 404, new OtelError('BAD_PAYLOAD', `expected POST /v1/traces, /v1/metrics or /v1/logs, received ${req.method ?? '?'} ${path}`))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      if (over) return
      size += c.length
      if (size > maxBody) {
        over = true
        refuse(res, 413, new OtelError('PAYLOAD_TOO_LARGE', `OTLP ${signal} request over ${maxBody} bytes refused`))
        req.resume()
        return
      }
      chunks.push(c)
    })
    req.on('error', () => {})
    req.on('end', () => {
      if (over) return
      const ct = req.headers['content-type']
      let records: TelemetryRecord[]
      try {
        const body = decompress(Buffer.concat(chunks, size), req.headers['content-encoding'])
        records = telemetryRecords(decodeOtlp(signal, body, ct))
      } catch (err) {
        const e = err instanceof OtelError ? err : new OtelError('BAD_PAYLOAD', `OTLP ${signal} request could not be read: ${(err as Error).message}`, { cause: err })
        refuse(res, /Content-Type/.test(e.message) ? 415 : 400, e)
        return
      }
      for (const r of records) {
        if (!opts.allServices && r.client === 'unknown') {
          stats.ignored++
          continue
        }
        try {
          opts.onRecord(redactor.json(r) as TelemetryRecord)
          stats.records++
        } catch (err) {
          opts.onError?.(new OtelError('WRITE_FAILED', `a telemetry record could not be written: ${(err as Error).message}`, { cause: err }))
        }
      }
      const json = (ct ?? '').toLowerCase().startsWith('application/json')
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
      res.end(emptyResponse(signal, json))
    })
  }

  return {
    stats,
    get port() {
      return port
    },
    async start() {
      if (server) throw new OtelError('INVALID_OPTION', 'createOtlpReceiver: start() called twice')
      const loopback = await (opts.loopbackRule ?? defaultLoopback)(host)
      if (!loopback && !opts.allowNonLoopback) throw new OtelError('NON_LOOPBACK_BIND', `the OTLP receiver listens on loopback only; ${host} is not (the agents' telemetry may carry prompts)`)
      const s = createServer(handle)
      server = s
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err) => reject(new OtelError('LISTEN_FAILED', `the OTLP receiver could not listen on ${host}:${wanted}: ${err.message}`, { cause: err })))
        s.listen(wanted, host, () => resolve())
      })
      port = (s.address() as AddressInfo).port
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    },
    async close() {
      const s = server
      if (!s) return
      server = undefined
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        s.closeAllConnections()
      })
    },
  }
}
