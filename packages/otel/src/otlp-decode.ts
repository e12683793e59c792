import { gunzipSync, inflateSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import protobuf from 'protobufjs'
import { OtelError } from './errors.js'

/** The three OTLP signals. */
export type OtlpSignal = 'traces' | 'metrics' | 'logs'

const REQUEST_TYPES: Record<OtlpSignal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
}

const PROTO_FILES = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
]

let root: protobuf.Root | undefined

/**
 * The official OTLP protobuf definitions (opentelemetry-proto v1.11.0, shipped in this package's
 * `proto/` directory), loaded once with protobufjs.
 */
export function otlpProtoRoot(): protobuf.Root {
  if (root) return root
  // dist/index.js and src/*.ts are both one level below the package directory.
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'proto')
  const r = new protobuf.Root()
  r.resolvePath = (_origin, target) => join(dir, target)
  r.loadSync(PROTO_FILES, { keepCase: false })
  root = r
  return r
}

/** The protobuf message type of an OTLP export request. */
export function otlpRequestType(signal: OtlpSignal): protobuf.Type {
  return otlpProtoRoot().lookupType(REQUEST_TYPES[signal])
}

/** A decoded export request in OTLP/JSON's shape (lowerCamelCase fields); `binaryIds` when trace/span ids are base64 (protobuf) rather than hex (JSON). */
export interface DecodedOtlp {
  signal: OtlpSignal
  body: Record<string, unknown>
  binaryIds: boolean
}

/** Undoes `Content-Encoding: gzip | deflate` (OTLP exporters may compress). */
export function decompress(body: Buffer, encoding: string | undefined): Buffer {
  const e = (encoding ?? '').trim().toLowerCase()
  if (e === '' || e === 'identity') return body
  if (e === 'gzip' || e === 'x-gzip') return gunzipSync(body)
  if (e === 'deflate') return inflateSync(body)
  throw new OtelError('BAD_PAYLOAD', `unsupported Content-Encoding ${JSON.stringify(encoding)}: expected gzip, deflate or none`)
}

/**
 * Decodes an OTLP/HTTP request body: `application/x-protobuf` with the official definitions,
 * `application/json` as OTLP/JSON. Throws {@link OtelError} `BAD_PAYLOAD` on a body that is neither.
 */
export function decodeOtlp(signal: OtlpSignal, body: Buffer, contentType: string | undefined): DecodedOtlp {
  const ct = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (ct === 'application/json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(body.toString('utf8'))
    } catch (err) {
      throw new OtelError('BAD_PAYLOAD', `OTLP/JSON ${signal} body is not JSON: ${(err as Error).message}`, { cause: err, excerpt: body.subarray(0, 120).toString('utf8') })
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OtelError('BAD_PAYLOAD', `OTLP/JSON ${signal} body: expected an object, received ${Array.isArray(parsed) ? 'an array' : typeof parsed}`)
    return { signal, body: parsed as Record<string, unknown>, binaryIds: false }
  }
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf' || ct === '') {
    try {
      const type = otlpRequestType(signal)
      const msg = type.decode(body)
      const obj = type.toObject(msg, { longs: String, bytes: String, enums: Number, defaults: false, arrays: true }) as Record<string, unknown>
      return { signal, body: obj, binaryIds: true }
    } catch (err) {
      if (err instanceof OtelError) throw err
      throw new OtelError('BAD_PAYLOAD', `OTLP/protobuf ${signal} body could not be decoded: ${(err as Error).message}`, { cause: err })
    }
  }
  throw new OtelError('BAD_PAYLOAD', `unsupported Content-Type ${JSON.stringify(contentType)}: expected application/x-protobuf or application/json`)
}

/** The empty export response, encoded for the request's content type. */
export function emptyResponse(signal: OtlpSignal, json: boolean): Buffer {
  if (json) return Buffer.from('{}')
  const name = REQUEST_TYPES[signal].replace(/Request$/, 'Response')
  const type = otlpProtoRoot().lookupType(name)
  return Buffer.from(type.encode(type.create({})).finish())
}
