import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { TelemetryRecord } from '@agenttap/jsonl-io'
import { createOtlpReceiver } from '@agenttap/otel'
import { runCli } from '../src/index.js'

const tmp = mkdtempSync(join(tmpdir(), 'analyze-otel-'))
const CAPTURE = join(tmp, 'capture')
cpSync(join(import.meta.dirname, '..', '..', '..', 'fixtures', 'capture'), CAPTURE, { recursive: true })
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function cli(args: string[]) {
  let out = ''
  let err = ''
  const code = await runCli(args, {
    stdout: { write: (s: string | Uint8Array) => ((out += String(s)), true), isTTY: false, columns: 200 },
    stderr: { write: (s: string | Uint8Array) => ((err += String(s)), true), isTTY: false },
    env: {},
  })
  return { code, out, err }
}

describe('agenttap-analyze otlp / telemetry', () => {
  it('otlp --endpoint: every model call of the capture as spans; --since narrows; a re-export sends the same ids', async () => {
    const got: TelemetryRecord[] = []
    const backend = createOtlpReceiver({ port: 0, allServices: true, onRecord: (r) => got.push(r) })
    const url = await backend.start()
    try {
      const r = await cli(['otlp', '--endpoint', url, '--log-dir', CAPTURE])
      expect(r.code).toBe(0)
      expect(r.err).toMatch(/^25 call\(s\) from 3 file\(s\) .* → (\d+)\/\1 span\(s\) exported to http:\/\/127\.0\.0\.1:\d+, \d+ metric point\(s\)/)
      const chats = got.filter((x) => x.signal === 'span' && x.name.startsWith('chat '))
      expect(chats).toHaveLength(25)
      const ids = got.filter((x) => x.signal === 'span').map((x) => `${x.trace_id}/${x.span_id}`).sort()
      got.length = 0
      expect((await cli(['otlp', '--endpoint', url, '--log-dir', CAPTURE, '--no-metrics', '-q'])).code).toBe(0)
      expect(got.filter((x) => x.signal === 'span').map((x) => `${x.trace_id}/${x.span_id}`).sort()).toEqual(ids)
      expect(got.some((x) => x.signal === 'metric')).toBe(false)
      got.length = 0
      const since = await cli(['otlp', '--endpoint', url, '--log-dir', CAPTURE, '--since', '2026-11-20T10:05:00Z'])
      expect(since.code).toBe(0)
      const sinceChats = got.filter((x) => x.signal === 'span' && x.name.startsWith('chat '))
      expect(sinceChats.length).toBeGreaterThan(0)
      expect(sinceChats.length).toBeLessThan(25)
      for (const c of sinceChats) expect(Date.parse(c.time as string)).toBeGreaterThanOrEqual(Date.parse('2026-11-20T10:05:00Z'))
    } finally {
      await backend.close()
    }
  })

  it('otlp without --endpoint, or with a bad one, is a usage error', async () => {
    expect((await cli(['otlp', '--log-dir', CAPTURE])).code).toBe(2)
    expect((await cli(['otlp', '--endpoint', 'nope', '--log-dir', CAPTURE])).code).toBe(2)
  })

  it('telemetry: the capture against the agent\'s own events stored beside it', async () => {
    const rec = (name: string, attributes: Record<string, unknown>, keys: Record<string, string>): string =>
      JSON.stringify({ v: 1, type: 'telemetry', ts: '2026-11-20T10:00:09.000Z', flow_id: '-', session_id: '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912', signal: 'log', client: 'claude-code', name, time: '2026-11-20T10:00:00.500Z', attributes, ...keys }) + '\n'
    appendFileSync(join(CAPTURE, 'all-mitm-sse', 'sse_flow_ends.jsonl'), rec('claude_code.api_request', { request_id: 'req_011CVfixture0001', model: 'claude-sonnet-4-5-20250929', input_tokens: 9, output_tokens: 200, cache_read_tokens: 14210, cache_creation_tokens: 1320, cost_usd: 0.02 }, { request_id: 'req_011CVfixture0001' }))
    const r = await cli(['telemetry', '--log-dir', CAPTURE])
    expect(r.code).toBe(0)
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'differs', field: 'output_tokens', call_key: 'cc-turn-1#0', wire: 187, telemetry: 200 }))
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'wire_only', call_key: 'cc-turn-2#0' }))
    expect(r.err).toMatch(/1 request\(s\) and 0 tool result\(s\) joined; 1 difference\(s\), 1 call\(s\) without telemetry, 0 event\(s\) without a wire call; agent cost estimate \$0\.0200/)
    const t = await cli(['telemetry', '--log-dir', CAPTURE, '-f', 'table', '--session', 'nope'])
    expect(t.out).toBe('(no differences)\n')
  })
})
