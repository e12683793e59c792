import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisClient, createRedisStreamWriter } from '@agenttap/jsonl-io/redis'
import { getTestRedis, type TestRedis } from '../../../test-support/redis.js'
import { main } from '../src/cli.js'
import { Sink, fixtureRecords } from './helpers.js'

let server: TestRedis
let redis: Redis
const stream = `agenttap:test:monitor:${randomUUID()}`

beforeAll(async () => {
  server = await getTestRedis()
  redis = await createRedisClient(server.url)
  for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20))
})
afterAll(async () => {
  await redis.del(stream)
  redis.disconnect()
  await server.stop()
})

/**
 * Runs the CLI until its output contains `until` (and its stderr `alsoUntil`: reader warnings go
 * to stderr when stdout is not a terminal), then stops it like Ctrl-C would.
 */
async function runUntil(args: string[], until: RegExp, timeoutMs = 15_000, alsoUntil?: RegExp): Promise<{ out: string; err: string }> {
  const out = new Sink()
  const err = new Sink()
  const ac = new AbortController()
  const done = main(args, { stdout: out as never, stderr: err as never, env: {}, signal: ac.signal })
  const end = Date.now() + timeoutMs
  while (!(until.test(out.text) && (alsoUntil?.test(err.text) ?? true)) && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
  ac.abort()
  expect(await done).toBe(0)
  expect(out.text, `stderr: ${err.text}`).toMatch(until)
  return { out: out.text, err: err.text }
}

describe('agenttap-monitor --redis', () => {
  it('shows records from a consumer group, warns about malformed entries, and resumes after a restart without repeating', async () => {
    const w = createRedisStreamWriter(redis, { stream })
    for (const r of fixtureRecords('claude-code-turn.jsonl')) w.write(r)
    await w.flush()
    await redis.xadd(stream, '*', 'r', '{"not":"a record"')
    const args = ['--redis', server.url, '--stream', stream, '--group', 'g', '--consumer', 'c1', '--from-start', '--color', 'never']
    const first = await runUntil(args, /largest file is `src\/parser\.ts`[\s\S]*end_turn/, 15_000, /⚠/)
    expect(first.out).toContain('$ printf "café\\n" && ls -la src/')
    expect(first.err).toMatch(/⚠ .*redis:agenttap:test:monitor/)
    expect(first.out).not.toMatch(/⚠/)

    // Restarted under the same consumer name: only what came after is shown.
    for (const r of fixtureRecords('codex-turn.jsonl')) w.write(r)
    await w.flush()
    const second = (await runUntil(args, /splits on `\\r\?\\n`[\s\S]*completed/)).out
    expect(second).not.toContain('largest file is')
    expect(second).toContain('$ cd repo && npm test')
    await w.close()
    const pending = (await redis.xpending(stream, 'g')) as [number]
    expect(pending[0]).toBe(0)
  }, 40_000)
})
