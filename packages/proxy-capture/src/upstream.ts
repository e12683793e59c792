import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type OutgoingHttpHeaders } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import { checkServerIdentity, connect as tlsConnect, createSecureContext, rootCertificates, type ConnectionOptions, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { ProxyCaptureError } from './errors.js'
import { createSelfGuard, type ListenAddress, type SelfGuard } from './addresses.js'
import { createConnectTo, type ConnectToRule, type UpstreamAddress } from './connect-to.js'

/** Where a request goes: the host and port it names (before any connect-to rule). */
export interface Target {
  host: string
  port: number
}

/** Options of {@link createUpstream}. */
export interface UpstreamOptions {
  connectTo?: readonly (string | ConnectToRule)[] | undefined
  upstreamCa?: string | readonly string[] | undefined
  rejectUnauthorized?: boolean | undefined
  /** The proxy's own listen address, once bound (the forwarding-loop guard compares against it). */
  self(): ListenAddress | undefined
  /** Every upstream socket is registered here (closed on stop). */
  sockets: Set<Duplex>
}

/** The proxy's way out: connections and requests to upstreams, with its TLS and routing rules. */
export interface Upstream {
  readonly guard: SelfGuard
  /** Where a connection for `target` actually goes (connect-to rules). */
  route(target: Target): UpstreamAddress
  /**
   * The error to refuse `target` with before connecting, when its upstream (connect-to
   * applied) is an IP address that is the proxy's own. Names are checked after resolution, by
   * the connections themselves (they then fail with `ERR_AGENTTAP_FORWARDING_LOOP`).
   */
  refusal(target: Target): NodeJS.ErrnoException | undefined
  /**
   * A TLS connection for `target`: connect-to applied, SNI and certificate check on the
   * target's name, the upstream CA trusted, TLS sessions resumed, a name resolving to the
   * proxy itself refused. Ask {@link Upstream.refusal} first.
   */
  connectTls(target: Target): TLSSocket
  /** An HTTP(S) request for `target` through the keep-alive agents, with the same rules (ask {@link Upstream.refusal} first). */
  request(tls: boolean, target: Target, init: { method: string | undefined; path: string; headers: OutgoingHttpHeaders }): ClientRequest
  /** TLS options of a connection to `addr` standing in for `name` (SNI, certificate check, CA). */
  tlsOptions(name: string, addr: UpstreamAddress): ConnectionOptions
  /** The keep-alive agents (http-mitm-proxy uses them too). Created by {@link Upstream.open}. */
  readonly httpAgent: HttpAgent
  readonly httpsAgent: HttpsAgent
  open(): void
  close(): void
}

/**
 * Creates the upstream side of the proxy. The connect-to rules are parsed here, so a bad rule
 * fails at construction.
 */
export function createUpstream(opts: UpstreamOptions): Upstream {
  const route = createConnectTo(opts.connectTo)
  checkUpstreamCa(opts.upstreamCa)
  const guard = createSelfGuard(opts.self)
  const rejectUnauthorized = opts.rejectUnauthorized ?? true
  /** TLS sessions per upstream, for resumed handshakes on new relay connections. */
  const tlsSessions = new Map<string, Buffer>()
  let secureContext: SecureContext | undefined
  let httpAgent: HttpAgent | undefined
  let httpsAgent: HttpsAgent | undefined

  /** SNI and certificate name stay the request's host (`name`), whatever address the socket goes to. */
  function tlsOptions(name: string, addr: UpstreamAddress): ConnectionOptions {
    const o: ConnectionOptions = { rejectUnauthorized, ALPNProtocols: ['http/1.1'] }
    // SNI carries names only, never addresses (RFC 6066 §3).
    if (isIP(name) === 0) o.servername = name
    if (addr.redirected) o.checkServerIdentity = (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert)
    if (secureContext) o.secureContext = secureContext
    return o
  }

  const api: Upstream = {
    guard,
    route: (t) => route(t.host, t.port),
    refusal(t) {
      const addr = route(t.host, t.port)
      return guard.check(addr.host, addr.port)
    },
    tlsOptions,
    get httpAgent() {
      if (!httpAgent) throw new Error('upstream not open')
      return httpAgent
    },
    get httpsAgent() {
      if (!httpsAgent) throw new Error('upstream not open')
      return httpsAgent
    },
    open() {
      const extraCa = opts.upstreamCa === undefined ? [] : typeof opts.upstreamCa === 'string' ? [opts.upstreamCa] : [...opts.upstreamCa]
      // One secure context for every upstream connection: passing `ca` instead would re-parse
      // ~150 root certificates per TLS connection and stringify them into every agent key.
      if (extraCa.length > 0) secureContext = createSecureContext({ ca: [...rootCertificates, ...extraCa] })
      const agentOpts = { keepAlive: true, maxFreeSockets: 64, noDelay: true, scheduling: 'lifo' as const }
      httpsAgent = new HttpsAgent({ ...agentOpts, rejectUnauthorized, ...(secureContext ? { secureContext } : {}) })
      httpAgent = new HttpAgent(agentOpts)
    },
    close() {
      httpsAgent?.destroy()
      httpAgent?.destroy()
    },
    connectTls(target) {
      const addr = route(target.host, target.port)
      const key = `${addr.host}:${addr.port}/${target.host}`
      const session = tlsSessions.get(key)
      const s = tlsConnect({
        host: addr.host,
        port: addr.port,
        ...tlsOptions(target.host, addr),
        lookup: guard.lookupFor(addr.port),
        ...(session ? { session } : {}),
      })
      s.setNoDelay(true)
      opts.sockets.add(s)
      s.once('close', () => opts.sockets.delete(s))
      s.on('session', (sess: Buffer) => {
        // A few hosts at most (the LLM APIs): resumed handshakes for every later connection.
        if (tlsSessions.size > 256) tlsSessions.clear()
        tlsSessions.set(key, sess)
      })
      return s
    },
    request(tls, target, init) {
      const addr = route(target.host, target.port)
      const headers = init.headers
      // Without a Host header of the client's, Node would make one from the address connected to.
      if (addr.redirected && !Object.keys(headers).some((k) => k.toLowerCase() === 'host')) {
        const h = isIP(target.host) === 6 ? `[${target.host}]` : target.host
        headers['host'] = target.port === (tls ? 443 : 80) ? h : `${h}:${target.port}`
      }
      const req = (tls ? httpsRequest : httpRequest)({
        host: addr.host,
        port: addr.port,
        method: init.method,
        path: init.path,
        headers,
        agent: tls ? api.httpsAgent : api.httpAgent,
        lookup: guard.lookupFor(addr.port),
        ...(tls ? tlsOptions(target.host, addr) : {}),
      })
      req.setNoDelay(true)
      return req
    },
  }
  return api
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/**
 * Extra upstream roots must be PEM certificates: anything else would be ignored by TLS (or fail
 * on the first connection), so it is refused before the proxy listens.
 */
function checkUpstreamCa(upstreamCa: string | readonly string[] | undefined): void {
  if (upstreamCa === undefined) return
  for (const pem of typeof upstreamCa === 'string' ? [upstreamCa] : upstreamCa) {
    const blocks = pem.match(PEM_CERT) ?? []
    if (blocks.length === 0) throw new ProxyCaptureError('INVALID_OPTION', 'upstream CA: no PEM certificate in it (expected one or more "-----BEGIN CERTIFICATE-----" blocks)')
    blocks.forEach((b, i) => {
      try {
        new X509Certificate(b)
      } catch (e) {
        throw new ProxyCaptureError('INVALID_OPTION', `upstream CA: certificate ${i + 1} of ${blocks.length} does not parse (${(e as Error).message})`, { cause: e })
      }
    })
  }
}
