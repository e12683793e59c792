import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getTestRedis, startRedisServer, type TestRedis } from '../../../test-support/redis.js'
import type { JsonlError } from '../src/index.js'
import { consumeRedisStream, createRedisClient, createRedisStreamWriter, readRedisStream } from '../src/redis.js'
import { sleep, tempDir, until } from './helpers.js'

let server: TestRedis
let redis: Redis
const keys: string[] = []
const key = () => {
  const k = `agenttap:test:${randomUUID()}`
  keys.push(k)
  return k
}
const rec = (i: number) => ({ v: 1, type: 'sse', ts: new Date(1_763_632_800_000 + i).toISOString(), flow_id: `f${i % 3}`, session_id: 's', seq: i, data: `{"i":${i}}` })

beforeAll(async () => {
  server = await getTestRedis()
  redis = await createRedisClient(server.url)
  await until(() => redis.status === 'ready')
})
afterAll(async () => {
  if (keys.length) await redis.del(...keys)
  redis.disconnect()
  await server.stop()
})

describe('createRedisStreamWriter + readRedisStream', () => {
  it('round-trips records through a stream, pipelined, and skips malformed entries with a report', async () => {
    const stream = key()
    const w = createRedisStreamWriter(redis, { stream, batchSize: 64 })
    for (let i = 0; i < 1000; i++) w.write(rec(i))
    await w.flush()
    expect(w.stats).toMatchObject({ written: 1000, dropped: 0, queued: 0 })
    await redis.xadd(stream, '*', 'r', '{not json')
    await redis.xadd(stream, '*', 'other', 'field')
    await redis.xadd(stream, '*', 'r', '{"v":1,"type":"sse"}')
    w.write(rec(1000))
    await w.close()
    const errors: JsonlError[] = []
    const got: number[] = []
    for await (const e of readRedisStream(redis, { stream, from: '0', untilEnd: true, count: 100, onError: (e) => errors.push(e) })) {
      expect(e.id).toMatch(/^\d+-\d+$/)
      got.push((e.record as { seq: number }).seq)
    }
    expect(got).toEqual(Array.from({ length: 1001 }, (_, i) => i))
    expect(errors.map((e) => e.code)).toEqual(['MALFORMED_JSON', 'INVALID_RECORD', 'INVALID_RECORD'])
    expect(errors[0]?.file).toBe(`redis:${stream}`)
    const inBand: string[] = []
    for await (const e of readRedisStream(redis, { stream, from: '0', untilEnd: true, inBandErrors: true })) inBand.push(e.error ? `error ${e.error.code}` : 'record')
    const ids: string[] = []
    for await (const e of readRedisStream(redis, { stream, from: '0', untilEnd: true })) ids.push(e.id)
    const ranged: string[] = []
    for await (const e of readRedisStream(redis, { stream, from: ids[9]!, to: ids[19]!, untilEnd: true, count: 4 })) ranged.push(e.id)
    expect(ranged).toEqual(ids.slice(10, 20)) // from is exclusive (XREAD), to inclusive
    expect(inBand.slice(999, 1004)).toEqual(['record', 'error MALFORMED_JSON', 'error INVALID_RECORD', 'error INVALID_RECORD', 'record'])
  })

  it('follows new entries with a blocking read from $', async () => {
    const stream = key()
    await redis.xadd(stream, '*', 'r', JSON.stringify(rec(0)))
    const ac = new AbortController()
    const got: number[] = []
    const done = (async () => {
      for await (const e of readRedisStream(redis, { stream, blockMs: 50, signal: ac.signal })) got.push((e.record as { seq: number }).seq)
    })()
    // The signal that the reader is live (has resolved '$' and reads): a marker entry it yields.
    // Markers added before that are, rightly, skipped like entry 0; so add one until one comes back.
    const MARK = 1000
    while (got.length === 0) {
      await redis.xadd(stream, '*', 'r', JSON.stringify(rec(MARK)))
      await until(() => got.length > 0, 250).catch(() => undefined)
    }
    const w = createRedisStreamWriter(redis, { stream })
    for (let i = 1; i <= 5; i++) w.write(rec(i))
    await w.flush()
    const real = () => got.filter((n) => n !== MARK)
    await until(() => real().length === 5)
    ac.abort()
    await done
    expect(real()).toEqual([1, 2, 3, 4, 5])
    // nothing but markers came before them, and entry 0 (older than the reader) never came
    expect(got.slice(0, got.length - 5).every((n) => n === MARK)).toBe(true)
  })

  it('keeps the proxy side non-blocking when Redis dies: bounded queue, gap counted, resumes after restart', async () => {
    const own = await startRedisServer()
    const client = await createRedisClient(own.url)
    await until(() => client.status === 'ready')
    const gaps: Array<{ dropped: number }> = []
    const w = createRedisStreamWriter(client, { stream: 'cap', maxQueue: 100, onGap: (g) => gaps.push(g) })
    for (let i = 0; i < 50; i++) w.write(rec(i))
    await w.flush()
    expect(w.stats.written).toBe(50)
    await own.kill()
    await until(() => client.status !== 'ready')
    const accepted = Array.from({ length: 300 }, (_, i) => w.write(rec(50 + i)))
    expect(accepted.filter(Boolean)).toHaveLength(100)
    expect(w.stats).toMatchObject({ queued: 100, dropped: 200 })
    await w.flush() // must not hang while Redis is down
    await own.restart()
    await until(() => w.stats.written === 150, 15_000)
    expect(gaps).toEqual([{ dropped: 200, from: rec(150).ts, to: rec(349).ts }])
    expect(await client.xlen('cap')).toBe(100) // the restarted server keeps nothing on disk: only the queued 100 are there
    await w.close()
    client.disconnect()
    await own.stop()
  }, 30_000)
})

describe('consumeRedisStream (consumer groups)', () => {
  it('a consumer killed mid-stream and restarted loses nothing and gets nothing acked twice', async () => {
    const stream = key()
    const w = createRedisStreamWriter(redis, { stream })
    for (let i = 0; i < 400; i++) w.write(rec(i))
    await w.flush()
    const t = tempDir()
    const log = join(t.dir, 'log')
    writeFileSync(log, '')
    const dist = join(import.meta.dirname, '../dist/redis.js')
    // The child handles entries slowly, logging "handled" then "acked"; it is SIGKILLed mid-stream.
    const script = `import { consumeRedisStream, createRedisClient } from ${JSON.stringify(dist)}
      import { appendFileSync } from 'node:fs'
      const redis = await createRedisClient(${JSON.stringify(server.url)})
      for await (const e of consumeRedisStream(redis, { stream: ${JSON.stringify(stream)}, group: 'g', consumer: 'c1', startId: '0', count: 10, blockMs: 100 })) {
        appendFileSync(${JSON.stringify(log)}, 'handled ' + e.record.seq + '\\n')
        await new Promise((r) => setTimeout(r, 2))
        await e.ack()
        appendFileSync(${JSON.stringify(log)}, 'acked ' + e.record.seq + '\\n')
      }`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' })
    await until(() => readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('acked')).length >= 100, 20_000)
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    const seqs = (word: string): Set<number> => new Set(lines.filter((l) => l.startsWith(word)).map((l) => Number(l.split(' ')[1])))
    const acked = seqs('acked')
    // Handled but not logged as acked: the kill came between the two lines, so its XACK may or
    // may not have reached Redis. If it did not, the entry is redelivered; if it did, it is not.
    const inDoubt = new Set([...seqs('handled')].filter((s) => !acked.has(s)))
    expect(acked.size).toBeGreaterThanOrEqual(100)
    expect(acked.size).toBeLessThan(400)
    expect(inDoubt.size).toBeLessThanOrEqual(1)

    // Restart with the same consumer name: its unacked entries come first, then the rest.
    const ac = new AbortController()
    const second: number[] = []
    for await (const e of consumeRedisStream(redis, { stream, group: 'g', consumer: 'c1', count: 50, blockMs: 50, signal: ac.signal })) {
      second.push((e.record as { seq: number }).seq)
      await e.ack()
      if (new Set([...acked, ...inDoubt, ...second]).size >= 400) ac.abort()
    }
    for (const s of second) expect(acked.has(s)).toBe(false)
    expect(new Set(second).size).toBe(second.length)
    expect(new Set([...acked, ...inDoubt, ...second]).size).toBe(400)
    const pending = (await redis.xpending(stream, 'g')) as [number, ...unknown[]]
    expect(pending[0]).toBe(0)
    t.cleanup()
  }, 30_000)

  it('claims entries pending on a dead consumer and acks malformed entries away', async () => {
    const stream = key()
    const w = createRedisStreamWriter(redis, { stream })
    for (let i = 0; i < 20; i++) w.write(rec(i))
    await w.flush()
    await redis.xadd(stream, '*', 'r', 'garbage')
    // A consumer that takes everything and dies without acking.
    const dead = consumeRedisStream(redis, { stream, group: 'g2', consumer: 'dead', startId: '0', count: 100, blockMs: 50 })
    const first = await dead.next()
    expect(first.done).toBe(false)
    await dead.return(undefined)
    // Wait for the signal the claim depends on: Redis reports the dead consumer's entries idle
    // for longer than claimIdleMs (not a fixed sleep that hopes they are).
    for (;;) {
      const pending = (await redis.xpending(stream, 'g2', '-', '+', 100)) as Array<[string, string, number, number]>
      if (pending.length > 0 && pending.every((p) => p[2] > 100)) break
      await sleep(10)
    }
    const ac = new AbortController()
    const got: number[] = []
    const errors: JsonlError[] = []
    for await (const e of consumeRedisStream(redis, { stream, group: 'g2', consumer: 'alive', claimIdleMs: 100, blockMs: 50, signal: ac.signal, onError: (e) => errors.push(e) })) {
      got.push((e.record as { seq: number }).seq)
      await e.ack()
      if (got.length === 20) ac.abort()
    }
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(errors.map((e) => e.code)).toEqual(['MALFORMED_JSON'])
    const pending = (await redis.xpending(stream, 'g2')) as [number, ...unknown[]]
    expect(pending[0]).toBe(0)
  }, 30_000)
})
