#!/usr/bin/env node
// Replay of a large capture with bounded memory: loads the capture (one pass: fingerprints and
// byte ranges, no events kept), then serves a sample of its calls as fast as possible over HTTP
// (each call's events read from disk when it is asked for) and reports the process's peak RSS.
//
//   node bench/large.bench.mjs [capture dir]     (read only; without one, a ~1 GiB capture is generated
//                                                with fixtures/generate.mjs and deleted afterwards)
//   BENCH_DIST=/other/checkout/packages/replay/dist/index.js node bench/large.bench.mjs …   another build
//   BENCH_CALLS=200                                                              calls served (spread over the capture)
//
// Target: peak RSS ≤ 768 MiB for a 1 GiB capture (the capture is never held in memory).
import { spawnSync } from 'node:child_process'
import { createReadStream, statSync } from 'node:fs'
import { request } from 'node:http'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

const here = dirname(fileURLToPath(import.meta.url))
const dist = process.env.BENCH_DIST ?? join(here, '../dist/index.js')
/** Without a capture dir: a generated ~1 GiB synthetic capture in a temporary directory. */
function generated() {
  const dir = mkdtempSync(join(tmpdir(), 'agenttap-replay-large-cap-'))
  const gen = join(here, '..', '..', '..', 'fixtures', 'generate.mjs')
  const r = spawnSync(process.execPath, [gen, '--synthetic', dir, '--sessions', '20', '--flows', '10000000', '--seed', '1', '--target-mb', process.env.BENCH_MB ?? '1024'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`generate.mjs failed: ${r.stderr}`)
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  return dir
}
const path = process.argv[2] ?? generated()
const CALLS = Number(process.env.BENCH_CALLS ?? 200)
const TARGET_MIB = 768
const { loadReplayCapture, createReplayServer } = await import(dist)
const capDir = path.endsWith('all-mitm-sse') ? path : join(path, 'all-mitm-sse')
const bytes = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].reduce((n, f) => n + statSync(join(capDir, f)).size, 0)
const mib = (b) => (b / 1024 / 1024).toFixed(0)
const cpu = (c0) => {
  const c = process.cpuUsage(c0)
  return `${(c.user / 1e6).toFixed(1)} s user ${(c.system / 1e6).toFixed(1)} s sys`
}
console.log(`replay large-capture bench: ${path} (${mib(bytes)} MiB), ${dist}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`)

const tmp = mkdtempSync(join(tmpdir(), 'agenttap-replay-large-'))
try {
  let c0 = process.cpuUsage()
  let t0 = performance.now()
  const capture = await loadReplayCapture(path)
  const loadWall = (performance.now() - t0) / 1000
  const loadCpu = cpu(c0)
  const rssLoaded = process.memoryUsage().rss
  console.log(`load: ${capture.exchanges.length.toLocaleString()} calls, ${capture.events.toLocaleString()} events in ${loadWall.toFixed(1)} s wall, ${loadCpu}; RSS after load ${mib(rssLoaded)} MiB`)

  // A sample of the captured requests, spread over the capture.
  const step = Math.max(1, Math.floor(capture.exchanges.length / CALLS))
  const bodies = []
  let n = 0
  for await (const line of createInterface({ input: createReadStream(join(capDir, 'sse_flows.jsonl')) })) {
    if (n++ % step !== 0 || bodies.length >= CALLS) continue
    const f = JSON.parse(line)
    if (f.method === 'POST' && f.request_body && typeof f.request_body === 'object' && !f.request_body.$ref) bodies.push({ url: new URL(f.url).pathname + new URL(f.url).search, body: JSON.stringify(f.request_body) })
  }
  const server = createReplayServer({ capture, speed: Infinity, report: join(tmp, 'report.jsonl') })
  const { port } = await server.start()
  c0 = process.cpuUsage()
  t0 = performance.now()
  let events = 0
  for (const b of bodies) {
    events += await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: b.url, headers: { 'content-type': 'application/json' } }, (res) => {
        let count = 0
        let tail = ''
        res.setEncoding('utf8')
        res.on('data', (c) => {
          const s = tail + c
          count += s.split('\n\n').length - 1
          tail = s.slice(s.lastIndexOf('\n\n') + 2)
        })
        res.on('end', () => resolve(count))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(b.body)
    })
  }
  const serveWall = (performance.now() - t0) / 1000
  const summary = await server.close()
  const peak = process.resourceUsage().maxRSS * 1024
  console.log(`served ${summary.served} of ${bodies.length} requests (${summary.divergences} divergences), ${events.toLocaleString()} events in ${serveWall.toFixed(1)} s wall, ${cpu(c0)}`)
  console.log(`peak RSS ${mib(peak)} MiB for a ${mib(bytes)} MiB capture`)
  console.log(`${peak <= TARGET_MIB * 1024 * 1024 ? 'PASS' : 'MISS'} peak RSS ≤ ${TARGET_MIB} MiB replaying ${mib(bytes)} MiB: ${mib(peak)} MiB`)
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
