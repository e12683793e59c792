import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import type { LeafMinter } from './ca.js'
import { parseHostPort, type RelayContext } from './relay-context.js'
import { relayTls } from './tls-relay.js'

/**
 * Creates the handler of a CONNECT tunnel's first bytes. TLS (a ClientHello) is terminated
 * in-process with a leaf certificate minted for the CONNECT host from agenttap's CA, and the
 * connection is relayed ({@link relayTls}); anything else (plain HTTP inside a tunnel) goes to
 * the plain proxy server. A client that hangs up right after the handshake, or rejects the
 * certificate, gets one warning per host naming the variables to set.
 */
export function createConnectHandler(
  ctx: RelayContext,
  deps: { minter: () => LeafMinter | undefined; caCertPath: () => string | undefined; plainServer: () => Server | undefined },
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { log } = ctx
  const warned = new Set<string>()
  const warnUntrusted = (host: string): void => {
    if (warned.has(host)) return
    warned.add(host)
    log.warn(
      { host, ca: deps.caCertPath() },
      'a client rejected the agenttap certificate or hung up right after the TLS handshake: usually it does not trust the agenttap CA, and nothing from it can be captured (set NODE_EXTRA_CA_CERTS for Node agents such as Claude Code, SSL_CERT_FILE / CODEX_CA_CERTIFICATE for Codex; see `agenttap-proxy ca`)',
    )
  }

  return (req, socket, head) => {
    socket.pause()
    ctx.sockets.add(socket)
    socket.once('close', () => ctx.sockets.delete(socket))
    socket.on('error', (err) => log.debug({ err }, 'client tunnel socket error'))
    ;(socket as Socket).setNoDelay?.(true)
    const tunnel = parseHostPort(req.url ?? '', 443)
    const host = tunnel.host
    const minter = deps.minter()
    if (head.length > 0 && head[0] === 0x16 && minter && ctx.inner()) {
      let secureContext
      try {
        secureContext = minter.contextFor(host)
      } catch (err) {
        log.error({ err, host }, 'could not mint a certificate')
        socket.destroy()
        return
      }
      socket.unshift(head)
      const tlsSocket = new TLSSocket(socket as Socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] })
      const target = { ...tunnel, tls: true }
      ctx.tunnels.set(tlsSocket, target)
      // Whether TLS got as far as negotiating keys: the first 'keylog' line comes right after
      // the ServerHello. (Not getProtocol() on 'close': on Node 20 it reads the SSL object
      // already freed by destroy() and segfaults the process.)
      let handshaken = false
      tlsSocket.once('keylog', () => {
        handshaken = true
      })
      tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
        // OpenSSL clients send an alert; Node clients verify after the handshake and just hang up.
        if (/UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR/i.test(`${err.code ?? ''} ${err.message}`)) warnUntrusted(host)
        else log.debug({ err, host }, 'client TLS error')
      })
      tlsSocket.once('close', () => {
        if (handshaken && !ctx.usedSockets.has(tlsSocket)) warnUntrusted(host)
      })
      // No socket.resume(): the TLS wrap owns the handle now and consumes the bytes the
      // socket still buffers (the ClientHello read to sniff the protocol) by itself.
      relayTls(ctx, tlsSocket, target)
    } else {
      // Plain HTTP (or garbage) inside a tunnel: let the plain proxy server parse it.
      socket.unshift(head)
      ctx.tunnels.set(socket, { ...tunnel, tls: false })
      deps.plainServer()?.emit('connection', socket)
      socket.resume()
    }
  }
}
