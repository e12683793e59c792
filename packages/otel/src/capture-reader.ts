import { readJsonlBatches, readRawRef, resolveCapture } from '@agenttap/jsonl-io'
import { createLedger, type LedgerContent, type LedgerError, type ModelCall, type TelemetryFact } from '@agenttap/ledger'

/** Options of {@link readCaptureCalls}. */
export interface ReadCaptureCallsOptions {
  onCall(call: ModelCall): void | Promise<void>
  onContent?(content: LedgerContent): void
  /** The agents' telemetry joined to the calls (`telemetry` records of the capture). */
  onTelemetry?(fact: TelemetryFact): void
  /** Bad input (located: file, line, offset); the rest is read. */
  onError?(err: LedgerError | Error): void
  /** Only calls that started at or after this instant (and telemetry from then on). */
  since?: string
  signal?: AbortSignal
}

interface Ref {
  $ref: string
}
const refOf = (v: unknown): string | undefined => (typeof v === 'object' && v !== null && typeof (v as Ref).$ref === 'string' ? (v as Ref).$ref : undefined)

/**
 * Streams a capture (a log root, `all-mitm-sse/`, or one JSONL file; rotated files included) through
 * the ledger: flows, lines, ends, each oldest first, one chunk at a time. Request and response bodies
 * stored out of line (`{"$ref": …}`) are read back so large requests keep their prompt.
 *
 * @returns the capture's bytes read and the calls seen
 */
export async function readCaptureCalls(path: string | undefined, opts: ReadCaptureCallsOptions): Promise<{ bytes: number; calls: number; files: string[] }> {
  const layout = resolveCapture(path)
  const sinceMs = opts.since !== undefined ? Date.parse(opts.since) : undefined
  const queue: ModelCall[] = []
  let calls = 0
  const ledger = createLedger({
    onCall: (c) => {
      if (sinceMs !== undefined && Date.parse(c.started_at) < sinceMs) return
      calls++
      queue.push(c)
    },
    ...(opts.onContent ? { onContent: opts.onContent } : {}),
    ...(opts.onTelemetry
      ? {
          onTelemetry: (f: TelemetryFact) => {
            if (sinceMs === undefined || !(Date.parse(f.time) < sinceMs)) opts.onTelemetry?.(f)
          },
        }
      : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  })
  const flush = async (): Promise<void> => {
    for (const c of queue.splice(0)) await opts.onCall(c)
  }
  for (const file of layout.all) {
    for await (const batch of readJsonlBatches(file, { ...(opts.signal ? { signal: opts.signal } : {}) })) {
      for (const e of batch) {
        if (e.error) {
          opts.onError?.(e.error)
          continue
        }
        const r = e.value as Record<string, unknown>
        if (r && typeof r === 'object') {
          // Bodies left out of line: the ledger reads no files, so they are resolved here.
          const ref = r.type === 'flow' ? refOf(r.request_body) : r.type === 'flow_end' ? refOf(r.body) : undefined
          if (ref !== undefined) {
            try {
              const text = (await readRawRef(layout.dir, ref)).toString('utf8')
              const key = r.type === 'flow' ? 'request_body' : 'body'
              try {
                r[key] = JSON.parse(text)
              } catch {
                r[key] = text
              }
            } catch (err) {
              opts.onError?.(err as Error)
            }
          }
        }
        ledger.feed(r, { file, line: e.line, offset: e.offset })
      }
      await flush()
    }
  }
  ledger.end()
  await flush()
  return { bytes: layout.bytes, calls, files: layout.all }
}
