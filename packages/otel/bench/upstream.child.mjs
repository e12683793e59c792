// Bench upstream: a local HTTPS server in its own process. `/stream?n&gap`: Anthropic-shaped SSE
// events stamped with their send time (the latency probe); `/call?gap`: a whole Anthropic Messages
// stream with usage and a tool call (a model call for the ledger, so the live export has work),
// its 28 events `gap` ms apart (0: written at once, as fast as possible). argv: keyPath certPath.
// Prints its port.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'

const [keyPath, certPath] = process.argv.slice(2)
const now = () => performance.timeOrigin + performance.now()
let n = 0
const sse = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
/** The events of one model call: text, then a Bash tool call. */
const callEvents = (id) => [
  sse('message_start', { type: 'message_start', message: { id: `msg_bench_${id}`, model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 12, cache_read_input_tokens: 3000, cache_creation_input_tokens: 200, output_tokens: 1 } } }),
  sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ...Array.from({ length: 20 }, () => sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'word ' } })),
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: `toolu_bench_${id}`, name: 'Bash', input: {} } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"command":"ls -la"}' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
  sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 42 } }),
  sse('message_stop', { type: 'message_stop' }),
]
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
    const gap = Number(u.searchParams.get('gap') ?? 0)
    const events = callEvents(id)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': `req_bench_${id}` })
    if (gap <= 0) {
      for (const e of events.slice(0, -1)) res.write(e)
      res.end(events.at(-1))
      return
    }
    let i = 0
    const tick = () => {
      if (i === events.length - 1) return res.end(events[i])
      res.write(events[i++])
      setTimeout(tick, gap)
    }
    tick()
    return
  }
  res.writeHead(404).end()
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
process.on('SIGTERM', () => process.exit(0))
