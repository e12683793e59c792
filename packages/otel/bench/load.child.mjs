// Background model calls for the live-export bench, in a process of its own (so the probe's event
// loop measures the proxy, not this load). argv: upstreamPort proxyPort|'-' caPem... mode value gap
//   mode `rate`:   open loop, `value` calls/s started on schedule whatever is in flight (agents do
//                  not wait for each other);
//   mode `closed`: `value` calls in flight, each started when the previous one ends (saturation).
// Each call is `/call?gap=<gap>` (28 SSE events `gap` ms apart). Prints `ready` once started; on
// SIGTERM stops starting calls, waits for those in flight and prints `<calls done> <failed>`.
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { connect as tlsConnect } from 'node:tls'

const [upPort, proxyPort, caList, mode, value, gap] = process.argv.slice(2)
const ca = caList.split(',').map((p) => readFileSync(p, 'utf8')).join('\n')
const agent = new HttpsAgent({ keepAlive: true, maxSockets: 256, ca })
if (proxyPort !== '-') {
  agent.createConnection = (options, cb) => {
    const target = `${options.host}:${options.port}`
    const req = httpRequest({ host: '127.0.0.1', port: Number(proxyPort), method: 'CONNECT', path: target, headers: { host: target } })
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
const BODY = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true, system: 'You are Claude Code.', tools: [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'list the files' }] })
let session = 0
const call = () =>
  new Promise((resolve) => {
    // Several agents: each call carries one of 8 session ids.
    const sid = `11111111-2222-4333-8444-${String(session++ % 8).padStart(12, '0')}`
    const req = httpsRequest({ host: '127.0.0.1', port: Number(upPort), path: `/call?gap=${gap}`, agent, method: 'POST', headers: { 'content-type': 'application/json', 'x-claude-code-session-id': sid, 'user-agent': 'claude-cli/2.1.3 (external, cli)' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(true))
      res.on('error', () => resolve(false))
    })
    req.on('error', () => resolve(false))
    req.end(BODY)
  })
let running = true
let done = 0
let failed = 0
const inflight = new Set()
const track = (p) => {
  inflight.add(p)
  p.then((ok) => (ok ? done++ : failed++, inflight.delete(p)))
  return p
}
if (mode === 'rate') {
  const every = 1000 / Number(value)
  const t0 = performance.now()
  let k = 0
  const tick = () => {
    if (!running) return
    // On schedule: a late tick starts the calls it missed.
    while (t0 + k * every <= performance.now()) {
      track(call())
      k++
    }
    setTimeout(tick, Math.max(0, t0 + k * every - performance.now()))
  }
  tick()
} else {
  for (let i = 0; i < Number(value); i++)
    void (async () => {
      while (running) await track(call())
    })()
}
process.stdout.write('ready\n')
process.on('SIGTERM', async () => {
  running = false
  while (inflight.size > 0) await Promise.all([...inflight])
  process.stdout.write(`${done} ${failed}\n`)
  process.exit(0)
})
