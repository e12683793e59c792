import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CaptureSourceError, mergeBatchesByTime, mergeByTime, openSource, paced, readBatches, resolveSourceFiles, type SourceItem } from '../src/index.js'
import { fixtureRecords, fixtureText, items, until } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-sources-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const jsonl = (recs: Record<string, unknown>[]) => recs.map((r) => JSON.stringify(r) + '\n').join('')
const byType = (recs: Record<string, unknown>[], t: string) => jsonl(recs.filter((r) => r.type === t))

describe('resolveSourceFiles', () => {
  it('a log root → its all-flows sse_lines.jsonl and the two siblings; a file alone with --no-siblings', () => {
    const root = join(dir, 'logs')
    const d = join(root, 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) writeFileSync(join(d, f), '')
    expect(resolveSourceFiles(root).map((f) => f.slice(d.length + 1))).toEqual(['sse_lines.jsonl', 'sse_flows.jsonl', 'sse_flow_ends.jsonl'])
    expect(resolveSourceFiles(d).map((f) => f.slice(d.length + 1))).toEqual(['sse_lines.jsonl', 'sse_flows.jsonl', 'sse_flow_ends.jsonl'])
    expect(resolveSourceFiles(join(d, 'sse_lines.jsonl'), { siblings: false })).toHaveLength(1)
    expect(resolveSourceFiles(undefined, { logDir: root })[0]).toBe(join(d, 'sse_lines.jsonl'))
  })

  it('reading to the end takes rotated copies too, oldest first, and merges them by time', async () => {
    const d = join(dir, 'rotated', 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    const recs = fixtureRecords('claude-code-turn.jsonl')
    const half = recs.findIndex((r) => r.flow_id === 'cc-turn-2')
    writeFileSync(join(d, 'sse_lines.jsonl.1'), byType(recs.slice(0, half), 'sse'))
    writeFileSync(join(d, 'sse_lines.jsonl'), byType(recs.slice(half), 'sse'))
    writeFileSync(join(d, 'sse_flows.jsonl'), byType(recs, 'flow'))
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), byType(recs, 'flow_end'))
    expect(resolveSourceFiles(join(dir, 'rotated')).map((f) => f.slice(d.length + 1))).toEqual(['sse_lines.jsonl.1', 'sse_lines.jsonl', 'sse_flows.jsonl', 'sse_flow_ends.jsonl'])
    expect(resolveSourceFiles(join(dir, 'rotated'), { follow: true }).map((f) => f.slice(d.length + 1))).toEqual(['sse_lines.jsonl', 'sse_flows.jsonl', 'sse_flow_ends.jsonl'])
    const got: SourceItem[] = []
    for await (const b of openSource(resolveSourceFiles(join(dir, 'rotated')), { follow: false, onError: () => undefined })) got.push(...(b as SourceItem[]))
    expect(got).toHaveLength(recs.length)
  })

  it('a log root that does not exist yet: all three files, to be followed as they appear', () => {
    const root = join(dir, 'fresh-root')
    expect(resolveSourceFiles(root, { follow: true }).map((f) => f.slice(root.length + 1))).toEqual([
      'all-mitm-sse/sse_lines.jsonl',
      'all-mitm-sse/sse_flows.jsonl',
      'all-mitm-sse/sse_flow_ends.jsonl',
    ])
    expect(resolveSourceFiles(root)).toHaveLength(1)
  })
})

describe('reading to the end', () => {
  it('readBatches: binary junk and over-long lines are errors in place (with line numbers); the records around them are kept', async () => {
    const f = join(dir, 'junk.jsonl')
    const recs = fixtureText('truncated-stream.jsonl').trimEnd().split('\n')
    const junk = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x80, 0x0a])
    const long = '{"v":1,"type":"sse","data":"' + 'x'.repeat(9000) + '"}\n'
    writeFileSync(f, Buffer.concat([Buffer.from(recs.slice(0, 3).join('\n') + '\n'), junk, Buffer.from(long), Buffer.from(recs.slice(3).join('\n') + '\n')]))
    const got: SourceItem[] = []
    for await (const b of readBatches(f, { maxLineBytes: 4096, chunkBytes: 777 })) got.push(...b)
    expect(got.filter((i) => i.error).map((e) => [e.error?.code, e.error?.line])).toEqual([
      ['MALFORMED_JSON', 4],
      ['LINE_TOO_LONG', 5],
    ])
    expect(got.filter((i) => !i.error).map((i) => i.line)).toEqual([1, 2, 3, 6, 7, 8, 9])
    expect(got.every((i) => i.file === f)).toBe(true)
    // The fields an item has (what a spread or JSON of it shows): no `error` key on a record, no `file` without a file.
    expect(Object.keys(got[0] as SourceItem)).toEqual(['value', 'line', 'offset', 'file'])
    expect(Object.keys(got.find((i) => i.error) as SourceItem)).toEqual(['value', 'error', 'line', 'offset', 'file'])
    const fromStream: SourceItem[] = []
    for await (const b of readBatches((async function* () { yield recs[0] + '\n' })())) fromStream.push(...b)
    expect(Object.keys(fromStream[0] as SourceItem)).toEqual(['value', 'line', 'offset'])
  })

  it('openSource merges the three files of a capture by record time; a missing file is a clear error', async () => {
    const d = join(dir, 'merged', 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    const recs = [...fixtureRecords('claude-code-turn.jsonl'), ...fixtureRecords('interleaved-sessions.jsonl')]
    writeFileSync(join(d, 'sse_flows.jsonl'), byType(recs, 'flow'))
    writeFileSync(join(d, 'sse_lines.jsonl'), byType(recs, 'sse'))
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), byType(recs, 'flow_end'))
    const got: SourceItem[] = []
    for await (const b of openSource(resolveSourceFiles(d), { follow: false, onError: () => undefined })) got.push(...(b as SourceItem[]))
    const ts = got.map((i) => String((i.value as { ts: string }).ts))
    expect(ts).toEqual([...ts].sort())
    expect(got).toHaveLength(recs.length)
    // a flow's request comes before its stream, its end after it
    const cc1 = got.filter((i) => (i.value as { flow_id: string }).flow_id === 'cc-turn-1').map((i) => (i.value as { type: string }).type)
    expect(cc1[0]).toBe('flow')
    expect(cc1.at(-1)).toBe('flow_end')
    expect(() => openSource([join(dir, 'nope.jsonl')], { follow: false, onError: () => undefined })).toThrow(CaptureSourceError)
    expect(() => openSource([join(dir, 'nope.jsonl')], { follow: false, onError: () => undefined })).toThrow(/no such file/)
  })

  it('records of one millisecond come in the order the proxy writes a flow: its flow record, its lines, its end', async () => {
    const d = join(dir, 'ties', 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    const ts = '2026-01-01T00:00:01.000Z'
    const rec = (type: string, flow_id: string, seq?: number) => ({ v: 1, type, ts, flow_id, session_id: 's', ...(seq !== undefined ? { seq } : {}) })
    writeFileSync(join(d, 'sse_flows.jsonl'), jsonl([rec('flow', 'a'), rec('flow', 'b')]))
    writeFileSync(join(d, 'sse_lines.jsonl'), jsonl([rec('sse', 'a', 0), rec('sse', 'b', 0)]))
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), jsonl([rec('flow_end', 'a'), rec('flow_end', 'b')]))
    const got: string[] = []
    for await (const b of openSource(resolveSourceFiles(d), { follow: false, onError: () => undefined })) for (const i of b as SourceItem[]) got.push(`${(i.value as { type: string }).type}:${(i.value as { flow_id: string }).flow_id}`)
    expect(got).toEqual(['flow:a', 'flow:b', 'sse:a', 'sse:b', 'flow_end:a', 'flow_end:b'])
  })

  it('stdin (-) is read from the given stream, in batches, malformed lines in place', async () => {
    const text = fixtureText('codex-turn.jsonl') + '{"broken\n'
    const got: SourceItem[] = []
    for await (const b of openSource(['-'], { follow: false, onError: () => undefined, stdin: items([Buffer.from(text)]) })) got.push(...(b as SourceItem[]))
    expect(got.filter((i) => !i.error)).toHaveLength(158)
    expect(got.at(-1)?.error?.code).toBe('MALFORMED_JSON')
    expect(got.at(-1)?.file).toBe('stdin')
  })

  it('mergeByTime and mergeBatchesByTime interleave time-ordered inputs', async () => {
    const mk = (ts: string[]): SourceItem[] => ts.map((t) => ({ value: { ts: `2026-01-01T00:00:${t}.000Z` } }))
    const out: string[] = []
    for await (const it of mergeByTime([items(mk(['01', '04'])), items(mk(['02', '03']))])) out.push((it.value as { ts: string }).ts.slice(17, 19))
    expect(out).toEqual(['01', '02', '03', '04'])
    const batches: string[] = []
    for await (const b of mergeBatchesByTime([items([mk(['01', '04']), mk(['05'])]), items([mk(['02', '03', '06'])])], 2)) batches.push(b.map((i) => (i.value as { ts: string }).ts.slice(17, 19)).join(','))
    expect(batches.join(',')).toBe('01,02,03,04,05,06')
  })

  it('paced replays at recorded pace with a speed factor and a gap cap', async () => {
    const src = items([0, 40, 80, 100_000].map((ms) => ({ value: { ts: new Date(Date.UTC(2026, 0, 1) + ms).toISOString() } })))
    const t0 = Date.now()
    const got: number[] = []
    for await (const _ of paced(src, { speed: 2, maxGapMs: 50 })) got.push(Date.now() - t0)
    // 20 + 20 + 50 (capped) ms of sleeps in total; only the order and the count are asserted
    expect(got).toHaveLength(4)
    expect(got[3]).toBeGreaterThanOrEqual(got[0] as number)
  })
})

describe('following', () => {
  /** Appends a probe record until the follower yields one: then it reads at the end of the file. */
  async function probeUntilSeen(file: string, seen: () => SourceItem[]): Promise<void> {
    let n = 0
    await until(() => {
      appendFileSync(file, JSON.stringify({ v: 1, type: 'probe', ts: '2026-01-01T00:00:00.000Z', flow_id: `probe-${n++}`, session_id: '-' }) + '\n')
      return seen().some((i) => (i.value as { type?: string } | undefined)?.type === 'probe')
    }, 'the follower to read a probe')
  }

  it('follows a growing file from its end, across a truncation, and stops on abort', async () => {
    const f = join(dir, 'grow.jsonl')
    writeFileSync(f, fixtureText('claude-code-turn.jsonl')) // already there: not read
    const ac = new AbortController()
    const got: SourceItem[] = []
    const errors: string[] = []
    const done = (async () => {
      for await (const x of openSource([f], { follow: true, pollMs: 20, signal: ac.signal, onError: (e) => errors.push(e.code) })) got.push(x as SourceItem)
    })()
    await probeUntilSeen(f, () => got)
    appendFileSync(f, fixtureText('codex-turn.jsonl'))
    await until(() => got.some((i) => (i.value as { flow_id?: string }).flow_id === 'cx-turn-3'), 'the appended records')
    writeFileSync(f, fixtureText('interleaved-sessions.jsonl')) // truncated and rewritten
    await until(() => got.some((i) => (i.value as { flow_id?: string }).flow_id === 'inter-b'), 'the records after the truncation')
    ac.abort()
    await done
    const flows = new Set(got.map((i) => (i.value as { flow_id: string }).flow_id))
    expect(flows.has('cc-turn-1')).toBe(false)
    expect(flows.has('cx-turn-1')).toBe(true)
    expect(errors).toContain('FILE_TRUNCATED')
  })

  it('holds a flow end until the lines file was read past it, however long that takes (a backlog of lines, not a fixed delay)', async () => {
    const d = join(dir, 'backlog', 'all-mitm-sse')
    mkdirSync(d, { recursive: true })
    const recs = fixtureRecords('claude-code-turn.jsonl')
    // ~150k lines of another flow ahead of this fixture's lines: reading them takes far longer than a poll or two.
    const filler = JSON.stringify({ v: 1, type: 'sse', ts: '2026-01-01T00:00:00.000Z', flow_id: 'filler', session_id: 's', seq: 0, event: 'ping', data: '{"type":"ping"}' }) + '\n'
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), byType(recs, 'flow_end'))
    writeFileSync(join(d, 'sse_flows.jsonl'), byType(recs, 'flow'))
    writeFileSync(join(d, 'sse_lines.jsonl'), filler.repeat(150_000) + byType(recs, 'sse'))
    const ac = new AbortController()
    const order: string[] = []
    const done = (async () => {
      for await (const x of openSource(resolveSourceFiles(join(dir, 'backlog'), { follow: true }), { follow: true, fromStart: true, pollMs: 20, signal: ac.signal, onError: () => undefined })) {
        const v = (x as SourceItem).value as { flow_id: string; type: string }
        if (v.flow_id !== 'filler') order.push(`${v.flow_id}:${v.type}`)
      }
    })()
    await until(() => order.length === recs.length, 'every record of the fixture')
    ac.abort()
    await done
    const ids = [...new Set(recs.map((r) => r.flow_id as string))]
    for (const id of ids) expect(order.lastIndexOf(`${id}:sse`)).toBeLessThan(order.indexOf(`${id}:flow_end`))
    expect(order.slice(-ids.length).every((o) => o.endsWith(':flow_end'))).toBe(true)
  })

  it('follows the three files of a log root that does not exist yet, flow ends held back behind their lines', async () => {
    const root = join(dir, 'later-root')
    const d = join(root, 'all-mitm-sse')
    const ac = new AbortController()
    const got: SourceItem[] = []
    const done = (async () => {
      for await (const x of openSource(resolveSourceFiles(root, { follow: true }), { follow: true, fromStart: true, pollMs: 20, signal: ac.signal, onError: () => undefined })) got.push(x as SourceItem)
    })()
    mkdirSync(d, { recursive: true })
    const recs = fixtureRecords('claude-code-turn.jsonl')
    // as a proxy writes them: the end of a flow lands in its file with (or before) the stream's last lines
    writeFileSync(join(d, 'sse_flow_ends.jsonl'), byType(recs, 'flow_end'))
    writeFileSync(join(d, 'sse_flows.jsonl'), byType(recs, 'flow'))
    writeFileSync(join(d, 'sse_lines.jsonl'), byType(recs, 'sse'))
    await until(() => got.length === recs.length, 'every record')
    ac.abort()
    await done
    const order = got.map((i) => `${(i.value as { flow_id: string }).flow_id}:${(i.value as { type: string }).type}`)
    expect(order.lastIndexOf('cc-turn-1:sse')).toBeLessThan(order.indexOf('cc-turn-1:flow_end'))
    expect(new Set(got.map((i) => i.file?.slice(d.length + 1)))).toEqual(new Set(['sse_lines.jsonl', 'sse_flows.jsonl', 'sse_flow_ends.jsonl']))
  })
})
