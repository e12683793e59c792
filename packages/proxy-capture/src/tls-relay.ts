import { isIP } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Flow } from './flow-feed.js'
import { createHttp1Parser } from './http1.js'
import { upstreamFailure, type RelayContext, type TunnelTarget } from './relay-context.js'

/**
 * An intercepted TLS connection, relayed byte for byte: the client's bytes go to one upstream
 * TLS connection (the CONNECT target, or where a connect-to rule sends it) and the upstream's
 * come back unchanged, with backpressure both ways. Copies of both directions feed HTTP/1.1
 * framing parsers that drive the capture, which therefore never sits between the two sockets.
 * A WebSocket upgrade as the connection's first request goes to the WebSocket path instead
 * (frames captured there).
 */
export function relayTls(ctx: RelayContext, client: TLSSocket, target: TunnelTarget): void {
  const { feed, log } = ctx
  /** Requests whose response has not ended yet, oldest first. */
  const flows: Flow[] = []
  const first: Buffer[] = []
  let up: TLSSocket | undefined
  let decided = false
  let handoff = false
  let interim = false
  let capturing = true
  const hostForUrl = isIP(target.host) === 6 ? `[${target.host}]` : target.host
  const origin = `https://${hostForUrl}${target.port !== 443 ? `:${target.port}` : ''}`
  const kill = (): void => {
    client.destroy()
    up?.destroy()
  }

  const reqParser = createHttp1Parser(
    'request',
    {
      onHead(head, framing) {
        if (framing === 'upgrade' && !decided && flows.length === 0) {
          handoff = true
          return
        }
        const flow = feed.open(head.method, `${origin}${head.url}`, target.host, head.headers, 'http', client.remoteAddress)
        flow.kill = kill
        flows.push(flow)
      },
      onBody(chunk) {
        const flow = flows[flows.length - 1]
        if (flow) feed.requestBody(flow, chunk)
      },
      onEnd() {},
    },
    {
      onError(err) {
        // Not HTTP/1.x (or broken): keep relaying, stop capturing this connection.
        capturing = false
        log.debug({ err: err.message, host: target.host }, 'request stream not parseable; relaying without capture')
      },
    },
  )

  const resParser = createHttp1Parser(
    'response',
    {
      onHead(head, framing) {
        const flow = flows[0]
        if (!flow || !capturing) return
        if (framing === 'none' && head.status < 200) {
          interim = true
          return
        }
        feed.response(flow, head.status, head.headers)
        if (framing === 'upgrade') feed.note(flow, `protocol switched (${String(head.headers['upgrade'] ?? 'unknown')}) after other requests on this connection; the rest is relayed without capture`)
        return flow.method === 'HEAD'
      },
      onBody(chunk) {
        const flow = flows[0]
        if (flow && capturing) feed.responseBody(flow, chunk)
      },
      onEnd() {
        if (interim) {
          interim = false
          return
        }
        const flow = flows.shift()
        if (flow) feed.end(flow, 'completed')
      },
    },
    {
      onError(err) {
        capturing = false
        const message = err.code === 'TRUNCATED' ? 'upstream closed the connection before the response was complete' : `could not parse the upstream response: ${err.message}`
        for (const flow of flows.splice(0)) feed.end(flow, err.code === 'TRUNCATED' ? 'upstream_error' : 'error', message)
      },
    },
  )

  const resumeClient = (): void => {
    client.resume()
  }
  const resumeUp = (): void => {
    up?.resume()
  }

  function onUpstreamData(b: Buffer): void {
    if (client.destroyed) return
    if (!client.write(b)) {
      up?.pause()
      client.once('drain', resumeUp)
    }
    resParser.feed(b)
    if (up) feed.throttle(up)
  }

  /** The upstream failed, went away or was refused: a response in flight is cut, a request still waiting gets a 502 (508 for a loop). */
  function upstreamGone(reason: string, err?: NodeJS.ErrnoException): void {
    const pending = flows.splice(0)
    if (pending.length === 0) {
      client.end()
      return
    }
    const [head, ...rest] = pending as [Flow, ...Flow[]]
    if (head.status === undefined && resParser.idle && !client.destroyed) {
      if (err) log.warn({ err: err.message, code: err.code, flow_id: head.id, host: target.host }, 'upstream error')
      feed.end(head, 'upstream_error', reason)
      const f = upstreamFailure(err, reason)
      client.end(`HTTP/1.1 ${f.status} ${f.statusText}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(f.body)}\r\nx-agenttap-error: ${f.type}\r\nconnection: close\r\n\r\n${f.body}`)
    } else {
      feed.end(head, 'upstream_error', reason)
      client.destroy()
    }
    for (const f of rest) feed.end(f, 'upstream_error', `${reason} (request was still queued on the connection)`)
  }

  function connectUpstream(): TLSSocket | undefined {
    const refused = ctx.upstream.refusal(target)
    if (refused) {
      upstreamGone(refused.message, refused)
      return undefined
    }
    const s = ctx.upstream.connectTls(target)
    s.on('data', onUpstreamData)
    s.on('end', () => {
      resParser.finish()
      if (flows.length === 0) client.end()
    })
    s.on('error', (err: NodeJS.ErrnoException) => {
      upstreamGone(`upstream connection failed: ${err.code ? `${err.code} ` : ''}${err.message}`, err)
    })
    s.on('close', () => {
      if (flows.length > 0) upstreamGone('upstream closed the connection before the response was complete')
      else if (!client.destroyed) client.end()
    })
    return s
  }

  function onClientData(b: Buffer): void {
    if (!decided) {
      ctx.usedSockets.add(client)
      first.push(b)
      reqParser.feed(b)
      if (handoff) {
        // A WebSocket as first request: the WebSocket path (http-mitm-proxy + ws) captures frames.
        client.off('data', onClientData)
        client.pause()
        client.unshift(first.length === 1 ? (first[0] as Buffer) : Buffer.concat(first))
        ctx.inner()?.emit('connection', client)
        // The server's 'data' listener doesn't restart a stream paused by hand.
        client.resume()
        return
      }
      if (flows.length === 0 && reqParser.error === undefined) return
      decided = true
      up = connectUpstream()
      if (up) for (const c of first) up.write(c)
      first.length = 0
      return
    }
    if (!up) return
    if (!up.write(b)) {
      client.pause()
      up.once('drain', resumeClient)
    }
    if (capturing) reqParser.feed(b)
    feed.throttle(client)
  }

  client.on('data', onClientData)
  // A client that ends its side is gone: HTTP clients don't half-close and wait for answers.
  client.on('end', () => clientGone())
  client.on('close', () => clientGone())
  function clientGone(): void {
    const pending = flows.splice(0)
    for (const f of pending) {
      feed.end(f, 'aborted', f.status === undefined ? 'client closed the connection before the upstream answered' : 'client closed the connection before the response was complete')
    }
    if (up && !up.destroyed) {
      if (pending.length > 0) up.destroy()
      else up.end()
    }
    if (!client.destroyed) client.destroy()
  }
}
