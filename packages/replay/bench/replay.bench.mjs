#!/usr/bin/env node
// Replay's two speed targets, with the server in a child process and the client here (so the
// client's own work does not delay the server's timers, as with a real agent):
//
//   as fast:  one captured stream of N events served with --as-fast, over SSE and over a
//             WebSocket; events/s per stream from the request to the last event.   Target ≥ 5,000.
//   recorded: one stream of 400 events at uneven recorded gaps (0–40 ms, seeded) at speed 1;
//             the error of each inter-event gap as the client sees it,
//             |(arrival_i − arrival_i−1) − (t_i − t_i−1)|, p50 / p99 / max.       Target p99 ≤ 5 ms.
//
//   node bench/replay.bench.mjs            (after `pnpm --filter @agenttap/replay build`)
//   BENCH_SCALE=0.2 node bench/replay.bench.mjs   quick run
//   BENCH_ONLY=paced | fast                       one of the two parts
//   BENCH_DIST=<other checkout>/packages/replay/dist/index.js   another build (paired before/after runs)
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'

const here = dirname(fileURLToPath(import.meta.url))
const dist = process.env.BENCH_DIST ?? join(here, '../dist/index.js')
const only = process.env.BENCH_ONLY
const scale = Number(process.env.BENCH_SCALE ?? 1)
const N = Math.max(2000, Math.round(100_000 * scale))
const ROUNDS = 3
const PACED = Math.max(100, Math.round(400 * Math.min(1, scale * 2)))
const dir = mkdtempSync(join(tmpdir(), 'agenttap-replay-bench-'))

function prng(seed) {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

const rec = (o) => JSON.stringify({ v: 1, ts: '2026-11-20T10:00:00.000Z', session_id: 's', ...o })
const delta = (i) => JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `token ${i} of the answer, ` } })
const anthropic = (prompt) => ({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: prompt }], tools: [{ name: 'Bash', input_schema: { type: 'object' } }] })

/** A capture of three flows: the fast SSE stream, the paced SSE stream, a WebSocket of the fast stream. */
function writeCapture() {
  const lines = []
  const start = JSON.stringify({ type: 'message_start', message: { id: 'msg_b', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 3, output_tokens: 1 } } })
  const tail = [JSON.stringify({ type: 'content_block_stop', index: 0 }), JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: N } }), JSON.stringify({ type: 'message_stop' })]
  const stream = (flow, times) => {
    const evs = [start, JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })]
    for (let i = 0; i < times.length - 5; i++) evs.push(delta(i))
    evs.push(...tail)
    return evs.map((d, seq) => rec({ type: 'sse', flow_id: flow, seq, t_ms: times[seq], event: JSON.parse(d).type, data: d }))
  }
  // The same request three times: served in capture order, one per round.
  for (let k = 1; k <= ROUNDS; k++) {
    lines.push(rec({ type: 'flow', flow_id: `fast${k}`, flow_seq: k, client: 'claude-code', provider: 'anthropic', method: 'POST', url: 'https://api.anthropic.com/v1/messages', status: 200, response_headers: { 'content-type': 'text/event-stream' }, request_body: anthropic('fast') }))
    lines.push(...stream(`fast${k}`, Array.from({ length: N }, (_, i) => 100 + i)))
    lines.push(rec({ type: 'flow_end', flow_id: `fast${k}`, outcome: 'completed', status: 200, events: N, ttfb_ms: 100 }))
  }
  const r = prng(7)
  const paced = [100]
  for (let i = 1; i < PACED; i++) paced.push(paced[i - 1] + Math.round(r() < 0.3 ? 0 : r() * 40))
  lines.push(rec({ type: 'flow', flow_id: 'paced', flow_seq: 10, client: 'claude-code', provider: 'anthropic', method: 'POST', url: 'https://api.anthropic.com/v1/messages', status: 200, response_headers: { 'content-type': 'text/event-stream' }, request_body: anthropic('paced') }))
  lines.push(...stream('paced', paced))
  lines.push(rec({ type: 'flow_end', flow_id: 'paced', outcome: 'completed', status: 200, events: PACED, ttfb_ms: 100 }))
  // A Codex WebSocket: one response.create frame, then N server frames.
  const frame = JSON.stringify({ type: 'response.create', model: 'gpt-5.1-codex', instructions: 'You are Codex.', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'ws' }] }] })
  lines.push(rec({ type: 'flow', flow_id: 'ws', flow_seq: 11, client: 'codex', provider: 'openai', method: 'GET', url: 'https://chatgpt.com/backend-api/codex/responses', status: 101, response_headers: {}, request_body: JSON.parse(frame) }))
  lines.push(rec({ type: 'client_frame', flow_id: 'ws', seq: 0, t_ms: 1, data: frame, transport: 'ws' }))
  for (let i = 0; i < N; i++) lines.push(rec({ type: 'sse', flow_id: 'ws', seq: i + 1, t_ms: 10 + i, data: JSON.stringify({ type: 'response.output_text.delta', sequence_number: i, item_id: 'msg_1', output_index: 0, content_index: 0, delta: `token ${i} ` }), transport: 'ws' }))
  lines.push(rec({ type: 'flow_end', flow_id: 'ws', outcome: 'completed', status: 101, events: N }))
  const file = join(dir, 'bench.jsonl')
  writeFileSync(file, lines.filter((l) => !l.includes('"flow_id":"paced"')).join('\n') + '\n')
  // The paced stream in a capture of its own: the timing is not measured on a heap of 300,000 events.
  const pacedFile = join(dir, 'paced.jsonl')
  writeFileSync(pacedFile, lines.filter((l) => l.includes('"flow_id":"paced"')).join('\n') + '\n')
  return { file, pacedFile, paced, frame }
}

function startServer(file, speed) {
  const code = `
    import { loadReplayCapture, createReplayServer } from ${JSON.stringify(dist)}
    const capture = await loadReplayCapture(${JSON.stringify(file)})
    const s = createReplayServer({ capture, speed: ${speed === Infinity ? 'Infinity' : speed}, report: ${JSON.stringify(join(dir, `report-${speed}.jsonl`))} })
    const { port } = await s.start()
    process.stdout.write(port + '\\n')
    process.stdin.on('end', () => s.close().then(() => {
      const c = process.cpuUsage()
      process.stderr.write('server CPU ' + ((c.user + c.system) / 1e6).toFixed(2) + ' s\\n')
      process.exit(0)
    }))
    process.stdin.resume()`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve({ port: Number(String(d).trim()), stop: () => new Promise((r) => { child.on('exit', r); child.stdin.end() }) }))
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)))
  })
}

/** POSTs the request and returns the arrival time of each event (ms from the request). */
function sseArrivals(port, body) {
  return new Promise((resolve, reject) => {
    const arrivals = []
    const t0 = performance.now()
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/messages' }, (res) => {
      let tailBytes = ''
      res.setEncoding('utf8')
      res.on('data', (c) => {
        const now = performance.now() - t0
        // Count event ends ("\n\n"), also across chunk boundaries.
        const s = tailBytes + c
        let i = s.indexOf('\n\n')
        while (i !== -1) {
          arrivals.push(now)
          i = s.indexOf('\n\n', i + 2)
        }
        tailBytes = s.endsWith('\n') ? '\n' : ''
        if (s.endsWith('\n\n')) tailBytes = ''
      })
      res.on('end', () => resolve(arrivals))
      res.on('error', reject)
    })
    req.on('error', reject)
    // Head and body in one go: with Nagle's algorithm the body would wait for the server's delayed ACK.
    req.setNoDelay(true)
    req.end(JSON.stringify(body))
  })
}

function wsStream(port, frame, n) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/backend-api/codex/responses`, { perMessageDeflate: false })
    let got = 0
    let t0
    ws.on('open', () => {
      t0 = performance.now()
      ws.send(frame)
    })
    ws.on('message', () => {
      if (++got === n) {
        const ms = performance.now() - t0
        ws.close()
        resolve(ms)
      }
    })
    ws.on('error', reject)
  })
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

const { file, pacedFile, paced, frame } = writeCapture()
console.log(`replay bench: ${N.toLocaleString()} events per fast stream, ${PACED} paced events, ${dist}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`)
try {
  if (only !== 'paced') {
  const fast = await startServer(file, Infinity)
  const rates = []
  for (let round = 0; round < ROUNDS; round++) {
    const a = await sseArrivals(fast.port, anthropic('fast'))
    if (a.length !== N) throw new Error(`expected ${N} events, got ${a.length}`)
    rates.push(N / (a.at(-1) / 1000))
  }
  const wsMs = await wsStream(fast.port, frame, N)
  await fast.stop()
  const sseRate = Math.max(...rates)
  const wsRate = N / (wsMs / 1000)
  console.log(`as fast, SSE:       ${Math.round(sseRate).toLocaleString()} events/s (rounds: ${rates.map((r) => Math.round(r).toLocaleString()).join(', ')})`)
  console.log(`as fast, WebSocket: ${Math.round(wsRate).toLocaleString()} events/s`)
  console.log(`${Math.min(sseRate, wsRate) >= 5000 ? 'PASS' : 'MISS'} as-fast events/s per stream ≥ 5,000: SSE ${Math.round(sseRate).toLocaleString()}, WebSocket ${Math.round(wsRate).toLocaleString()}`)
  }
  if (only !== 'fast') {

  const paceServer = await startServer(pacedFile, 1)
  const a = await sseArrivals(paceServer.port, anthropic('paced'))
  await paceServer.stop()
  if (a.length !== PACED) throw new Error(`expected ${PACED} paced events, got ${a.length}`)
  const errs = []
  for (let i = 1; i < PACED; i++) errs.push(Math.abs(a[i] - a[i - 1] - (paced[i] - paced[i - 1])))
  const first = a[0] - paced[0]
  const p99 = pct(errs, 99)
  if (process.env.BENCH_DEBUG) console.log(errs.map((e) => e.toFixed(1)).filter((e) => e > 5).join(' '))
  console.log(`recorded pace: inter-event error p50 ${pct(errs, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${Math.max(...errs).toFixed(2)} ms; first event ${first.toFixed(1)} ms after its time; stream ${a.at(-1).toFixed(0)} ms vs recorded ${paced.at(-1)} ms`)
  console.log(`${p99 <= 5 ? 'PASS' : 'MISS'} recorded-pace inter-event timing error p99 ≤ 5 ms: ${p99.toFixed(2)} ms`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
