import { createHmac } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createCaptureEngine } from './capture-engine.js'
import { ensureRedactionKey } from './redaction-key.js'

const dirs: string[] = []
function tempCaDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'agenttap-key-'))
  dirs.push(d)
  return join(d, 'ca')
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const SECRET = 'sk-ant-api03-Hw4Tq9Zr2Xm7Lp5Vc8Nb1Jd6Kf3Gs0Ya-Ue9Ri4Ow7Pq2Mz5Xc8Vb1Nm3Lk6Jh9Gf2Ds5Aq8We4Rt7Yu1Io0Pl3AA'

/** The records one SSE flow produces through an engine keyed with `key`. */
async function capture(key: string | undefined): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = []
  const engine = createCaptureEngine({ rawBodies: 'off', ...(key ? { redaction: { hashKey: key } } : {}) }, { emit: (r) => out.push(r), raw: () => undefined, log: () => {} })
  const t = Date.now()
  const sse = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `key ${SECRET} ok` } })}\n\n`
  engine.apply([
    ['open', 'f1', { seq: 0, t, method: 'POST', url: 'https://api.anthropic.com/v1/messages', host: 'api.anthropic.com', transport: 'http', headers: { 'x-api-key': SECRET, 'content-type': 'application/json' } }],
    ['req', 'f1', Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: `DB_PASS=hunter22 and ${SECRET}` }] }))],
    ['head', 'f1', t + 1, 200, { 'content-type': 'text/event-stream' }, true],
    ['body', 'f1', t + 2, Buffer.from(sse)],
    ['end', 'f1', t + 3, 'completed', undefined, undefined, false],
  ])
  await engine.drain()
  return out
}

describe('ensureRedactionKey', () => {
  it('creates a 0600 key beside the CA on first use and returns the same key afterwards', () => {
    const caDir = tempCaDir()
    const first = ensureRedactionKey(caDir)
    expect(first.created).toBe(true)
    expect(first.path).toBe(join(caDir, 'keys', 'redaction.key'))
    expect(first.key).toMatch(/^[0-9a-f]{64}$/)
    expect(statSync(first.path).mode & 0o777).toBe(0o600)
    expect(statSync(join(caDir, 'keys')).mode & 0o777).toBe(0o700)
    const again = ensureRedactionKey(caDir)
    expect(again).toEqual({ ...first, created: false })
    expect(ensureRedactionKey(tempCaDir()).key).not.toBe(first.key)
  })

  it('tightens a key file restored with loose permissions, and names the file when it is not a key', () => {
    const caDir = tempCaDir()
    const { path } = ensureRedactionKey(caDir)
    chmodSync(path, 0o644)
    ensureRedactionKey(caDir)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    writeFileSync(path, 'not a key\n')
    expect(() => ensureRedactionKey(caDir)).toThrow(expect.objectContaining({ code: 'CA_INVALID', message: expect.stringContaining(path) }))
    expect(readFileSync(path, 'utf8')).toBe('not a key\n')
  })
})

describe('capture engine with a redaction key', () => {
  it('marks every secret with the HMAC of the install key: same key, same markers; another key, other markers', async () => {
    const key = ensureRedactionKey(tempCaDir()).key
    const mark = (s: string): string => `[REDACTED:${createHmac('sha256', key).update(s).digest('hex').slice(0, 12)}]`
    const a = JSON.stringify(await capture(key))
    expect(a).not.toContain('Hw4Tq9Zr2Xm7')
    expect(a).not.toContain('hunter22')
    // Header, request body and a streamed text delta: one marker for the key everywhere.
    expect(a.split(`sk-ant-api03-${mark(SECRET)}`).length - 1).toBe(3)
    expect(a).toContain(mark('hunter22'))
    const markers = (s: string): string[] => [...new Set(s.match(/\[REDACTED:[0-9a-f]{12}\]/g))].sort()
    expect(markers(JSON.stringify(await capture(key)))).toEqual(markers(a))
    const other = JSON.stringify(await capture(ensureRedactionKey(tempCaDir()).key))
    expect(other).not.toContain(mark(SECRET))
    expect(other).not.toContain('Hw4Tq9Zr2Xm7')
  })
})
