/**
 * A loaded capture keeps where each call's records are, not the records: the events are read
 * from disk when the call is served.
 */
import { cpSync, openSync, readFileSync, readSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createReplayServer, loadReplayCapture } from '../src/index.js'
import { FIXTURES, fixtureRecords, parseSse, tempDir } from './helpers.js'

function bytesAt(file: string, start: number, end: number): string {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(end - start)
    readSync(fd, buf, 0, buf.length, start)
    return buf.toString('utf8')
  } finally {
    closeSync(fd)
  }
}

describe('a capture loaded as an index of byte ranges', () => {
  it("keeps each call's lines as byte ranges of the capture files, holding exactly its records", async () => {
    const capture = await loadReplayCapture(join(FIXTURES, 'capture'))
    // Two Claude Code sessions streaming at once: their lines alternate in sse_lines.jsonl.
    const interleaved = capture.exchanges.filter((e) => fixtureRecords('interleaved-sessions.jsonl').some((r) => r['type'] === 'flow' && r['flow_id'] === e.flow_id))
    expect(interleaved.length).toBe(2)
    for (const ex of [...interleaved, ...capture.exchanges.filter((e) => e.transport === 'ws')]) {
      const text = ex.source.lines.map((r) => bytesAt(r.file, r.start, r.end)).join('')
      const recs = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(recs.every((r) => r['flow_id'] === ex.flow_id), ex.key).toBe(true)
      expect(recs.filter((r) => r['type'] === 'sse')).toHaveLength(ex.eventCount)
      const flow = JSON.parse(bytesAt(ex.source.request.file, ex.source.request.start, ex.source.request.end)) as Record<string, unknown>
      expect(flow).toMatchObject({ type: 'flow', flow_id: ex.flow_id })
    }
    expect(interleaved.every((e) => e.source.lines.length > 1)).toBe(true)
    const events = await capture.readEvents(interleaved[0]!)
    const want = fixtureRecords('interleaved-sessions.jsonl').filter((r) => r['type'] === 'sse' && r['flow_id'] === interleaved[0]!.flow_id)
    expect(events.map((e) => e.data)).toEqual(want.map((r) => r['data']))
  })

  it('serves the events as they are on disk when the call is asked for, not as they were when loaded', async () => {
    const dir = tempDir('replay-offsets-')
    cpSync(join(FIXTURES, 'capture'), join(dir, 'capture'), { recursive: true })
    const capture = await loadReplayCapture(join(dir, 'capture'))
    const ex = capture.exchanges.find((e) => e.flow_id === 'cc2-turn-1')!
    expect(ex.transport).toBe('sse')
    // Change a text delta of that call in place (same length) after the capture was loaded.
    const range = ex.source.lines[0]!
    const text = bytesAt(range.file, range.start, range.end)
    const m = /"text\\":\\"([A-Za-z]{3,})/.exec(text)
    expect(m).not.toBeNull()
    const word = m![1]!
    const at = range.start + Buffer.byteLength(text.slice(0, m!.index + m![0].length - word.length))
    const fd = openSync(range.file, 'r+')
    writeSync(fd, Buffer.from(word.toUpperCase()), 0, word.length, at)
    closeSync(fd)
    const server = createReplayServer({ capture, speed: Infinity, report: join(dir, 'r.jsonl') })
    const { url } = await server.start()
    try {
      const flow = fixtureRecords('claude-code-2x.jsonl').find((r) => r['type'] === 'flow' && r['flow_id'] === 'cc2-turn-1')!
      const res = await fetch(`${url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(flow['request_body']) })
      expect(res.status).toBe(200)
      const data = parseSse(await res.text()).map((e) => e.data).join('\n')
      expect(data).toContain(`"text":"${word.toUpperCase()}`)
      expect(data).not.toContain(`"text":"${word}`)
    } finally {
      await server.close()
    }
    expect(readFileSync(range.file, 'utf8')).toContain(word.toUpperCase())
  })
})
