import { describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createRecordHub } from './record-hub.js'

const rec = (i: number): CaptureRecord => ({ v: 1, type: 'sse', ts: '2026-01-01T00:00:00.000Z', flow_id: 'f', session_id: 's', seq: i, data: String(i) })

describe('createRecordHub', () => {
  it('delivers records to subscribers and iterators in order; a throwing subscriber is isolated', async () => {
    const errors: unknown[] = []
    const hub = createRecordHub({ onError: (e) => errors.push(e) })
    const seen: number[] = []
    hub.subscribe(() => {
      throw new Error('boom')
    })
    hub.subscribe((r) => seen.push((r as { seq: number }).seq))
    const it = hub.iterate()[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) hub.emit(rec(i))
    hub.close()
    const got: number[] = []
    for (let r = await it.next(); !r.done; r = await it.next()) got.push((r.value as { seq: number }).seq)
    expect(seen).toEqual([0, 1, 2])
    expect(got).toEqual([0, 1, 2])
    expect(errors).toHaveLength(3)
  })

  it('drops the oldest records for a lagging iterator instead of growing', async () => {
    const hub = createRecordHub({ maxBuffered: 5 })
    const it = hub.iterate()[Symbol.asyncIterator]()
    for (let i = 0; i < 20; i++) hub.emit(rec(i))
    hub.close()
    const got: number[] = []
    for (let r = await it.next(); !r.done; r = await it.next()) got.push((r.value as { seq: number }).seq)
    expect(got).toEqual([15, 16, 17, 18, 19])
    expect(hub.dropped).toBe(15)
  })

  it('ends an iterator on abort', async () => {
    const hub = createRecordHub()
    const ac = new AbortController()
    const it = hub.iterate({ signal: ac.signal })[Symbol.asyncIterator]()
    const p = it.next()
    ac.abort()
    expect((await p).done).toBe(true)
  })
})
