import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { isIP, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { pino, type Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { isLoopbackAddress, resolveCapture, resolveLoopback, type CaptureRecord } from '@agenttap/jsonl-io'
import type { ListenAddress } from './addresses.js'
import { createLeafMinter, defaultCaDir, ensureCa, type CaFiles, type LeafMinter } from './ca.js'
import { ensureRedactionKey } from './redaction-key.js'
import { inlineChannel, threadChannel, type CaptureChannel, type ChannelOptions } from './capture-channel.js'
import { createConnectHandler } from './connect-handler.js'
import { ProxyCaptureError } from './errors.js'
import { defaultLogDir, FILE_SINK } from './file-sink.js'
import { createFlowFeed } from './flow-feed.js'
import { createHostFilter } from './host-filter.js'
import { createHttpForward, HEALTH_PATH } from './http-forward.js'
import { prepareLogDir, secureLogDir } from './log-dir.js'
import { AgenttapMitm, listenMitm } from './mitm-server.js'
import { createRecordHub } from './record-hub.js'
import { sessionChainLimits } from './session-chaining.js'
import type { RelayContext, TunnelTarget } from './relay-context.js'
import type { CaptureProxy, CaptureProxyOptions, CaptureSink, CaptureStats } from './types.js'
import { createUpstream } from './upstream.js'
import { installWebSocketRelay } from './websocket-relay.js'

export { HEALTH_PATH }

/** The default listen port. */
export const DEFAULT_PORT = 9110

const nonLoopback = (host: string, addresses: readonly string[]): ProxyCaptureError =>
  new ProxyCaptureError(
    'NON_LOOPBACK_BIND',
    `refusing to listen on ${host}${addresses.length > 0 && addresses.join() !== host ? ` (${addresses.join(', ')})` : ''}: it is not a loopback address and anyone who can reach it could read your agents' traffic. Pass allowNonLoopback (CLI: --allow-remote) to do it anyway.`,
  )

/**
 * Creates the capture proxy: an HTTP(S) forward proxy on http-mitm-proxy that passes traffic
 * through untouched (status, headers and body bytes as the upstream sent them, streamed with
 * backpressure) and writes the canonical capture, redacted through session-extractor:
 * `flow` when the response starts, one `sse` per SSE event or server WebSocket text frame, one
 * `client_frame` per client WebSocket text frame, and exactly one `flow_end` per flow whatever
 * happens (completed, error, aborted by the client, upstream error, proxy shutdown).
 *
 * The data path is split by what it relays: CONNECT tunnels are terminated in-process with
 * leaf certificates minted from agenttap's CA (connect-handler) and relayed byte for byte
 * (tls-relay); plain-HTTP proxy requests are piped (http-forward); WebSockets go through
 * http-mitm-proxy (websocket-relay). Each tells the capture what passed (flow-feed), which runs
 * on a thread of its own (capture-channel, capture-worker) with the capture files.
 *
 * @example
 * const proxy = createCaptureProxy({ port: 9110 })
 * await proxy.start()
 * proxy.onRecord((r) => console.log(r.type, r.flow_id))   // the live monitor attaches here
 * // HTTPS_PROXY=http://127.0.0.1:9110 NODE_EXTRA_CA_CERTS=<proxy.caCertPath> claude
 * await proxy.stop()
 */
export function createCaptureProxy(opts: CaptureProxyOptions = {}): CaptureProxy {
  const host = opts.host ?? '127.0.0.1'
  // Addresses are judged at once; names when they are resolved, in start().
  if (!opts.allowNonLoopback && (host.trim() === '' || (isIP(host.replace(/^\[|\]$/g, '')) !== 0 && !isLoopbackAddress(host)))) throw nonLoopback(host, [])
  const extraSinks: CaptureSink[] = [...(opts.sinks ?? [])]
  if (extraSinks.some((s) => (s as unknown as Record<symbol, unknown>)[FILE_SINK] === true)) {
    throw new ProxyCaptureError('INVALID_OPTION', 'option sinks: a file sink was given, but the proxy writes the capture files itself (they would get every record twice); pass its options as `files: { fsync, batchMs }`, or `files: false` to write none')
  }
  if (opts.sessionChain) sessionChainLimits(opts.sessionChain)
  const log: Logger = opts.logger ?? pino({ level: 'silent' })
  const logDir = opts.logDir ?? defaultLogDir()
  const captureDir = resolveCapture(logDir).dir
  const filter = createHostFilter({ ...(opts.includeHosts ? { include: opts.includeHosts } : {}), ...(opts.excludeHosts ? { exclude: opts.excludeHosts } : {}) })
  const hub = createRecordHub({
    ...(opts.maxBufferedRecords !== undefined ? { maxBuffered: opts.maxBufferedRecords } : {}),
    onError: (err) => log.error({ err }, 'record subscriber threw; the capture continues'),
  })

  let capture: CaptureChannel | undefined
  /** Someone listens for records: the capture must send them back to this thread. */
  let subscribed = false
  let ca: CaFiles | undefined
  let minter: LeafMinter | undefined
  let mitm: AgenttapMitm | undefined
  let inner: Server | undefined
  let innerWss: WebSocketServer | undefined
  let boundPort = opts.port ?? DEFAULT_PORT
  let listenAddress: ListenAddress | undefined
  let running = false
  const sockets = new Set<Duplex>()

  const feed = createFlowFeed({ filter, maxRequestBodyBytes: opts.maxRequestBodyBytes ?? 64 * 1024 * 1024, channel: () => capture })
  // Validated here (connect-to rules), so a bad option fails before anything listens.
  const upstream = createUpstream({ connectTo: opts.connectTo, upstreamCa: opts.upstreamCa, rejectUnauthorized: opts.rejectUnauthorized, self: () => listenAddress, sockets })
  const ctx: RelayContext = { log, feed, upstream, sockets, usedSockets: new WeakSet(), tunnels: new WeakMap<object, TunnelTarget>(), inner: () => inner }

  /** The extra sinks fed on this thread: all but those the capture thread feeds through their own port. */
  let mainSinks: CaptureSink[] = extraSinks
  /** Every record the capture sends back: to the extra sinks first (in order), then the subscribers. */
  function deliver(record: CaptureRecord): void {
    for (const s of mainSinks) {
      try {
        s.write(record)
      } catch (err) {
        log.error({ err: (err as Error).message, flow_id: record.flow_id }, 'sink write failed')
      }
    }
    hub.emit(record)
  }

  /** The capture: on a thread of its own (the engine with its files), or inline when asked. */
  function openCapture(): CaptureChannel {
    const files = opts.files === false ? false : { logDir, ...(typeof opts.files === 'object' ? opts.files : {}) }
    const channelOpts: ChannelOptions = {
      engine: {
        maxInlineBodyBytes: opts.maxInlineBodyBytes ?? 1024 * 1024,
        rawBodies: opts.rawBodies ?? 'redacted',
        ...(opts.maxEventBytes !== undefined ? { maxEventBytes: opts.maxEventBytes } : {}),
        ...(opts.sessionChain !== undefined ? { sessionChain: opts.sessionChain } : {}),
        // Markers are keyed with the per-install secret beside the CA unless the caller keys them.
        redaction: { ...opts.redaction, hashKey: opts.redaction?.hashKey ?? opts.redactionKey ?? ensureRedactionKey(opts.caDir ?? defaultCaDir()).key },
      },
      files,
      ...(opts.maxCaptureBacklogBytes !== undefined ? { maxBacklogBytes: opts.maxCaptureBacklogBytes } : {}),
    }
    const out = { emit: deliver, log: (level: 'debug' | 'warn' | 'error', obj: Record<string, unknown>, msg: string) => log[level](obj, msg) }
    const ch = (opts.captureThread !== false ? threadChannel(channelOpts, out) : undefined) ?? inlineChannel(channelOpts, out)
    // A sink on a thread of its own gets the records from the capture thread directly: the relay's
    // thread neither receives nor passes them on.
    mainSinks = extraSinks.filter((s) => {
      const port = ch.attach ? s.recordPort?.() : undefined
      if (port) ch.attach?.(port)
      return port === undefined
    })
    if (subscribed || mainSinks.length > 0) ch.forward(true)
    return ch
  }

  function wantRecords(): void {
    if (subscribed) return
    subscribed = true
    capture?.forward(true)
  }

  function statsNow(): CaptureStats {
    const side = capture?.stats
    return {
      openFlows: feed.openFlows,
      flows: feed.stats.flows,
      capturedFlows: side?.capturedFlows ?? 0,
      events: side?.events ?? 0,
      bytes: feed.stats.bytes,
      certsMinted: minter?.minted ?? 0,
      droppedRecords: hub.dropped + (side?.lostRecords ?? 0),
      lostRecords: side?.lostRecords ?? 0,
      captureThread: capture?.mode === 'thread',
      captureBacklogBytes: capture?.backlog ?? 0,
      captureBacklogMaxBytes: capture?.maxBacklog ?? 0,
      captureStalls: capture?.stalls ?? 0,
    }
  }

  let sinksClosed = false
  async function closeSinks(): Promise<void> {
    if (sinksClosed) return
    sinksClosed = true
    await Promise.all(extraSinks.map((s) => s.flush().catch((err: unknown) => log.error({ err: String(err) }, 'sink flush failed'))))
    await Promise.all(extraSinks.map((s) => s.close().catch((err: unknown) => log.error({ err: String(err) }, 'sink close failed'))))
  }

  /** Checks the listen host (names by what they resolve to) and picks the address to bind. */
  async function bindAddress(): Promise<string> {
    const bare = host.replace(/^\[|\]$/g, '')
    if (isIP(bare) !== 0) return bare
    const r = await resolveLoopback(host)
    if (!opts.allowNonLoopback && !r.loopback) throw nonLoopback(host, r.addresses)
    // The checked address, not the name again: a name resolving differently a moment later binds nothing unchecked.
    return r.addresses[0] ?? host
  }

  const api: CaptureProxy = {
    get host() {
      return host
    },
    get port() {
      return boundPort
    },
    get url() {
      return `http://${isIP(host) === 6 ? `[${host}]` : host}:${boundPort}`
    },
    get caCertPath() {
      return ca?.certPath ?? ''
    },
    get caBundlePath() {
      return ca?.bundlePath ?? ''
    },
    captureDir,
    async start() {
      if (running) return { host, port: boundPort, url: api.url }
      const bindTo = await bindAddress()
      // A log dir the capture cannot be written to fails here, before anything listens.
      if (opts.files !== false) prepareLogDir(logDir)
      if (opts.files !== false) for (const f of secureLogDir(logDir).fixed) log.warn({ path: f }, `capture path was readable or writable by other users; made private: ${f}`)
      ca = ensureCa(opts.caDir ?? defaultCaDir())
      minter = createLeafMinter(ca)
      upstream.open()
      capture = openCapture()
      const m = new AgenttapMitm()
      const handleRequest = createHttpForward(ctx, {
        self: () => ({ host: listenAddress?.address ?? bindTo, port: boundPort }),
        health: () => ({ agenttap: 'proxy', pid: process.pid, host, port: boundPort, captureDir, caCertPath: ca?.certPath, stats: statsNow() }),
      })
      m.hooks = {
        connectData: createConnectHandler(ctx, { minter: () => minter, caCertPath: () => ca?.certPath, plainServer: () => mitm?.server }),
        request: handleRequest,
        error: (kind, err) => log.debug({ err, kind }, 'proxy error'),
        socketError: (desc, err) => log.debug({ err: err.message, desc }, 'socket error'),
      }
      installWebSocketRelay(ctx, m, filter)
      // The in-process server a TLS relay hands a WebSocket upgrade to (http-mitm-proxy's WebSocket path).
      inner = createHttpServer({ noDelay: true, keepAlive: true, requestTimeout: 0 })
      inner.on('request', handleRequest)
      inner.on('upgrade', (req: IncomingMessage) => ctx.usedSockets.add(req.socket))
      innerWss = new WebSocketServer({ server: inner })
      innerWss.on('connection', (ws: WebSocket & { upgradeReq?: IncomingMessage }, req: IncomingMessage) => {
        ws.upgradeReq = req
        m._onWebSocketServerConnect(true, ws as never, req)
      })
      innerWss.on('error', (err) => log.debug({ err }, 'inner websocket server error'))
      mitm = m
      try {
        await listenMitm(m, { host: bindTo, port: boundPort, sslCaDir: ca.dir, httpAgent: upstream.httpAgent, httpsAgent: upstream.httpsAgent }, (err) => log.error({ err }, 'proxy server error'))
      } catch (err) {
        // Nothing was captured yet: release the files so a retry on another port is clean.
        mitm = undefined
        await capture?.close().catch(() => undefined)
        capture = undefined
        upstream.close()
        throw err
      }
      const srv = m.server as Server
      srv.requestTimeout = 0
      srv.on('connection', (s: Socket) => {
        s.setNoDelay(true)
        sockets.add(s)
        s.once('close', () => sockets.delete(s))
      })
      const addr = srv.address() as AddressInfo
      boundPort = addr.port
      listenAddress = { address: addr.address, port: addr.port }
      running = true
      log.info({ host, port: boundPort, captureDir, ca: ca.certPath }, 'agenttap proxy listening')
      return { host, port: boundPort, url: api.url }
    },
    async stop() {
      if (!running) {
        // Never started (or a failed start): the extra sinks given to it are released all the same.
        await closeSinks()
        return
      }
      running = false
      mitm?.server?.close()
      mitm = undefined
      feed.abortAll('proxy shutdown')
      for (const s of [...sockets]) s.destroy()
      upstream.close()
      innerWss?.close()
      inner?.close()
      await capture?.close().catch((err: unknown) => log.error({ err }, 'capture close failed'))
      capture = undefined
      await closeSinks()
      hub.close()
      log.info(statsNow(), 'agenttap proxy stopped')
    },
    onRecord(fn) {
      wantRecords()
      return hub.subscribe(fn)
    },
    records(o) {
      wantRecords()
      return hub.iterate(o)
    },
    write(record) {
      if (capture) capture.post(['record', record])
      else deliver(record)
    },
    async flush() {
      await capture?.flush()
      await Promise.all(extraSinks.map((s) => s.flush().catch((err: unknown) => log.error({ err: String(err) }, 'sink flush failed'))))
    },
    stats: statsNow,
  }
  return api
}
