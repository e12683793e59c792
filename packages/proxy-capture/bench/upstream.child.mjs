// Bench upstream: a local HTTPS SSE server in its own process (so it never competes with the
// proxy's event loop). argv: keyPath certPath. Prints its port on stdout.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'

const [keyPath, certPath] = process.argv.slice(2)
const now = () => performance.timeOrigin + performance.now()
const server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
  const u = new URL(req.url, 'https://x')
  req.resume()
  if (u.pathname === '/small') {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"bench"}}\n\n')
    res.write('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}\n\n')
    res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n')
    return
  }
  if (u.pathname === '/stream') {
    const n = Number(u.searchParams.get('n') ?? 100)
    const gap = Number(u.searchParams.get('gap') ?? 5)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    let i = 0
    const tick = () => {
      if (i >= n) return res.end()
      res.write(`event: content_block_delta\ndata: {"type":"content_block_delta","i":${i++},"t":${now()}}\n\n`)
      setTimeout(tick, gap)
    }
    tick()
    return
  }
  if (u.pathname === '/big') {
    const total = Number(u.searchParams.get('mb') ?? 32) * 1024 * 1024
    // Text deltas like a model's (words and spaces), ~1 KB each.
    const event = `event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"${'the quick brown fox jumps over the lazy dog. '.repeat(22)}"}}\n\n`
    const buf = Buffer.from(event.repeat(16))
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    let sent = 0
    const pump = () => {
      while (sent < total) {
        sent += buf.length
        if (!res.write(buf)) return res.once('drain', pump)
      }
      res.end()
    }
    pump()
    return
  }
  res.writeHead(404).end()
})
server.keepAliveTimeout = 30_000
let connections = 0
server.on('secureConnection', () => connections++)
if (process.env.BENCH_UPSTREAM_STATS) setInterval(() => process.stderr.write(`upstream connections: ${connections}\n`), 1000).unref()
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
process.on('SIGTERM', () => process.exit(0))
