import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisClient, createRedisStreamWriter } from '@agenttap/jsonl-io/redis'
import { getTestRedis, type TestRedis } from '../../../test-support/redis.js'
import { runCli } from '../src/index.js'

// The shared capture of all fixture scenarios, as the proxy would have put it on the stream.
const CAP = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'capture')
const lines = (f: string) => readFileSync(join(CAP, 'all-mitm-sse', f), 'utf8').trimEnd().split('\n')
const all = [...lines('sse_flows.jsonl'), ...lines('sse_lines.jsonl'), ...lines('sse_flow_ends.jsonl')]
  .map((l) => JSON.parse(l) as { ts: string })
  .sort((a, b) => a.ts.localeCompare(b.ts))

let server: TestRedis
let redis: Redis
const stream = `agenttap:test:analyze:${randomUUID()}`
const tmp = mkdtempSync(join(tmpdir(), 'analyze-redis-'))

async function cli(args: string[]) {
  let out = ''
  let err = ''
  const code = await runCli(args, {
    stdout: { write: (s: string | Uint8Array) => ((out += String(s)), true), isTTY: false },
    stderr: { write: (s: string | Uint8Array) => ((err += String(s)), true), isTTY: false },
    env: {},
  })
  return { code, out, err }
}

beforeAll(async () => {
  server = await getTestRedis()
  redis = await createRedisClient(server.url)
  for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20))
  const w = createRedisStreamWriter(redis, { stream })
  for (const r of all) w.write(r)
  await w.close()
  await redis.xadd(stream, '*', 'r', 'not json')
})
afterAll(async () => {
  await redis.del(stream)
  redis.disconnect()
  await server.stop()
  rmSync(tmp, { recursive: true, force: true })
})

describe('agenttap-analyze with Redis', () => {
  it('redis-dump writes every record as NDJSON and warns about the malformed entry', async () => {
    const r = await cli(['redis-dump', '--redis', server.url, '--stream', stream])
    expect(r.code).toBe(0)
    const got = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)
    expect(got).toEqual(all)
    expect(r.err).toMatch(/warning: .*not JSON/)
  })

  it('a mode over --redis gives the same rows as over the files, and redis-dump --out-dir makes a capture dir', async () => {
    for (const mode of ['usage', 'tool_calls', 'errors', 'sessions']) {
      const files = await cli([mode, '--log-dir', CAP, '--no-index', '--quiet', '--format', 'ndjson'])
      const viaRedis = await cli([mode, '--redis', server.url, '--stream', stream, '--index-dir', join(tmp, 'idx'), '--quiet', '--format', 'ndjson'])
      expect(files.code).toBe(0)
      expect(viaRedis.code).toBe(0)
      expect(files.out.length).toBeGreaterThan(10)
      expect(viaRedis.out).toBe(files.out)
    }
    const imp = await cli(['redis-dump', '--redis', server.url, '--stream', stream, '--out-dir', tmp, '--quiet'])
    expect(imp.code).toBe(0)
    const a = await cli(['usage', '--log-dir', tmp, '--quiet', '--format', 'ndjson'])
    const b = await cli(['usage', '--log-dir', CAP, '--no-index', '--quiet', '--format', 'ndjson'])
    expect(a.out).toBe(b.out)
  })

  it('the stream index reads each entry once (a cursor in the index) and counts redelivered entries once', async () => {
    const s2 = `${stream}:incr`
    const idx = join(tmp, 'idx-incr')
    const w = createRedisStreamWriter(redis, { stream: s2 })
    const half = Math.floor(all.length / 2)
    for (const r of all.slice(0, half)) w.write(r)
    await w.flush()
    const first = await cli(['usage', '--redis', server.url, '--stream', s2, '--index-dir', idx, '--quiet', '--format', 'ndjson'])
    expect(first.code).toBe(0)
    for (const r of all.slice(half)) w.write(r)
    // at-least-once: a stretch of entries delivered again
    for (const r of all.slice(half - 20, half + 20)) w.write(r)
    await w.close()
    const second = await cli(['usage', '--redis', server.url, '--stream', s2, '--index-dir', idx, '--quiet', '--format', 'ndjson'])
    const files = await cli(['usage', '--log-dir', CAP, '--no-index', '--quiet', '--format', 'ndjson'])
    expect(second.out).toBe(files.out)
    expect(first.out.length).toBeLessThan(second.out.length)
    await redis.del(s2)
  })

  it('an unreachable Redis is one clear line and a non-zero exit', async () => {
    const r = await cli(['redis-dump', '--redis', 'redis://127.0.0.1:1'])
    expect(r.code).not.toBe(0)
    expect(r.err).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/)
  }, 20_000)
})
