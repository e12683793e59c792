// Redis capture bus: records/s into a stream from the sink writer (pipelined vs one XADD per
// record), and end-to-end lag writer → consumer-group reader at 5k records/s (p50/p99).
// Targets: ≥ 50k records/s pipelined; p99 lag ≤ 50 ms at 5k records/s.
// Uses REDIS_URL, else 127.0.0.1:6379. BENCH_SCALE shrinks the run.
import { randomUUID } from 'node:crypto'
import { consumeRedisStream, createRedisClient, createRedisStreamWriter } from '../dist/redis.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const scale = Number(process.env.BENCH_SCALE ?? 1)
const redis = await createRedisClient(url)
for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50))
if (redis.status !== 'ready') {
  console.log(`SKIP no Redis at ${url}`)
  process.exit(0)
}
// A realistic record: an Anthropic text delta line.
const rec = (i) => ({ v: 1, type: 'sse', ts: new Date().toISOString(), flow_id: `flow-${i % 50}`, session_id: '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912', seq: i, t_ms: i, event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'some streamed text of a typical size ' } }) })

async function throughput(n, unpipelined) {
  const stream = `agenttap:bench:${randomUUID()}`
  const w = createRedisStreamWriter(redis, { stream, unpipelined, maxQueue: n + 1 })
  const t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) w.write(rec(i))
  await w.flush()
  const s = Number(process.hrtime.bigint() - t) / 1e9
  if (w.stats.written !== n) throw new Error(`wrote ${w.stats.written} of ${n}`)
  await redis.del(stream)
  return n / s
}
const nPipe = Math.round(200_000 * scale)
const nOne = Math.round(20_000 * scale)
await throughput(5000, false)
const pipe = await throughput(nPipe, false)
const one = await throughput(nOne, true)
console.log(`sink throughput: pipelined ${pipe.toFixed(0)} records/s (${nPipe}), one XADD per record ${one.toFixed(0)} records/s (${nOne}) → ${(pipe / one).toFixed(1)}x`)

// Lag at a steady 5k records/s for a few seconds.
const stream = `agenttap:bench:${randomUUID()}`
const w = createRedisStreamWriter(redis, { stream })
const ac = new AbortController()
const lags = []
const total = Math.round(5000 * 4 * Math.max(scale, 0.25))
const reader = (async () => {
  for await (const e of consumeRedisStream(redis, { stream, group: 'bench', consumer: 'c', startId: '0', blockMs: 100, signal: ac.signal })) {
    lags.push(Date.now() - e.record.sent)
    void e.ack() // acks go out without waiting for each reply (ioredis pipelines them on the socket)
    if (lags.length >= total) ac.abort()
  }
})()
await new Promise((r) => setTimeout(r, 200))
const start = Date.now()
let sent = 0
while (sent < total) {
  const due = Math.floor(((Date.now() - start) / 1000) * 5000)
  while (sent < due && sent < total) w.write({ ...rec(sent), sent: Date.now() }), sent++
  await new Promise((r) => setTimeout(r, 1))
}
await reader
lags.sort((a, b) => a - b)
const pct = (p) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))]
console.log(`lag writer → consumer group at 5k records/s over ${lags.length} records: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${lags[lags.length - 1]} ms`)
await redis.del(stream)
redis.disconnect()
console.log(`${pipe >= 50_000 ? 'PASS' : 'MISS'} sink ≥ 50k records/s pipelined: ${pipe.toFixed(0)}`)
console.log(`${pct(99) <= 50 ? 'PASS' : 'MISS'} p99 lag ≤ 50 ms at 5k records/s: ${pct(99)} ms`)
