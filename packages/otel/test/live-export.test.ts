import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { exportCalls } from '../src/export-calls.js'
import { createOtlpLiveExport } from '../src/live-export.js'
import type { OtelError } from '../src/errors.js'
import { fixtureCalls, spansOf, startCollector } from './helpers.js'

/** The fixture records in the order a proxy writes them (by time), as the live sink sees them. */
function liveOrder(records: Record<string, unknown>[]): CaptureRecord[] {
  return [...records].sort((a, b) => String(a.ts).localeCompare(String(b.ts))) as CaptureRecord[]
}

type Span = ReturnType<typeof spansOf>[number]
const spanKey = (s: Span): string => `${s.traceId}/${s.spanId}/${s.parentSpanId ?? ''}/${s.name}/${JSON.stringify(s.attributes)}`

/** The spans of the history export of the fixture, as keys (what every way of feeding the live export must give). */
async function historySpans(): Promise<string[]> {
  const { calls, contents } = fixtureCalls()
  const hist = await startCollector()
  try {
    await exportCalls({ calls, contents }, { endpoint: hist.url, metrics: false })
    return spansOf(hist.received).map(spanKey).sort()
  } finally {
    await hist.close()
  }
}

describe('createOtlpLiveExport', () => {
  it('exports the same spans as the history export, from records fed one by one', async () => {
    const { calls, contents, records } = fixtureCalls()
    const live = await startCollector()
    const hist = await startCollector()
    try {
      const sink = createOtlpLiveExport({ endpoint: live.url, metrics: false, recordsPerTick: 7 })
      for (const r of liveOrder(records)) sink.write(r)
      await sink.close()
      await exportCalls({ calls, contents }, { endpoint: hist.url, metrics: false })
      const key = (s: ReturnType<typeof spansOf>[number]): string => `${s.traceId}/${s.spanId}/${s.parentSpanId ?? ''}/${s.name}/${JSON.stringify(s.attributes)}`
      const a = spansOf(live.received).map(key).sort()
      const b = spansOf(hist.received).map(key).sort()
      expect(a.length).toBeGreaterThan(20)
      expect(a).toEqual(b)
      expect(sink.stats).toMatchObject({ records: records.length, droppedRecords: 0, dropped: 0, failed: 0 })
      expect(sink.stats.exported).toBe(a.length)
    } finally {
      await live.close()
      await hist.close()
    }
  })

  it('runs on the export thread by default; records posted to its record port (as the capture thread does) give the same spans', async () => {
    const { records } = fixtureCalls()
    const live = await startCollector()
    try {
      const sink = createOtlpLiveExport({ endpoint: live.url, metrics: false })
      expect(sink.mode).toBe('thread')
      const port = sink.recordPort?.()
      expect(port).toBeDefined()
      const ordered = liveOrder(records)
      // Batches of a few records, as the capture thread posts them (one per turn of its loop).
      for (let i = 0; i < ordered.length; i += 5) port?.postMessage({ type: 'records', records: ordered.slice(i, i + 5) })
      // close() takes what the port holds before it ends the turns: nothing posted is left behind.
      await sink.close()
      port?.close()
      expect(spansOf(live.received).map(spanKey).sort()).toEqual(await historySpans())
      expect(sink.stats).toMatchObject({ records: records.length, droppedRecords: 0, dropped: 0, failed: 0 })
    } finally {
      await live.close()
    }
  })

  it('with thread: false runs on the caller\'s thread, with the same spans', async () => {
    const { records } = fixtureCalls()
    const live = await startCollector()
    try {
      const sink = createOtlpLiveExport({ endpoint: live.url, metrics: false, thread: false })
      expect(sink.mode).toBe('inline')
      expect(sink.recordPort).toBeUndefined()
      for (const r of liveOrder(records)) sink.write(r)
      await sink.close()
      expect(spansOf(live.received).map(spanKey).sort()).toEqual(await historySpans())
    } finally {
      await live.close()
    }
  })

  it('never blocks the writer when the endpoint is down: spans past the queue are dropped and counted', async () => {
    // A port that accepts nothing: connect fails at once.
    const srv = createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const port = (srv.address() as AddressInfo).port
    await new Promise<void>((r) => srv.close(() => r()))
    const { records } = fixtureCalls()
    const errors: OtelError[] = []
    const sink = createOtlpLiveExport({ endpoint: `http://127.0.0.1:${port}`, metrics: false, maxQueue: 5, timeoutMillis: 500, onError: (e) => errors.push(e as OtelError) })
    const ordered = liveOrder(records)
    for (let i = 0; i < 20; i++) for (const r of ordered) sink.write({ ...r, flow_id: `${r.flow_id}~${i}` } as CaptureRecord)
    // write() only appends: 20 copies of the capture are queued and not one call assembled yet.
    expect(sink.stats.calls).toBe(0)
    await sink.close()
    const s = sink.stats
    expect(s.records).toBe(ordered.length * 20)
    expect(s.spans).toBeGreaterThan(100)
    expect(s.dropped).toBeGreaterThan(0)
    expect(s.exported).toBe(0)
    expect(s.dropped + s.failed).toBe(s.spans)
    expect(errors.some((e) => e.code === 'QUEUE_FULL')).toBe(true)
    expect(errors.some((e) => e.code === 'EXPORT_FAILED')).toBe(true)
  })

  it('sends a turn that went idle without waiting for the next turn or close()', async () => {
    const { records } = fixtureCalls()
    const collector = await startCollector()
    try {
      const sink = createOtlpLiveExport({ endpoint: collector.url, metrics: false, turnIdleMs: 50 })
      for (const r of liveOrder(records).filter((x) => String(x.flow_id).startsWith('cc-turn-'))) sink.write(r)
      let turns: ReturnType<typeof spansOf> = []
      for (let i = 0; i < 500 && turns.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20))
        turns = spansOf(collector.received).filter((s) => s.name === 'invoke_agent claude-code')
      }
      expect(turns).toHaveLength(1)
      expect(turns[0]?.attributes['agenttap.turn.calls']).toBe(2)
      await sink.close()
      // close() has no second copy of it to send.
      expect(spansOf(collector.received).filter((s) => s.name === 'invoke_agent claude-code')).toHaveLength(1)
    } finally {
      await collector.close()
    }
  })

  it('drops records past maxRecords (counted) instead of growing', async () => {
    const { records } = fixtureCalls()
    const collector = await startCollector()
    try {
      const sink = createOtlpLiveExport({ endpoint: collector.url, metrics: false, maxRecords: 10 })
      for (const r of liveOrder(records)) sink.write(r)
      expect(sink.stats.droppedRecords).toBe(records.length - 10)
      await sink.close()
      expect(sink.stats.records).toBe(10)
    } finally {
      await collector.close()
    }
  })
})
