// Benchmark: direct vs agenttap-proxy vs mitmdump against the same local HTTPS SSE upstream.
// Figures: per-event added latency (p50/p99), HTTPS req/s for small streamed responses at
// concurrency 1 and 32, and proxy RSS while a slow client drains a large stream.
// Targets: p99 added latency ≤ 2 ms; req/s ≥ 5× mitmdump's; RSS bounded with a slow client.
// Quick run: BENCH_SCALE=0.2 node bench/proxy.bench.mjs   (or --scale 0.2)
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const argScale = process.argv.indexOf('--scale')
const SCALE = Number(argScale > 0 ? process.argv[argScale + 1] : process.env.BENCH_SCALE ?? 1) || 1
const dir = mkdtempSync(join(tmpdir(), 'agenttap-bench-'))
const children = []
const now = () => performance.timeOrigin + performance.now()

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
}
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))

function startChild(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  children.push(c)
  let err = ''
  c.stderr.on('data', (d) => (err += d))
  return new Promise((resolve, reject) => {
    let out = ''
    c.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl !== -1) resolve({ child: c, line: out.slice(0, nl) })
    })
    c.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 500)}`)))
  })
}

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : NaN
  } catch {
    return NaN
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** keep-alive agent; through a proxy each socket is a CONNECT tunnel + TLS with `ca`. */
function makeAgent(proxyPort, ca, maxSockets) {
  const agent = new HttpsAgent({ keepAlive: true, maxSockets, ca })
  if (proxyPort) {
    agent.createConnection = (options, cb) => {
      const target = `${options.host}:${options.port}`
      const req = httpRequest({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: target, headers: { host: target } })
      req.on('connect', (res, socket) => {
        if (res.statusCode !== 200) return cb(new Error(`CONNECT ${res.statusCode}`))
        socket.setNoDelay(true)
        cb(null, tlsConnect({ socket, ca, host: options.host }))
      })
      req.on('error', cb)
      req.end()
      return undefined
    }
  }
  return agent
}

function get(agent, port, path, onData) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent, method: 'GET' }, (res) => {
      res.on('data', (c) => onData?.(c, res))
      res.on('end', resolve)
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function latency(agent, port) {
  const n = Math.max(50, Math.round(400 * SCALE))
  const lat = []
  let buf = ''
  await get(agent, port, `/stream?n=${n}&gap=3`, (c) => {
    const t = now()
    buf += c.toString()
    let i
    while ((i = buf.indexOf('\n\n')) !== -1) {
      const ev = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const m = /"t":([\d.]+)/.exec(ev)
      if (m) lat.push(t - Number(m[1]))
    }
  })
  // First events include connection warm-up effects on every path; drop 5%.
  lat.splice(0, Math.ceil(lat.length * 0.05))
  return lat.sort((a, b) => a - b)
}

async function throughput(agent, port, concurrency) {
  const ms = Math.max(500, 3000 * SCALE)
  // Warm the pool (tunnels + TLS) so steady-state request cost is what's measured.
  await Promise.all(Array.from({ length: concurrency }, () => get(agent, port, '/small')))
  let done = 0
  let failed = 0
  const end = performance.now() + ms
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        try {
          await get(agent, port, '/small')
          done++
        } catch {
          failed++
        }
      }
    }),
  )
  return { rps: done / ((performance.now() - t0) / 1000), failed }
}

async function slowClientRss(agent, port, pid) {
  const mb = Math.max(8, Math.round(48 * SCALE))
  const before = rssKiB(pid)
  let peak = before
  const sampler = setInterval(() => {
    const r = rssKiB(pid)
    if (r > peak) peak = r
  }, 25)
  let received = 0
  await get(agent, port, `/big?mb=${mb}`, (c, res) => {
    received += c.length
    // A slow reader: pause after each chunk, drain at ~10-20 MB/s.
    res.pause()
    setTimeout(() => res.resume(), 2)
  })
  clearInterval(sampler)
  return { mb, received, beforeMiB: before / 1024, peakMiB: peak / 1024, growthMiB: (peak - before) / 1024 }
}

async function measure(name, proxyPort, ca, pid) {
  const r = { name }
  r.lat = await latency(makeAgent(proxyPort, ca, 1), upstreamPort)
  r.c1 = await throughput(makeAgent(proxyPort, ca, 1), upstreamPort, 1)
  r.c32 = await throughput(makeAgent(proxyPort, ca, 32), upstreamPort, 32)
  if (pid) r.rss = await slowClientRss(makeAgent(proxyPort, ca, 1), upstreamPort, pid)
  return r
}

// --- setup
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
const upstreamCert = readFileSync(join(dir, 'c.pem'), 'utf8')
const up = await startChild(process.execPath, [join(here, 'upstream.child.mjs'), join(dir, 'k.pem'), join(dir, 'c.pem')])
const upstreamPort = Number(up.line)

console.log(`proxy bench (scale ${SCALE}): upstream https://127.0.0.1:${upstreamPort}`)
const results = []
results.push(await measure('direct', 0, upstreamCert))

const at = await startChild(process.execPath, [join(here, 'agenttap.child.mjs'), join(dir, 'ca'), join(dir, 'logs'), join(dir, 'c.pem')])
const [atPort, atCa] = at.line.split(' ')
results.push(await measure('agenttap', Number(atPort), readFileSync(atCa, 'utf8'), at.child.pid))

const mitmdump = which('mitmdump')
if (!mitmdump) {
  console.log('mitmdump: SKIPPED (not on PATH; Debian package `mitmproxy`)')
} else {
  const confdir = join(dir, 'mitm')
  const mitmPort = 20000 + Math.floor(Math.random() * 20000)
  const m = spawn(mitmdump, ['--listen-host', '127.0.0.1', '--listen-port', String(mitmPort), '--set', 'stream_large_bodies=1', '--set', 'ssl_insecure=true', '--set', `confdir=${confdir}`, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] })
  children.push(m)
  const caPath = join(confdir, 'mitmproxy-ca-cert.pem')
  for (let i = 0; i < 200 && !existsSync(caPath); i++) await new Promise((r) => setTimeout(r, 50))
  // Wait until it accepts connections.
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const req = httpRequest({ host: '127.0.0.1', port: mitmPort, method: 'CONNECT', path: `127.0.0.1:${upstreamPort}` })
      req.on('connect', (_res, s) => (s.destroy(), r(true)))
      req.on('error', () => r(false))
      req.end()
    })
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  try {
    results.push(await measure('mitmdump', mitmPort, readFileSync(caPath, 'utf8'), m.pid))
  } catch (err) {
    console.log(`mitmdump: FAILED (${err.message})`)
  }
}

// --- report
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const direct = results[0]
console.log('\npath        event latency p50 / p99 (ms)   req/s c=1   req/s c=32   slow-client RSS before → peak (MiB)')
for (const r of results) {
  console.log(
    `${r.name.padEnd(11)} ${f(pct(r.lat, 50)).padStart(8)} / ${f(pct(r.lat, 99)).padEnd(8)}            ${r.c1.rps.toFixed(0).padStart(7)}   ${r.c32.rps.toFixed(0).padStart(9)}   ${r.rss ? `${f(r.rss.beforeMiB)} → ${f(r.rss.peakMiB)} (${r.rss.mb} MiB streamed)` : '-'}`,
  )
}
const agent = results.find((r) => r.name === 'agenttap')
const mitm = results.find((r) => r.name === 'mitmdump')
const addP50 = pct(agent.lat, 50) - pct(direct.lat, 50)
const addP99 = pct(agent.lat, 99) - pct(direct.lat, 99)
console.log(`\nagenttap added latency per event: p50 ${f(addP50)} ms, p99 ${f(addP99)} ms (target p99 ≤ 2 ms)`)
console.log(`${addP99 <= 2 ? 'PASS' : 'MISS'} p99 added latency ≤ 2 ms`)
if (mitm) {
  const r1 = agent.c1.rps / mitm.c1.rps
  const r32 = agent.c32.rps / mitm.c32.rps
  console.log(`mitmdump added latency per event: p50 ${f(pct(mitm.lat, 50) - pct(direct.lat, 50))} ms, p99 ${f(pct(mitm.lat, 99) - pct(direct.lat, 99))} ms`)
  console.log(`agenttap / mitmdump req/s: ×${r1.toFixed(1)} at c=1, ×${r32.toFixed(1)} at c=32 (target ≥ ×5)`)
  console.log(`${Math.min(r1, r32) >= 5 ? 'PASS' : 'MISS'} HTTPS req/s ≥ 5× mitmdump`)
} else {
  console.log('SKIP HTTPS req/s ≥ 5× mitmdump (mitmdump not installed)')
}
// Bounded: streaming N MiB to a slow reader must not grow the proxy by anything near N.
const bound = Math.max(24, agent.rss.mb / 2)
console.log(`agenttap RSS growth with a slow client: ${f(agent.rss.growthMiB)} MiB while streaming ${agent.rss.mb} MiB (target < ${bound} MiB, i.e. not buffered)`)
console.log(`${agent.rss.growthMiB < bound ? 'PASS' : 'MISS'} RSS bounded with a slow client`)
cleanup()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
