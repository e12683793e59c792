// Flows that never end (issue 16 item 5): the live view replays N flows that start, stream a
// little and never finish, then the input ends. Each switch of the screen and the final drain
// used to scan every open flow (quadratic: 100k flows took 119 s). Prints the time at 10k, 100k
// and 300k flows and the growth of the time per flow, which O(n log n) keeps near flat.
//   node bench/open-flows.bench.mjs            10k, 100k, 300k
//   BENCH_SCALE=0.1 node bench/open-flows.bench.mjs   1k, 10k, 30k
import { loadavg } from 'node:os'
import { createLiveView } from '../dist/index.js'

const scale = Number(process.env.BENCH_SCALE ?? 1)
const sizes = [10_000, 100_000, 300_000].map((n) => Math.max(100, Math.round(n * scale)))
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 shared cores: figures are noisy)`)

function replay(n) {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z')
  let now = t0
  let ops = 0
  const view = createLiveView({ now: () => now, onOps: (o) => (ops += o.length), preview: false })
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i).toISOString()
    const flow_id = `f${i}`
    const session_id = `s${i % 50}`
    view.feed({ v: 1, type: 'flow', ts, flow_id, session_id, client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' })
    view.feed({ v: 1, type: 'sse', ts, flow_id, session_id, seq: 0, t_ms: 1, event: 'message_start', data: '{"type":"message_start","message":{"id":"m","model":"claude-x","role":"assistant","usage":{"input_tokens":3,"output_tokens":1}}}' })
    view.feed({ v: 1, type: 'sse', ts, flow_id, session_id, seq: 1, t_ms: 2, event: 'content_block_start', data: '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}' })
    view.feed({ v: 1, type: 'sse', ts, flow_id, session_id, seq: 2, t_ms: 3, event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"an answer that never ends"}}' })
    now += 1
    if (i % 256 === 0) view.tick()
  }
  view.end()
  const ms = performance.now() - start
  return { ms, ops, ended: view.stats.ended }
}

replay(Math.min(2000, sizes[0])) // warm-up
const res = sizes.map((n) => ({ n, ...replay(n) }))
for (const r of res) console.log(`${r.n} never-ending flows: ${(r.ms / 1000).toFixed(2)} s, ${((r.ms * 1000) / r.n).toFixed(1)} µs per flow, ${r.ops} render ops, ${r.ended} end lines`)
const first = res[0]
const last = res[res.length - 1]
// O(n log n): the time per flow grows like log n (log 300k / log 10k ≈ 1.37); quadratic grows 30×.
const growth = last.ms / last.n / (first.ms / first.n)
const ok = growth <= 3
console.log(`${ok ? 'PASS' : 'MISS'} time per flow at ${last.n} vs ${first.n} flows: ×${growth.toFixed(2)} (target <= ×3; quadratic would be ×${(last.n / first.n).toFixed(0)})`)
