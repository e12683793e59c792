/**
 * The red-team suite (issue 16): a generated corpus of 1,000+ secret placements (request
 * headers, URLs, bodies, tool results, gzip, SSE text / thinking / tool arguments cut every way
 * and late in long answers, WebSocket frames both ways and close reasons) goes through the BUILT
 * proxy (apps/proxy/dist/bin.js start --redis …) over real TLS to a local upstream, with a real
 * Redis. Then every file under the log root (sse_logs/ included), every Redis stream entry and
 * the streamed text of every flow rejoined per channel is searched for any 10 chars of any
 * secret: there must be none. A dictionary of 121 guesses must recover nothing from the markers.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedactor } from '@agenttap/session-extractor'
import { getTestRedis, type TestRedis } from '../../../test-support/redis.js'
import { pool, runWs, sendHttps, sendPlain, TunnelAgent } from '../src/client.js'
import { buildCorpus, weakPasswordCases, type Case, type HttpCase, type Placement } from '../src/corpus.js'
import { collectHaystacks, findLeaks, type Leak } from '../src/scan.js'
import { startUpstream, type Upstream } from '../src/upstream.js'

const BIN = join(import.meta.dirname, '../../../apps/proxy/dist/bin.js')
const SEED = Number(process.env['REDTEAM_SEED'] ?? 16)

/** 121 guesses an attacker would try first; two of them are the weak passwords in the traffic. */
const DICTIONARY = (() => {
  const base = ['password', '123456', 'qwerty', 'letmein', 'dragon', 'monkey', 'football', 'iloveyou', 'admin', 'welcome', 'sunshine', 'princess', 'master', 'shadow', 'baseball', 'superman', 'trustno1', 'hello', 'freedom', 'whatever', 'changeme', 'secret', 'summer', 'winter', 'spring', 'autumn', 'passw0rd', 'p@ssw0rd', 'abc123', 'qwerty123']
  const words = new Set<string>()
  for (const b of base) for (const suffix of ['', '1', '123', '!']) words.add(`${b}${suffix}`)
  words.add('Summer2024!')
  for (const extra of ['Password1!', 'Welcome1!', 'Qwerty2024!']) if (words.size < 121) words.add(extra)
  return [...words]
})()
const WEAK = ['letmein123', 'Summer2024!']

let root: string
let redis: TestRedis
let upstream: Upstream
let proxy: ChildProcess
let proxyPort = 0
/** The proxy's diagnostics (stderr): searched too, a log can end up in a file. */
let proxyStderr = ''
const stream = `agenttap:redteam:${process.pid}:${Date.now()}`
const corpus = buildCorpus(SEED)
const weakCases = weakPasswordCases(WEAK)

function startProxy(): Promise<number> {
  const args = ['start', '--port', '0', '--no-monitor', '--no-web', '--quiet', '--ca-dir', join(root, 'ca'), '--log-dir', join(root, 'logs'), '--include-host', '127.0.0.1', '--upstream-ca', upstream.certPath, '--redis', redis.url, '--stream', stream]
  proxy = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proxy.stderr?.on('data', (d: Buffer) => (proxyStderr += d.toString()))
  return new Promise((resolve, reject) => {
    proxy.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /export HTTPS_PROXY=http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    proxy.once('exit', (code) => reject(new Error(`proxy exited with ${code} before listening: ${proxyStderr}`)))
  })
}

async function stopProxy(): Promise<number | null> {
  if (proxy.exitCode !== null) return proxy.exitCode
  const exited = new Promise<number | null>((r) => proxy.once('exit', (code) => r(code)))
  proxy.kill('SIGTERM')
  return exited
}

async function redisEntries(): Promise<Array<[string, string[]]>> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  try {
    const out: Array<[string, string[]]> = []
    let from = '-'
    for (;;) {
      const batch = (await client.xrange(stream, from, '+', 'COUNT', 5000)) as Array<[string, string[]]>
      const fresh = from === '-' ? batch : batch.slice(1)
      out.push(...fresh)
      if (batch.length < 5000) break
      from = (batch[batch.length - 1] as [string, string[]])[0]
    }
    await client.del(stream)
    return out
  } finally {
    client.disconnect()
  }
}

function jsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

function table(placements: readonly Placement[], leaks: readonly Leak[]): string {
  const rows = new Map<string, { n: number; leaked: number }>()
  for (const p of placements) {
    const row = rows.get(p.kind) ?? { n: 0, leaked: 0 }
    row.n++
    rows.set(p.kind, row)
  }
  for (const l of leaks) (rows.get(l.kind) as { leaked: number }).leaked++
  const lines = [...rows.entries()].sort((a, b) => b[1].n - a[1].n).map(([k, v]) => `  ${k.padEnd(22)} ${String(v.n).padStart(5)} placements  ${String(v.leaked).padStart(4)} leaked`)
  const types = new Map<string, number>()
  for (const p of placements) types.set(p.secret.type, (types.get(p.secret.type) ?? 0) + 1)
  return [
    `red-team corpus (seed ${SEED}): ${placements.length} placements, ${leaks.length} leaked`,
    ...lines,
    `  secret types: ${[...types.entries()].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}`,
  ].join('\n')
}

let records: { flows: Record<string, unknown>[]; lines: Record<string, unknown>[]; ends: Record<string, unknown>[] }
let leaks: Leak[] = []
let entries: Array<[string, string[]]> = []

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agenttap-redteam-'))
  redis = await getTestRedis()
  upstream = await startUpstream(root, [...corpus.cases, ...weakCases])
  proxyPort = await startProxy()
})

afterAll(async () => {
  if (proxy && proxy.exitCode === null) await stopProxy()
  await upstream?.close()
  await redis?.stop()
  if (root && !process.env['REDTEAM_KEEP']) rmSync(root, { recursive: true, force: true })
})

describe('red team: secrets through the built proxy', () => {
  it('captures every flow of the corpus and leaves no secret in any file under the log root or in the Redis stream', async () => {
    expect(corpus.placements).toBeGreaterThanOrEqual(1000)
    const ca = readFileSync(join(root, 'ca', 'certs', 'ca.pem'), 'utf8')
    const agent = new TunnelAgent(proxyPort, ca)
    const wsAgent = new TunnelAgent(proxyPort, ca, false)
    const all: Case[] = [...corpus.cases, ...weakCases]
    const jobs = all.map((c) => async (): Promise<unknown> => {
      if (c.kind === 'https') return sendHttps(agent, upstream.httpsPort, c)
      if (c.kind === 'plain') return sendPlain(proxyPort, upstream.httpPort, c)
      return runWs(wsAgent, upstream.httpsPort, c)
    })
    const t0 = performance.now()
    const results = await pool(jobs, 8)
    const failed = all.map((c, i) => [c.id, results[i]] as const).filter(([, r]) => r !== 200 && !(typeof r === 'object' && r !== null))
    expect(failed, 'every request answered 200').toEqual([])
    agent.destroy()
    wsAgent.destroy()
    expect(await stopProxy()).toBe(0)
    const trafficMs = performance.now() - t0

    // Not vacuous: every case reached the upstream and was captured whole.
    expect(all.filter((c) => !upstream.seen.has(c.id)).map((c) => c.id)).toEqual([])
    const dir = join(root, 'logs', 'all-mitm-sse')
    records = { flows: jsonl(join(dir, 'sse_flows.jsonl')), lines: jsonl(join(dir, 'sse_lines.jsonl')), ends: jsonl(join(dir, 'sse_flow_ends.jsonl')) }
    const idOf = (f: Record<string, unknown>): string => String((f['request_headers'] as Record<string, string>)['x-rt-id'] ?? new URL(String(f['url'])).searchParams.get('rt') ?? '')
    const flowById = new Map(records.flows.map((f) => [idOf(f), String(f['flow_id'])]))
    expect(all.filter((c) => !flowById.has(c.id)).map((c) => c.id)).toEqual([])
    const events = new Map<string, number>()
    // Server events only: a WebSocket client's frames sit in sse_lines.jsonl too, as client_frame records.
    for (const l of records.lines) if (l['type'] === 'sse') events.set(String(l['flow_id']), (events.get(String(l['flow_id'])) ?? 0) + 1)
    for (const c of all) {
      // Plain-HTTP cases get the upstream's default answer: one event.
      const expected = c.kind === 'https' ? (c.response.type === 'sse' ? c.response.events.length : 0) : c.kind === 'ws' ? c.serverFrames.length : 1
      expect(events.get(flowById.get(c.id) as string) ?? 0, `events of ${c.id}`).toBe(expected)
    }
    expect(records.ends).toHaveLength(all.length)

    entries = await redisEntries()
    expect(entries.length).toBe(records.flows.length + records.lines.length + records.ends.length)
    const placements = corpus.cases.flatMap((c) => c.placements)
    const t1 = performance.now()
    const haystacks = [...(await collectHaystacks(join(root, 'logs'), dir, entries)), { where: 'proxy stderr', text: proxyStderr }]
    const t2 = performance.now()
    leaks = findLeaks(placements, haystacks)
    const chars = haystacks.reduce((a, h) => a + h.text.length, 0)
    console.log(`${table(placements, leaks)}\n  traffic ${Math.round(trafficMs)} ms for ${all.length} flows; collecting ${Math.round(t2 - t1)} ms, search ${Math.round(performance.now() - t2)} ms over ${haystacks.length} texts (${(chars / 1e6).toFixed(1)} M chars)`)
    for (const l of leaks.slice(0, 20)) console.log(`  LEAK ${l.kind} ${l.type} in ${l.where}: ${l.found}`)
    expect(leaks).toEqual([])

    // The search sees what reaches disk: the controls are found where they were written.
    const { prompt, sse, ws } = corpus.controls
    const files = haystacks.filter((h) => !h.where.includes('#') && !h.where.startsWith('redis') && h.where !== 'proxy stderr')
    const rejoined = haystacks.filter((h) => h.where.includes('#'))
    const inRedis = haystacks.filter((h) => h.where.startsWith('redis '))
    expect(findLeaks([prompt], files).map((l) => l.kind)).toEqual(['control-prompt'])
    expect(findLeaks([prompt], inRedis).map((l) => l.kind)).toEqual(['control-prompt'])
    // Split in 2-char pieces, a word is in no file or entry whole, only in the rejoined streams (files' and Redis's).
    expect(findLeaks([sse, ws], files)).toEqual([])
    expect(findLeaks([sse, ws], rejoined.filter((h) => !h.where.startsWith('redis'))).map((l) => l.kind).sort()).toEqual(['control-sse-2-char-deltas', 'control-ws-frames'])
    expect(findLeaks([sse, ws], rejoined.filter((h) => h.where.startsWith('redis'))).map((l) => l.kind).sort()).toEqual(['control-sse-2-char-deltas', 'control-ws-frames'])
  })

  it('a dictionary of 121 guesses recovers no weak password from the capture; only the install key matches them', async () => {
    expect(DICTIONARY).toHaveLength(121)
    for (const w of WEAK) expect(DICTIONARY).toContain(w)
    const weakFlows = new Set(records.flows.filter((f) => String((f['request_headers'] as Record<string, string>)['x-rt-id']).startsWith('weak')).map((f) => String(f['flow_id'])))
    const captured = JSON.stringify(records.flows.filter((f) => weakFlows.has(String(f['flow_id']))))
    for (const w of WEAK) expect(captured).not.toContain(w)
    const markers = new Set(captured.match(/\[REDACTED:[0-9a-f]{12}\]/g))
    expect(markers.size).toBeGreaterThanOrEqual(WEAK.length)
    const unkeyed = (s: string): string => `[REDACTED:${createHash('sha256').update(s).digest('hex').slice(0, 12)}]`
    expect(DICTIONARY.filter((g) => markers.has(unkeyed(g)))).toEqual([])
    // The same bodies through an unkeyed redactor (the old markers): the dictionary finds both.
    const old = JSON.stringify(weakCases.map((c) => createRedactor().json(JSON.parse((c as HttpCase).body as string))))
    expect(DICTIONARY.filter((g) => old.includes(unkeyed(g))).sort()).toEqual([...WEAK].sort())
    // Whoever holds the install's key can still correlate: its HMAC gives the captured markers.
    const key = readFileSync(join(root, 'ca', 'keys', 'redaction.key'), 'utf8').trim()
    const keyed = (s: string): string => `[REDACTED:${createHmac('sha256', key).update(s).digest('hex').slice(0, 12)}]`
    expect(DICTIONARY.filter((g) => markers.has(keyed(g))).sort()).toEqual([...WEAK].sort())
  })
})
