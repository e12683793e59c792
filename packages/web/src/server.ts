import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { isLoopbackAddress, resolveLoopback, type CaptureRecord } from '@agenttap/jsonl-io'
import { capturePaths, type CapturePaths } from './capture-store.js'
import { WebError } from './errors.js'
import { createFlowIndex, type FlowIndex } from './flow-index.js'
import { ingestFollow, ingestOnce, ingestRecords, type IngestContext, type ScanFrom } from './ingest.js'
import { INDEX_HTML, APP_CSS } from './page.js'
import { createPush, MAX_PAGE_CLIENTS } from './push.js'
import { entryOr404, flowDetail, flowEvents, flowRequest, head, json, plain, search, sessionView, type RouteContext } from './routes.js'
import { SECURITY_HEADERS, createHostCheck, generateToken, hasToken } from './security.js'
import type { FlowSummary, IngestStatus } from './types.js'

/** The port of the web view unless told otherwise (the proxy listens on 9110). */
export const DEFAULT_WEB_PORT = 9115

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  /** Log root holding `all-mitm-sse/` (the proxy's `--log-dir`). */
  logDir: string
  /** Interface to bind. Anything that is not loopback needs `allowRemote` (and `allowHosts` for the Host check). @defaultValue '127.0.0.1' */
  host?: string
  /**
   * Allow binding an address that is not loopback: anyone who can reach it and has the token can
   * read the captured traffic. Without it the host is checked with jsonl-io's `resolveLoopback`,
   * the rule the proxy's bind follows too: resolved, and every address must be loopback.
   * @defaultValue false
   */
  allowRemote?: boolean
  /** Port; 0 picks a free one. @defaultValue 9115 */
  port?: number
  /** Access token; a random one when absent. */
  token?: string
  /** Extra accepted Host header values (`name` for any port, `name:port`), e.g. for a reverse proxy. */
  allowHosts?: readonly string[]
  /**
   * Live records from the proxy in the same process (e.g. `proxy.records({ signal })`). When
   * given, the files are read once for history and live updates come from this stream instead
   * of following the files; their records are held in memory (`memBudgetBytes`), then found
   * again by scanning the files. Following the files (the default) is preferred whenever the
   * proxy writes them: offsets keep memory flat.
   */
  records?: AsyncIterable<CaptureRecord>
  /** Follow the files for live updates (ignored with `records`). @defaultValue true */
  follow?: boolean
  /** Flows kept in the index. @defaultValue 20000 */
  maxFlows?: number
  /** Flows sent to a page when it connects (the newest). @defaultValue 5000 */
  snapshotLimit?: number
  /** Budget of in-memory records in `records` mode, bytes. @defaultValue 128 MiB */
  memBudgetBytes?: number
  /** A flow silent this long without `flow_end` is shown as dead. @defaultValue 120000 */
  idleMs?: number
  /** How often queued list updates are pushed, ms. @defaultValue 100 */
  pushIntervalMs?: number
  /** Poll interval of the file followers, ms. @defaultValue 250 */
  pollMs?: number
  /** Largest request body sent to the page, characters. @defaultValue 8 MiB */
  bodyLimit?: number
  /** Newest flows of a session fed to the tool-call validator (each request body is read). @defaultValue 500 */
  sessionMaxFlows?: number
  /** Directory holding the built page (`app.js`). @defaultValue dist/public next to this module */
  assetsDir?: string
  /** Malformed lines and read failures (also counted in the page's status bar). */
  onError?(err: Error): void
}

/** A running (or ready to run) web view. */
export interface WebServer {
  /** Binds and starts reading the capture. Resolves with the URL to open (token included). */
  start(): Promise<string>
  /** Stops serving, closes page connections and the file followers. */
  close(): Promise<void>
  /** `http://host:port/?token=…` once started. */
  readonly url: string
  /** The access token. */
  readonly token: string
  /** The bound port once started. */
  readonly port: number
  /** Ingest counters. */
  status(): IngestStatus
  /** Resolves once the files as they were at start are indexed. */
  readonly historyLoaded: Promise<void>
  /** The flow index (read-only use: summaries, for embedding apps). */
  readonly index: FlowIndex
  /**
   * Handles one request (Host check, token, routes), for mounting in an existing HTTP server
   * instead of the server's own listener. Call `start()` first anyway: it starts reading the
   * capture (and binds `port`; pass the port the outer server listens on for the Host check).
   */
  handle(req: IncomingMessage, res: ServerResponse): void
}

function defaultAssetsDir(): string {
  // dist/index.js → dist/public; when run from src (tests), fall back to the built dist/public.
  const a = fileURLToPath(new URL('./public/', import.meta.url))
  return existsSync(a + 'app.js') ? a : fileURLToPath(new URL('../dist/public/', import.meta.url))
}

function checkOptions(opts: WebServerOptions): void {
  if (!opts || typeof opts.logDir !== 'string' || opts.logDir === '') {
    throw new WebError('INVALID_OPTION', 'option logDir: expected the capture log root (the directory holding all-mitm-sse/)')
  }
  const port = opts.port ?? DEFAULT_WEB_PORT
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WebError('INVALID_OPTION', `option port: expected an integer 0-65535, received ${String(opts.port)}`)
  if (opts.token !== undefined && (opts.token.length < 16 || /[^A-Za-z0-9_\-.~]/.test(opts.token))) {
    throw new WebError('INVALID_OPTION', 'option token: expected at least 16 URL-safe characters (A-Z a-z 0-9 _ - . ~)')
  }
}

/**
 * Creates the live web view over a capture log dir: flow list updating live over SSE, flow detail
 * (conversation as the monitor renders it, raw events, redacted request), and session view with
 * flow-fsm's tool-call findings. A loopback bind (unless `allowRemote`), a Host-header check and a
 * token guard the data: the page gets the token once in its URL and sends it in a header on every
 * API call (no cookie: a cookie of 127.0.0.1 would reach every other local server too).
 *
 * @example
 * ```ts
 * const web = createWebServer({ logDir: '/home/me/centralized-logs', port: 9115 })
 * console.log(`web view: ${await web.start()}`)
 * process.on('SIGINT', () => web.close())
 * ```
 */
export function createWebServer(opts: WebServerOptions): WebServer {
  checkOptions(opts)
  const host = opts.host ?? '127.0.0.1'
  const wantPort = opts.port ?? DEFAULT_WEB_PORT
  const token = opts.token ?? generateToken()
  const snapshotLimit = opts.snapshotLimit ?? 5000
  const paths: CapturePaths = capturePaths(opts.logDir)
  const index = createFlowIndex({
    ...(opts.maxFlows !== undefined ? { maxFlows: opts.maxFlows } : {}),
    ...(opts.memBudgetBytes !== undefined ? { memBudgetBytes: opts.memBudgetBytes } : {}),
    ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}),
  })
  const scanFrom: ScanFrom = { flows: 0, lines: 0 }
  const routes: RouteContext = { paths, index, scanFrom, bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024, sessionMaxFlows: opts.sessionMaxFlows ?? 500 }
  const push = createPush(SECURITY_HEADERS)

  let server: Server | undefined
  let port = wantPort
  let url = ''
  const hostOk = createHostCheck(() => port, opts.allowHosts ?? [])
  const ac = new AbortController()
  const timers: NodeJS.Timeout[] = []
  const tasks: Promise<unknown>[] = []
  let errors = 0
  let lastError: string | undefined
  let historyDone = false
  let resolveHistory: () => void = () => undefined
  const historyLoaded = new Promise<void>((r) => (resolveHistory = r))
  let assets: { js: string } | undefined

  const report = (err: Error): void => {
    errors++
    lastError = err.message
    opts.onError?.(err)
  }

  function status(): IngestStatus {
    return { flows: index.size, evicted: index.evicted, errors, ...(lastError !== undefined ? { last_error: lastError } : {}), history_loaded: historyDone }
  }

  const ingest: IngestContext = {
    paths,
    index,
    signal: ac.signal,
    report,
    notice: (err) => opts.onError?.(err),
    historyDone: () => {
      if (historyDone) return
      historyDone = true
      resolveHistory()
      push.broadcast('status', status())
    },
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
  }

  let lastStatus = ''
  function flush(): void {
    index.tick()
    const changed = index.takeDirty()
    const removed = index.takeRemoved()
    if (changed.length || removed.length) push.broadcast('flows', { flows: changed, removed })
    const s = JSON.stringify(status())
    if (s !== lastStatus) {
      lastStatus = s
      push.broadcast('status', status())
    }
  }

  function snapshot(): { flows: FlowSummary[]; total: number } {
    const all = index.list()
    return { flows: all.length > snapshotLimit ? all.slice(all.length - snapshotLimit) : all, total: all.length }
  }

  function assetsJs(): string | undefined {
    if (assets) return assets.js
    const dir = opts.assetsDir ?? defaultAssetsDir()
    try {
      assets = { js: readFileSync(`${dir.replace(/\/?$/, '/')}app.js`, 'utf8') }
      return assets.js
    } catch {
      return undefined
    }
  }

  /** The page shell and its assets: code, no captured data; served without the token (the page holds it). */
  function page(res: ServerResponse, p: string): boolean {
    if (p === '/' || p === '/index.html') {
      head(res, 200, 'text/html; charset=utf-8')
      res.end(INDEX_HTML)
    } else if (p === '/app.js') {
      const js = assetsJs()
      if (js === undefined) plain(res, 500, 'the page bundle (dist/public/app.js) is missing: run `pnpm --filter @agenttap/web build`')
      else {
        head(res, 200, 'text/javascript; charset=utf-8')
        res.end(js)
      }
    } else if (p === '/app.css') {
      head(res, 200, 'text/css; charset=utf-8')
      res.end(APP_CSS)
    } else if (p === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS)
      res.end()
    } else return false
    return true
  }

  async function api(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const p = u.pathname
    if (p === '/api/stream') {
      if (req.method === 'HEAD') return void (head(res, 200, 'text/event-stream; charset=utf-8'), res.end())
      if (!push.open(req, res, { ...snapshot(), status: status() })) plain(res, 503, `too many open pages (${MAX_PAGE_CLIENTS}); close some tabs`)
      return
    }
    if (p === '/api/status') return json(res, status())
    if (p === '/api/flows') return json(res, snapshot())
    if (p === '/api/search') {
      const q = u.searchParams.get('q') ?? ''
      if (q.trim().length < 2 || q.length > 200) return json(res, { error: 'q: expected 2 to 200 characters' }, 400)
      // Stop scanning when the page goes away (a new search replaces the old one).
      const stop = new AbortController()
      res.on('close', () => stop.abort())
      return json(res, await search(routes, q, stop.signal))
    }
    let m = /^\/api\/flows\/([^/]+)(\/events|\/request)?$/.exec(p)
    if (m) {
      const e = entryOr404(index, res, decodeURIComponent(m[1] as string))
      if (!e) return
      if (m[2] === '/events') {
        const from = Math.max(0, Number.parseInt(u.searchParams.get('from') ?? '0', 10) || 0)
        const limit = Math.min(5000, Math.max(1, Number.parseInt(u.searchParams.get('limit') ?? '500', 10) || 500))
        return json(res, await flowEvents(routes, e, from, limit))
      }
      if (m[2] === '/request') return json(res, await flowRequest(routes, e))
      return json(res, await flowDetail(routes, e))
    }
    m = /^\/api\/sessions\/([^/]+)$/.exec(p)
    if (m) return json(res, await sessionView(routes, decodeURIComponent(m[1] as string)))
    plain(res, 404, `no route ${p}`)
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // DNS-rebinding guard first: nothing, not even the page shell, to a foreign Host.
    if (!hostOk(req.headers.host)) {
      return plain(res, 403, `Forbidden: Host ${JSON.stringify(req.headers.host ?? '')} is not allowed (use http://127.0.0.1:${port}/ or pass allowHosts / --allow-host)`)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'only GET')
    let u: URL
    try {
      u = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
    } catch {
      return plain(res, 400, 'bad request URL')
    }
    if (!u.pathname.startsWith('/api/')) {
      if (!page(res, u.pathname)) plain(res, 404, `no route ${u.pathname}`)
      return
    }
    if (!hasToken(req, token)) {
      return plain(res, 403, 'Forbidden: missing or wrong token. Open the URL printed when agenttap web started (it ends in ?token=…).')
    }
    api(req, res, u).catch((err: unknown) => {
      if (err instanceof URIError) return plain(res, 400, `bad escape in the URL path: ${err.message}`)
      report(err instanceof Error ? err : new Error(String(err)))
      if (!res.headersSent) json(res, { error: (err as Error).message }, 500)
      else res.end()
    })
  }

  async function listen(): Promise<Server> {
    if (!opts.allowRemote) {
      const r = await resolveLoopback(host)
      if (!r.loopback) {
        const why = r.error ?? `${r.addresses.find((a) => !isLoopbackAddress(a)) ?? r.addresses[0] ?? host} is not a loopback address`
        throw new WebError(
          'NON_LOOPBACK_BIND',
          `refusing to listen on ${host} (${why}): anyone who can reach it could read the captured traffic; bind 127.0.0.1, or pass allowRemote (--allow-remote) and allowHosts (--allow-host) to mean it`,
        )
      }
    }
    const srv = createServer(handle)
    srv.keepAliveTimeout = 5000
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (err) => reject(new WebError('LISTEN_FAILED', `cannot listen on ${host}:${wantPort}: ${err.message}`, { cause: err })))
      srv.listen(wantPort, host, () => resolve())
    })
    return srv
  }

  return {
    get url() {
      return url
    },
    get token() {
      return token
    },
    get port() {
      return port
    },
    historyLoaded,
    index,
    status,
    handle,
    async start() {
      if (server) throw new WebError('ALREADY_STARTED', 'start() was called twice; close() first')
      const srv = await listen()
      server = srv
      port = (srv.address() as AddressInfo).port
      const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
      url = `http://${shown}:${port}/?token=${token}`
      if (opts.records) tasks.push(ingestRecords(ingest, opts.records, scanFrom))
      else if (opts.follow === false) tasks.push(ingestOnce(ingest))
      else tasks.push(ingestFollow(ingest))
      timers.push(setInterval(flush, opts.pushIntervalMs ?? 100))
      timers.push(setInterval(() => push.ping(), 15_000))
      for (const t of timers) t.unref()
      return url
    },
    async close() {
      ac.abort()
      for (const t of timers) clearInterval(t)
      timers.length = 0
      push.close()
      const srv = server
      server = undefined
      if (srv) {
        srv.closeAllConnections()
        await new Promise<void>((r) => srv.close(() => r()))
      }
      let t: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(tasks), new Promise((r) => (t = setTimeout(r, 2000)))])
      if (t) clearTimeout(t)
    },
  }
}
