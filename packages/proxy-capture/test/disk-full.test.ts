// A capture on a really full disk (a small tmpfs, where this machine lets us mount one): every
// lost record is counted, warned about and recorded in a sink_gap once the disk takes writes
// again, and no file holds a torn line. The default configuration (capture thread).
import { readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { mountSmallDisk } from '../../../test-support/small-disk.js'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { loadFixture, proxiedRequest, startTestProxy, startUpstream, tempDir } from './helpers.js'

const disk = mountSmallDisk(1024)
afterAll(() => {
  if ('cleanup' in disk) disk.cleanup()
})
if ('unavailable' in disk) console.warn(`disk-full tests skipped: ${disk.unavailable}`)

const anthropic = loadFixture('claude-code-turn.jsonl')
const { host: _host, ...headers } = anthropic.flow.request_headers

/** Every line of every file under `dir`, parsed: throws on a torn or glued line. */
function parseAll(dir: string): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>()
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.jsonl')) {
        const text = readFileSync(p, 'utf8')
        if (text !== '') expect(text.endsWith('\n'), `${p} ends in a torn line`).toBe(true)
        out.set(p, text.split('\n').filter(Boolean).map((l, i) => {
          try {
            return JSON.parse(l) as Record<string, unknown>
          } catch {
            throw new Error(`${p}:${i + 1} is not a whole record: ${l.slice(0, 120)}`)
          }
        }))
      }
    }
  }
  walk(dir)
  return out
}

describe.skipIf('unavailable' in disk)('disk full under the capture (1 MiB tmpfs)', () => {
  it('counts, warns about and records every lost record; leaves no torn line; goes on once there is room', async () => {
    const dir = (disk as { dir: string }).dir
    const root = tempDir('agenttap-disk-full-')
    const upstream = await startUpstream(root, { anthropic })
    const warnings: string[] = []
    const logger = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, cb) => (warnings.push(c.toString()), cb()) }))
    const records: CaptureRecord[] = []
    const logDir = join(dir, 'logs')
    const { proxy, agent } = await startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir, includeHosts: ['127.0.0.1'], upstreamCa: upstream.cert, logger }, records)
    try {
      const send = async (t: string): Promise<void> => {
        const r = await proxiedRequest(agent, upstream.port, `/v1/messages?t=${t}`, { headers: { ...headers, 'content-type': 'application/json', 'x-test-id': t }, body: JSON.stringify(anthropic.flow.request_body) })
        // The traffic never notices the disk.
        expect(r.body.equals(upstream.sent.get(t)!)).toBe(true)
      }
      await send('d0')
      await proxy.flush()
      // Leave less room than one more flow takes.
      const free = (): number => {
        const s = statfsSync(dir)
        return s.bavail * s.bsize
      }
      writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, free() - 24 * 1024), 1))
      let n = 1
      for (; n < 40 && proxy.stats().lostRecords === 0; n++) {
        await send(`d${n}`)
        await proxy.flush()
      }
      const lost = proxy.stats().lostRecords
      expect(lost).toBeGreaterThan(0)
      expect(proxy.stats().droppedRecords).toBeGreaterThanOrEqual(lost)
      expect(warnings.join('')).toMatch(/records are being lost until the disk takes writes again/)
      // Room again: the capture carries on, and says what it lost.
      rmSync(join(dir, 'filler'))
      for (let i = 0; i < 3; i++) await send(`after${i}`)
      await proxy.flush()
      expect(warnings.join('')).toMatch(/writing again; \d+ record\(s\) were lost/)
      const files = parseAll(logDir)
      const ends = files.get(join(logDir, 'all-mitm-sse', 'sse_flow_ends.jsonl')) ?? []
      const gaps = ends.filter((r) => r['type'] === 'sink_gap')
      expect(gaps.length).toBeGreaterThan(0)
      expect(gaps.every((g) => g['sink'] === 'files' && typeof g['file'] === 'string' && typeof g['from'] === 'string')).toBe(true)
      expect(gaps.reduce((s, g) => s + Number(g['dropped']), 0)).toBe(proxy.stats().lostRecords)
      // What is on disk plus what was lost is what was captured (per-client views aside).
      const main = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].reduce((s, f) => s + (files.get(join(logDir, 'all-mitm-sse', f)) ?? []).filter((r) => r['type'] !== 'sink_gap').length, 0)
      const mainLost = gaps.filter((g) => String(g['file']).startsWith('all-mitm-sse/')).reduce((s, g) => s + Number(g['dropped']), 0)
      expect(main + mainLost).toBe(records.length)
      // The flows after the recovery are whole on disk.
      const flows = files.get(join(logDir, 'all-mitm-sse', 'sse_flows.jsonl')) ?? []
      for (let i = 0; i < 3; i++) {
        const f = flows.find((x) => String(x['url']).includes(`t=after${i}`))
        expect(f, `after${i}`).toBeDefined()
        expect(ends.filter((e) => e['flow_id'] === f!['flow_id'])).toEqual([expect.objectContaining({ outcome: 'completed', events: anthropic.events.length })])
      }
    } finally {
      await proxy.stop()
      await upstream.close()
    }
  }, 120_000)
})
