// Bench upstream: a local HTTPS server in its own process. `/stream?n&gap`: Anthropic-shaped SSE
// events stamped with their send time (the latency probe); `/call`: a whole Anthropic Messages
// stream with usage and a tool call (a model call for the ledger, so the live export has work).
// argv: keyPath certPath. Prints its port.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'

const [keyPath, certPath] = process.argv.slice(2)
const now = () => performance.timeOrigin + performance.now()
let n = 0
const sse = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
const server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
  const u = new URL(req.url, 'https://x')
  req.resume()
  if (u.pathname === '/stream') {
    const count = Number(u.searchParams.get('n') ?? 100)
    const gap = Number(u.searchParams.get('gap') ?? 3)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(sse('message_start', { type: 'message_start', message: { id: `msg_probe_${n++}`, model: 'claude-sonnet-4-5', usage: { input_tokens: 5, output_tokens: 1 } } }))
    let i = 0
    const tick = () => {
      if (i >= count) return res.end(sse('message_stop', { type: 'message_stop' }))
      res.write(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' }, i: i++, t: now() }))
      setTimeout(tick, gap)
    }
    tick()
    return
  }
  if (u.pathname === '/call') {
    const id = n++
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': `req_bench_${id}` })
    res.write(sse('message_start', { type: 'message_start', message: { id: `msg_bench_${id}`, model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 12, cache_read_input_tokens: 3000, cache_creation_input_tokens: 200, output_tokens: 1 } } }))
    res.write(sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }))
    for (let k = 0; k < 20; k++) res.write(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'word ' } }))
    res.write(sse('content_block_stop', { type: 'content_block_stop', index: 0 }))
    res.write(sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: `toolu_bench_${id}`, name: 'Bash', input: {} } }))
    res.write(sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"command":"ls -la"}' } }))
    res.write(sse('content_block_stop', { type: 'content_block_stop', index: 1 }))
    res.write(sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 42 } }))
    res.end(sse('message_stop', { type: 'message_stop' }))
    return
  }
  res.writeHead(404).end()
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
process.on('SIGTERM', () => process.exit(0))
