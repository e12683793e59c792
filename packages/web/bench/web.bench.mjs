// Benchmarks of the web view over a synthetic capture (node bench/web.bench.mjs; BENCH_SCALE=0.2 for a quick run):
//   1. history indexing throughput (start → historyLoaded), MB/s, target ≥ 40 MB/s
//   2. flow detail by byte offset (load + normalize + render), p50 / p95 ms, target p95 ≤ 50 ms
//   3. live push: record appended to the files → flow update on the page's SSE stream, p50 ms, target ≤ 500 ms
//   4. index memory per flow (heap delta / flows), target ≤ 4 KiB
//   5. body search (raw scan of the capture files), MB/s, target ≥ 150 MB/s
//   6. the session plot after history has a point for every main-lane call (issue 20)
// Compared with the naive alternative for (2): re-reading and parsing the whole sse_lines.jsonl per detail.
import { appendFileSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createWebServer } from '../dist/index.js'

// A real GC before each heap reading, with or without --expose-gc on the command line.
setFlagsFromString('--expose-gc')
const gc = globalThis.gc ?? runInNewContext('gc')

const scale = Number(process.env.BENCH_SCALE ?? process.argv.find((a) => a.startsWith('--scale='))?.slice(8) ?? 1)
const flows = Math.max(10, Math.round(250 * scale)) // per session, 20 sessions
const { writeSynthetic } = await import(fileURLToPath(new URL('../../../fixtures/generate.mjs', import.meta.url)))

const root = mkdtempSync(join(tmpdir(), 'agenttap-web-bench-'))
const results = []
try {
  writeSynthetic(root, { sessions: 20, flows, seed: 7 })
  const cap = join(root, 'all-mitm-sse')
  const bytes = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].reduce((n, f) => n + statSync(join(cap, f)).size, 0)

  gc()
  const heap0 = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const web = createWebServer({ logDir: root, port: 0, pollMs: 50, pushIntervalMs: 20 })
  await web.start()
  await web.historyLoaded
  const indexMs = performance.now() - t0
  const mbps = bytes / 1e6 / (indexMs / 1000)
  gc()
  const perFlow = (process.memoryUsage().heapUsed - heap0) / web.index.size
  console.log(`capture: ${flows * 20} flows, ${(bytes / 1e6).toFixed(1)} MB; indexed ${web.index.size} flows in ${indexMs.toFixed(0)} ms = ${mbps.toFixed(1)} MB/s`)
  results.push(['history indexing', mbps >= 40, `${mbps.toFixed(1)} MB/s (target ≥ 40 MB/s)`])
  results.push(['index memory per flow', perFlow <= 4096, `${(perFlow / 1024).toFixed(2)} KiB/flow (target ≤ 4 KiB)`])
  // Issue 20: history read side by side must not lose calls from the session plot (main-lane model calls).
  const mainCalls = web.index.list().filter((f) => f.usage !== undefined && f.subagent === undefined).reduce((n, f) => n + (f.calls ?? 0), 0)
  const points = [...new Set(web.index.list().map((f) => f.session_id))].reduce((n, s) => n + web.index.timeline(s).length, 0)
  results.push(['session plot after history', points === mainCalls && points > 0, `${points} points for ${mainCalls} main-lane calls (target: all)`])

  const get = (path) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: web.port, path, headers: { 'x-agenttap-token': web.token, host: `127.0.0.1:${web.port}` } }, (res) => {
        const c = []
        res.on('data', (d) => c.push(d))
        res.on('end', () => resolve(Buffer.concat(c).toString()))
      })
      req.on('error', reject)
      req.end()
    })
  const ids = web.index.list().map((f) => f.flow_id)
  const lat = []
  for (let i = 0; i < 200; i++) {
    const id = ids[(i * 7919) % ids.length]
    const t = performance.now()
    const d = JSON.parse(await get(`/api/flows/${encodeURIComponent(id)}`))
    lat.push(performance.now() - t)
    if (!Array.isArray(d.lines)) throw new Error(`bad detail for ${id}`)
  }
  lat.sort((a, b) => a - b)
  const p50 = lat[Math.floor(lat.length * 0.5)]
  const p95 = lat[Math.floor(lat.length * 0.95)]
  // Naive: parse the whole lines file and filter one flow.
  const tn = performance.now()
  const id = ids[ids.length >> 1]
  readFileSync(join(cap, 'sse_lines.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.flow_id === id)
  const naive = performance.now() - tn
  console.log(`flow detail: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (200 random flows); naive whole-file parse: ${naive.toFixed(0)} ms per flow (${(naive / p50).toFixed(0)}× slower)`)
  results.push(['flow detail p95', p95 <= 50, `${p95.toFixed(1)} ms (target ≤ 50 ms)`])

  // Body search: a raw scan of sse_flows + sse_lines.
  const ts0 = performance.now()
  const found = JSON.parse(await get(`/api/search?q=${encodeURIComponent('zz-not-present-zz')}`))
  const searchMs = performance.now() - ts0
  const scanMbps = found.scanned_bytes / 1e6 / (searchMs / 1000)
  console.log(`body search: scanned ${(found.scanned_bytes / 1e6).toFixed(1)} MB in ${searchMs.toFixed(0)} ms = ${scanMbps.toFixed(0)} MB/s (5 needle forms, case-folded)`)
  results.push(['body search scan', scanMbps >= 150, `${scanMbps.toFixed(0)} MB/s (target ≥ 150 MB/s)`])

  // Live push latency over the SSE stream.
  const pushLat = []
  await new Promise((resolve, reject) => {
    let sent = 0
    const pending = new Map()
    const req = request({ host: '127.0.0.1', port: web.port, path: '/api/stream', headers: { 'x-agenttap-token': web.token, host: `127.0.0.1:${web.port}` } }, (res) => {
      let buf = ''
      res.setEncoding('utf8')
      const next = () => {
        if (sent === 30) {
          req.destroy()
          return resolve()
        }
        const fid = `bench-live-${sent++}`
        pending.set(fid, performance.now())
        appendFileSync(join(cap, 'sse_flows.jsonl'), `${JSON.stringify({ v: 1, type: 'flow', ts: new Date().toISOString(), flow_id: fid, session_id: 'bench', client: 'claude-code', provider: 'anthropic' })}\n`)
      }
      res.on('data', (c) => {
        buf += c
        let i
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (block.startsWith('event: snapshot')) next()
          if (!block.startsWith('event: flows')) continue
          const data = JSON.parse(block.slice(block.indexOf('data: ') + 6))
          for (const f of data.flows) {
            const t = pending.get(f.flow_id)
            if (t !== undefined) {
              pending.delete(f.flow_id)
              pushLat.push(performance.now() - t)
              next()
            }
          }
        }
      })
    })
    req.on('error', reject)
    req.end()
  })
  pushLat.sort((a, b) => a - b)
  const pp50 = pushLat[Math.floor(pushLat.length / 2)]
  console.log(`live push (append → SSE frame): p50 ${pp50.toFixed(0)} ms, max ${pushLat[pushLat.length - 1].toFixed(0)} ms over ${pushLat.length} flows`)
  results.push(['live push p50', pp50 <= 500, `${pp50.toFixed(0)} ms (target ≤ 500 ms)`])
  await web.close()
} finally {
  rmSync(root, { recursive: true, force: true })
}
for (const [name, ok, text] of results) console.log(`${ok ? 'PASS' : 'MISS'} ${name}: ${text}`)
