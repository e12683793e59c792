#!/usr/bin/env node
// @agenttap/otel benchmarks.
//
// 1. History export: a synthetic capture (fixtures/generate.mjs: Claude Code and Codex sessions
//    interleaved, 1 GiB at scale 1) read through the ledger and exported as GenAI spans + metrics
//    (official OTLP/HTTP protobuf exporter) to a local receiver in another process (the package's
//    own receiver, decoding every request with the official proto definitions). Figures: spans/s,
//    calls/s and capture MB/s; also the same read through the ledger without export, so the export's
//    own share shows. Information (no target in the issue beyond "spans/s").
// 2. Live export: per-event latency of a streamed response through the proxy, with and without the
//    --otlp sink, while a background load of model calls (c=4) keeps the sink busy. Paths alternate
//    round by round (a shared 2-core machine). Target: the proxy's added p99 latency vs direct stays
//    ≤ 2 ms with the sink on.
//
//   node bench/otel.bench.mjs                      1 GiB capture, 5 latency rounds
//   BENCH_SCALE=0.1 node bench/otel.bench.mjs      quick run (~100 MiB)
//   node bench/otel.bench.mjs --mb 256 --rounds 3
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { createCallsExport, readCaptureCalls } from '../dist/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const SCALE = Number(arg('scale') ?? process.env.BENCH_SCALE ?? 1) || 1
const MB_TARGET = Number(arg('mb') ?? Math.round(1024 * SCALE))
const ROUNDS = Number(arg('rounds') ?? 5)
const P99_TARGET = 2
const dir = mkdtempSync(join(tmpdir(), 'agenttap-otel-bench-'))
const children = []
const now = () => performance.timeOrigin + performance.now()
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
})
process.on('SIGINT', () => process.exit(130))

function startChild(script, args, env) {
  const c = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.push(c)
  let err = ''
  c.stderr.on('data', (d) => (err += d))
  let out = ''
  const lines = []
  const waiters = []
  c.stdout.on('data', (d) => {
    out += d
    let nl
    while ((nl = out.indexOf('\n')) !== -1) {
      lines.push(out.slice(0, nl))
      out = out.slice(nl + 1)
      waiters.shift()?.(lines.shift())
    }
  })
  const next = () => new Promise((resolve, reject) => {
    if (lines.length) return resolve(lines.shift())
    waiters.push(resolve)
    c.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${err.slice(0, 500)}`)))
  })
  const stop = async () => {
    c.kill('SIGTERM')
    const last = await next().catch(() => undefined)
    await new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)))
    return last
  }
  return { child: c, next, stop }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-')

console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`)

// ---------------------------------------------------------------- 1. history export
{
  const { writeSynthetic } = await import(join(here, '../../../fixtures/generate.mjs'))
  const t0 = performance.now()
  const res = writeSynthetic(join(dir, 'cap'), { sessions: 20, flows: 1_000_000, seed: 21, targetMb: MB_TARGET })
  const capDir = join(dir, 'cap', 'all-mitm-sse')
  const bytes = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl'].reduce((a, n) => a + statSync(join(capDir, n)).size, 0)
  console.log(`synthetic capture: ${res.flows} flows, ${res.records} records, ${(bytes / 2 ** 20).toFixed(0)} MiB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  // The ledger alone over the same files (what any reader of the capture pays).
  let t = performance.now()
  let calls = 0
  await readCaptureCalls(capDir, { onCall: () => void calls++ })
  const ledgerS = (performance.now() - t) / 1000

  const recv = startChild(join(here, 'receiver.child.mjs'), [])
  const url = await recv.next()
  t = performance.now()
  const exp = createCallsExport({ endpoint: url })
  await readCaptureCalls(capDir, { onCall: (c) => exp.feed(c) })
  const s = await exp.end()
  const exportS = (performance.now() - t) / 1000
  const got = JSON.parse((await recv.stop()) ?? '{}')
  console.log(`\nhistory export (${(bytes / 2 ** 20).toFixed(0)} MiB capture, ${s.calls} model calls):`)
  console.log(`  ledger only:        ${f(ledgerS, 1)} s  (${f(bytes / 2 ** 20 / ledgerS, 0)} MiB/s, ${f(calls / ledgerS, 0)} calls/s)`)
  console.log(`  ledger + export:    ${f(exportS, 1)} s  (${f(bytes / 2 ** 20 / exportS, 0)} MiB/s)`)
  console.log(`  spans: ${s.spans} made, ${s.exported} accepted, ${s.failed} failed; receiver stored ${got.spans} spans`)
  console.log(`  ${f(s.spans / exportS, 0)} spans/s end to end (${f(s.calls / exportS, 0)} calls/s); the export's own share ${f(s.spans / Math.max(0.001, exportS - ledgerS), 0)} spans/s over the ledger's time`)
  console.log(`${got.spans === s.spans && s.failed === 0 ? 'PASS' : 'MISS'} every span exported reached the receiver (${got.spans}/${s.spans})`)
}

// ---------------------------------------------------------------- 2. live export latency
{
  const keyPath = join(dir, 'up.key')
  const certPath = join(dir, 'up.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  const up = startChild(join(here, 'upstream.child.mjs'), [keyPath, certPath])
  const upPort = Number(await up.next())
  const upCa = readFileSync(certPath)
  const recv = startChild(join(here, 'receiver.child.mjs'), [])
  const recvUrl = await recv.next()

  const makeAgent = (proxyPort, ca) => {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 8, ca })
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
  const CALL_BODY = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true, system: 'You are Claude Code.', tools: [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'list the files' }] })
  const request = (agent, path, onData, method = 'GET', body) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: upPort, path, agent, method, headers: { 'content-type': 'application/json', 'x-claude-code-session-id': '11111111-2222-4333-8444-555555555555', 'user-agent': 'claude-cli/2.1.3 (external, cli)' } }, (res) => {
        res.on('data', (c) => onData?.(c))
        res.on('end', resolve)
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  const latency = async (agent) => {
    const n = Math.max(60, Math.round(300 * Math.min(1, SCALE * 2)))
    const lat = []
    let buf = ''
    await request(agent, `/stream?n=${n}&gap=3`, (c) => {
      const t = now()
      buf += c.toString()
      let i
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const m = /"t":([\d.]+)/.exec(buf.slice(0, i))
        buf = buf.slice(i + 2)
        if (m) lat.push(t - Number(m[1]))
      }
    })
    lat.splice(0, Math.ceil(lat.length * 0.05))
    return lat.sort((a, b) => a - b)
  }
  /** Model calls at concurrency 4 through the agent until `stop()`: the sink's work. */
  const load = (agent) => {
    let running = true
    let done = 0
    const workers = Array.from({ length: 4 }, async () => {
      while (running) {
        await request(agent, '/call', undefined, 'POST', CALL_BODY)
        done++
      }
    })
    return { stop: async () => ((running = false), await Promise.all(workers), done) }
  }

  const proxies = {}
  for (const name of ['proxy', 'proxy+otlp']) {
    const p = startChild(join(here, 'proxy-otlp.child.mjs'), [join(dir, `ca-${name}`), join(dir, `logs-${name}`), certPath], name === 'proxy+otlp' ? { BENCH_OTLP: recvUrl } : { BENCH_OTLP: '' })
    const [port, caPath] = (await p.next()).split(' ')
    proxies[name] = { p, agent: makeAgent(Number(port), [upCa, readFileSync(caPath)].join('\n')) }
  }
  const paths = [{ name: 'direct', agent: makeAgent(undefined, upCa) }, { name: 'proxy', agent: proxies.proxy.agent }, { name: 'proxy+otlp', agent: proxies['proxy+otlp'].agent }]
  const acc = new Map(paths.map((p) => [p.name, { p50: [], p99: [], calls: 0 }]))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? paths : [...paths].reverse()
    for (const p of order) {
      const bg = load(p.agent)
      const l = await latency(p.agent)
      const a = acc.get(p.name)
      a.calls += await bg.stop()
      a.p50.push(pct(l, 50))
      a.p99.push(pct(l, 99))
    }
  }
  const stats = JSON.parse((await proxies['proxy+otlp'].p.stop()) ?? 'null')
  await proxies.proxy.p.stop()
  const got = JSON.parse((await recv.stop()) ?? '{}')
  await up.stop()
  const r = Object.fromEntries([...acc].map(([k, v]) => [k, { p50: median(v.p50), p99: median(v.p99), calls: v.calls }]))
  console.log(`\nlive export: per-event latency of a streamed response (medians of ${ROUNDS} rounds), with model calls at c=4 in the background`)
  console.log('path          p50 / p99 (ms)    background calls')
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(13)} ${f(v.p50).padStart(5)} / ${f(v.p99).padEnd(8)}  ${v.calls}`)
  console.log(`sink: ${stats?.records} records, ${stats?.calls} calls → ${stats?.spans} spans, ${stats?.exported} exported, ${stats?.dropped} dropped, ${stats?.droppedRecords} records dropped; receiver stored ${got.spans} spans`)
  const added = r['proxy+otlp'].p99 - r.direct.p99
  console.log(`added p99 vs direct: proxy ${f(r.proxy.p99 - r.direct.p99)} ms, proxy+otlp ${f(added)} ms; the sink's own share ${f(r['proxy+otlp'].p99 - r.proxy.p99)} ms`)
  console.log(`${added <= P99_TARGET ? 'PASS' : 'MISS'} p99 added latency with the live OTLP export ≤ ${P99_TARGET} ms`)
}
