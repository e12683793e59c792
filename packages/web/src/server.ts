import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createCallValidator, type CanonicalRecord } from '@agenttap/flow-fsm'
import { follow, readJsonl, type CaptureRecord, type JsonlError } from '@agenttap/jsonl-io'
import { capturePaths, lastLineStart, loadFlow, readSseAt, resolveBody, type CapturePaths } from './capture-store.js'
import { renderConversation, type SseLike } from './conversation.js'
import { WebError } from './errors.js'
import { searchFlows } from './line-reader.js'
import { createFlowIndex, type FlowEntry, type FlowIndex } from './flow-index.js'
import { INDEX_HTML, APP_CSS } from './page.js'
import { buildRequestView } from './request-view.js'
import { SECURITY_HEADERS, cookieName, createHostCheck, generateToken, tokenSource } from './security.js'
import type { FlowDetail, FlowRequest, FlowSummary, IngestStatus, RawEventsPage, SessionFinding, SessionView } from './types.js'

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  /** Log root holding `all-mitm-sse/` (the proxy's `--log-dir`). */
  logDir: string
  /** Interface to bind. Anything but loopback needs `allowHosts` for the Host check. @defaultValue '127.0.0.1' */
  host?: string
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
  stop(): Promise<void>
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

const MAX_PAGE_CLIENTS = 32
const MAX_CLIENT_BACKLOG = 8 * 1024 * 1024

function defaultAssetsDir(): string {
  // dist/index.js → dist/public; when run from src (tests), fall back to the built dist/public.
  const here = new URL('./public/', import.meta.url)
  const built = new URL('../dist/public/', import.meta.url)
  const a = fileURLToPath(here)
  return existsSync(a + 'app.js') ? a : fileURLToPath(built)
}

/**
 * Creates the live web view over a capture log dir: flow list updating live over SSE, flow detail
 * (conversation as the monitor renders it, raw events, redacted request), and session view with
 * flow-fsm's tool-call findings. Loopback bind, Host-header check and a token (given in the URL
 * once, then a cookie) guard every route.
 *
 * @example
 * ```ts
 * const web = createWebServer({ logDir: '~/centralized-logs', port: 9115 })
 * console.log(`web view: ${await web.start()}`)
 * process.on('SIGINT', () => web.stop())
 * ```
 */
export function createWebServer(opts: WebServerOptions): WebServer {
  if (!opts || typeof opts.logDir !== 'string' || opts.logDir === '') {
    throw new WebError('INVALID_OPTION', 'option logDir: expected the capture log root (the directory holding all-mitm-sse/)')
  }
  const host = opts.host ?? '127.0.0.1'
  const wantPort = opts.port ?? 9115
  if (!Number.isInteger(wantPort) || wantPort < 0 || wantPort > 65535) {
    throw new WebError('INVALID_OPTION', `option port: expected an integer 0-65535, received ${String(opts.port)}`)
  }
  const token = opts.token ?? generateToken()
  if (token.length < 16 || /[^A-Za-z0-9_\-.~]/.test(token)) {
    throw new WebError('INVALID_OPTION', 'option token: expected at least 16 URL-safe characters (A-Z a-z 0-9 _ - . ~)')
  }
  const snapshotLimit = opts.snapshotLimit ?? 5000
  const bodyLimit = opts.bodyLimit ?? 8 * 1024 * 1024
  const sessionMaxFlows = opts.sessionMaxFlows ?? 500
  const paths: CapturePaths = capturePaths(opts.logDir)
  const index = createFlowIndex({
    ...(opts.maxFlows !== undefined ? { maxFlows: opts.maxFlows } : {}),
    ...(opts.memBudgetBytes !== undefined ? { memBudgetBytes: opts.memBudgetBytes } : {}),
    ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}),
  })

  let server: Server | undefined
  let port = wantPort
  let url = ''
  const hostOk = createHostCheck(() => port, opts.allowHosts ?? [])
  const clients = new Set<ServerResponse>()
  const ac = new AbortController()
  const timers: NodeJS.Timeout[] = []
  const tasks: Promise<unknown>[] = []
  let errors = 0
  let lastError: string | undefined
  let historyDone = false
  let resolveHistory: () => void = () => undefined
  const historyLoaded = new Promise<void>((r) => (resolveHistory = r))
  // Where in-process records begin in the files: detail of evicted in-memory flows is scanned from here.
  const scanFrom = { flows: 0, lines: 0 }
  let assets: { js: string } | undefined

  const report = (err: Error): void => {
    errors++
    lastError = err.message
    opts.onError?.(err)
  }

  function status(): IngestStatus {
    return {
      flows: index.size,
      evicted: index.evicted,
      errors,
      ...(lastError !== undefined ? { last_error: lastError } : {}),
      history_loaded: historyDone,
    }
  }

  // ---- ingest ---------------------------------------------------------------------------------

  const FILES = [
    ['flows', () => paths.flows],
    ['lines', () => paths.lines],
    ['flow_ends', () => paths.flowEnds],
  ] as const

  /** Indexes one line; a JSON value that is not a canonical record is reported with its place. */
  function addChecked(item: { value: unknown; line: number; offset: number }, file: 'flows' | 'lines' | 'flow_ends', path: string): void {
    if (index.add(item.value, { file, offset: item.offset }) !== undefined) return
    const v = item.value
    const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? `an object without ${typeof (v as Record<string, unknown>)['flow_id'] === 'string' ? 'type' : 'flow_id'}` : typeof v
    report(new WebError('BAD_RECORD', `${path}:${item.line} (byte ${item.offset}): expected a canonical record with string "type" and "flow_id", got ${got}; skipped`))
  }

  async function ingestFollow(): Promise<void> {
    const marks = await Promise.all(FILES.map(([, p]) => lastLineStart(p())))
    let pending = marks.filter((m) => m.last >= 0).length
    const doneOne = (): void => {
      if (--pending === 0) finishHistory()
    }
    if (pending === 0) finishHistory()
    await Promise.all(
      FILES.map(async ([file, p], i) => {
        const mark = (marks[i] as { last: number }).last
        let reached = mark < 0
        // The last history line may be malformed: its error report marks the end of history too.
        const onError = (err: JsonlError): void => {
          if (err.code === 'FILE_ROTATED' || err.code === 'FILE_TRUNCATED') {
            // Not bad data: offsets into the old content are void now.
            index.fileReset(file)
            opts.onError?.(err)
          } else report(err)
          if (!reached && err.offset >= mark && err.code !== 'FILE_ROTATED' && err.code !== 'FILE_TRUNCATED') {
            reached = true
            doneOne()
          }
        }
        try {
          for await (const item of follow(p(), { fromStart: true, signal: ac.signal, onError, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) })) {
            addChecked(item, file, p())
            if (!reached && item.offset >= mark) {
              reached = true
              doneOne()
            }
          }
        } catch (err) {
          if (!ac.signal.aborted) report(new WebError('READ_FAILED', `following ${p()} failed: ${(err as Error).message}`, { cause: err }))
        }
        if (!reached) doneOne()
      }),
    )
  }

  async function ingestRecords(records: AsyncIterable<CaptureRecord>): Promise<void> {
    // Subscribe before measuring the files, so nothing falls between history and live. Live
    // records are pulled only once history is indexed: a flow that spans the start then gets its
    // early events from the file (with offsets) and later ones from the stream, never skipped as
    // duplicates of a later seq. (The stream's own bounded queue holds them meanwhile.)
    const it = records[Symbol.asyncIterator]()
    const marks = await Promise.all(FILES.map(([, p]) => lastLineStart(p())))
    scanFrom.flows = marks[0]?.size ?? 0
    scanFrom.lines = marks[1]?.size ?? 0
    const consume = async (): Promise<void> => {
      // A hub iterator may wait forever for the next record: end it when we stop.
      const onAbort = (): void => void it.return?.()
      ac.signal.addEventListener('abort', onAbort, { once: true })
      try {
        for (;;) {
          const next = await it.next()
          if (next.done || ac.signal.aborted) break
          index.add(next.value)
        }
      } catch (err) {
        if (!ac.signal.aborted) report(new WebError('READ_FAILED', `record stream failed: ${(err as Error).message}`, { cause: err }))
      }
    }
    await Promise.all(
      FILES.map(async ([file, p], i) => {
        const size = (marks[i] as { size: number }).size
        try {
          for await (const item of readJsonl(p(), { onError: report, signal: ac.signal })) {
            if (item.offset >= size) break // written after start: the record stream has it
            addChecked(item, file, p())
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !ac.signal.aborted) {
            report(new WebError('READ_FAILED', `reading ${p()} failed: ${(err as Error).message}`, { cause: err }))
          }
        }
      }),
    )
    finishHistory()
    // Runs until the stream ends; stop() ends it (a hub iterator may never settle, so it is not awaited).
    void consume()
  }

  async function ingestOnce(): Promise<void> {
    await Promise.all(
      FILES.map(async ([file, p]) => {
        try {
          for await (const item of readJsonl(p(), { onError: report, signal: ac.signal })) addChecked(item, file, p())
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !ac.signal.aborted) report(new WebError('READ_FAILED', `reading ${p()} failed: ${(err as Error).message}`))
        }
      }),
    )
    finishHistory()
  }

  function finishHistory(): void {
    if (historyDone) return
    historyDone = true
    resolveHistory()
    broadcast('status', status())
  }

  // ---- live push ------------------------------------------------------------------------------

  function sseFrame(event: string, data: unknown): string {
    // JSON has no raw newlines, so one data line is enough.
    return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
  }

  function send(res: ServerResponse, frame: string): void {
    if (res.writableLength > MAX_CLIENT_BACKLOG) {
      // A page that stopped reading: drop it; EventSource reconnects and gets a fresh snapshot.
      clients.delete(res)
      res.destroy()
      return
    }
    res.write(frame)
  }

  function broadcast(event: string, data: unknown): void {
    if (clients.size === 0) return
    const frame = sseFrame(event, data)
    for (const c of clients) send(c, frame)
  }

  let lastStatus = ''
  function flush(): void {
    index.tick()
    const changed = index.takeDirty()
    const removed = index.takeRemoved()
    if (changed.length || removed.length) broadcast('flows', { flows: changed, removed })
    const s = JSON.stringify(status())
    if (s !== lastStatus) {
      lastStatus = s
      broadcast('status', status())
    }
  }

  function snapshot(): { flows: FlowSummary[]; total: number } {
    const all = index.list()
    return { flows: all.length > snapshotLimit ? all.slice(all.length - snapshotLimit) : all, total: all.length }
  }

  // ---- routes ---------------------------------------------------------------------------------

  function head(res: ServerResponse, code: number, type: string, extra: Record<string, string> = {}): void {
    res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra })
  }

  function plain(res: ServerResponse, code: number, msg: string): void {
    head(res, code, 'text/plain; charset=utf-8')
    res.end(`${msg}\n`)
  }

  function json(res: ServerResponse, body: unknown, code = 200): void {
    head(res, code, 'application/json; charset=utf-8')
    res.end(JSON.stringify(body))
  }

  function entryOr404(res: ServerResponse, id: string): FlowEntry | undefined {
    const e = index.get(id)
    if (!e) json(res, { error: `flow ${id} is not in the index (unknown, or evicted past maxFlows)` }, 404)
    return e
  }

  async function flowDetail(e: FlowEntry): Promise<FlowDetail> {
    const loaded = await loadFlow(paths, e, scanFrom)
    const s = e.summary
    const conv = renderConversation(
      {
        flow_id: s.flow_id,
        ...(s.url !== undefined ? { url: s.url } : {}),
        ...(s.provider !== undefined ? { provider: s.provider } : {}),
        ...(s.client !== undefined ? { client: s.client } : {}),
      },
      loaded.lines,
      { finished: s.state !== 'streaming' },
    )
    return {
      summary: { ...s, usage: { ...s.usage } },
      lines: conv.lines,
      commands: conv.commands,
      problems: [...loaded.problems, ...conv.problems],
      complete: loaded.problems.length === 0,
    }
  }

  async function flowEvents(e: FlowEntry, from: number, limit: number): Promise<RawEventsPage> {
    let total: number
    let slice: SseLike[]
    if (!e.mem && !e.memEvicted) {
      // File-backed: read only the page asked for, by offset.
      total = e.lineOffsets.length
      slice = (await readSseAt(paths, e.summary.flow_id, e.lineOffsets.slice(from, from + limit))).lines
    } else {
      const loaded = await loadFlow(paths, e, scanFrom)
      total = loaded.lines.length
      slice = loaded.lines.slice(from, from + limit)
    }
    return {
      flow_id: e.summary.flow_id,
      total,
      from,
      events: slice.map((l, i) => ({
        seq: l.seq ?? from + i,
        data: l.data,
        ...(l.t_ms !== undefined ? { t_ms: l.t_ms } : {}),
        ...(l.event !== undefined ? { event: l.event } : {}),
        ...(l.transport !== undefined ? { transport: l.transport } : {}),
      })),
    }
  }

  function flatHeaders(h: unknown): Record<string, string> {
    const out: Record<string, string> = {}
    if (typeof h !== 'object' || h === null) return out
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
      out[k] = Array.isArray(v) ? v.map(String).join(', ') : String(v)
    }
    return out
  }

  async function flowRequest(e: FlowEntry): Promise<FlowRequest> {
    const loaded = await loadFlow(paths, e, scanFrom)
    const f = loaded.flow
    const s = e.summary
    const base: FlowRequest = {
      flow_id: s.flow_id,
      ...(s.method !== undefined ? { method: s.method } : {}),
      ...(s.url !== undefined ? { url: s.url } : {}),
      ...(s.status !== undefined ? { status: s.status } : {}),
      request_headers: flatHeaders(f?.['request_headers']),
      response_headers: flatHeaders(f?.['response_headers']),
      view: null,
      body: null,
      body_truncated: false,
    }
    if (!f) {
      base.body_error = loaded.problems[0] ?? 'the request record of this flow was not captured (or not yet seen)'
      return base
    }
    const resolved = await resolveBody(paths, f['request_body'], bodyLimit)
    if (resolved.error !== undefined) base.body_error = resolved.error
    if (resolved.body === undefined || resolved.body === null) return base
    base.view = buildRequestView(resolved.body)
    const text = typeof resolved.body === 'string' ? resolved.body : JSON.stringify(resolved.body, null, 2)
    base.body = text.length > bodyLimit ? text.slice(0, bodyLimit) : text
    base.body_truncated = text.length > bodyLimit || resolved.truncated === true
    return base
  }

  async function sessionView(id: string): Promise<SessionView> {
    const entries = index.session(id)
    const view: SessionView = { session_id: id, flows: entries.map((e) => ({ ...e.summary, usage: { ...e.summary.usage } })), findings: [], counts: {} }
    try {
      const problems: string[] = []
      // Validation reads every request body of the session: bound it to the newest flows.
      const window = entries.slice(-sessionMaxFlows)
      if (window.length < entries.length) problems.push(`validated the newest ${window.length} of ${entries.length} flows (sessionMaxFlows); results of older calls count as pre-capture`)
      const validator = createCallValidator({ onError: (err) => problems.push(err.message) })
      for (const e of window) {
        const loaded = await loadFlow(paths, e, scanFrom)
        problems.push(...loaded.problems)
        if (loaded.flow) {
          const resolved = await resolveBody(paths, loaded.flow['request_body'], bodyLimit)
          validator.add({ ...loaded.flow, request_body: resolved.body } as unknown as CanonicalRecord)
        }
        for (const l of loaded.lines) validator.add({ type: 'sse', flow_id: e.summary.flow_id, session_id: id, ...l } as CanonicalRecord)
        validator.add({ type: 'flow_end', flow_id: e.summary.flow_id, session_id: id, outcome: e.summary.outcome ?? 'aborted' } as CanonicalRecord)
      }
      const result = validator.finish()
      view.findings = result.findings
        .filter((f) => f.session_id === id)
        .map((f): SessionFinding => ({
          kind: f.kind,
          call_id: f.call_id,
          flow_id: f.flow_id,
          where: f.position,
          message: f.message,
          ...(f.name !== undefined ? { name: f.name } : {}),
        }))
      const counts = result.sessions[id]
      if (counts) view.counts = { ...counts } as unknown as Record<string, number>
      if (problems.length) view.validation_error = problems.slice(0, 5).join('; ')
    } catch (err) {
      view.validation_error = (err as Error).message
    }
    return view
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    if (clients.size >= MAX_PAGE_CLIENTS) return plain(res, 503, `too many open pages (${MAX_PAGE_CLIENTS}); close some tabs`)
    head(res, 200, 'text/event-stream; charset=utf-8', { connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`retry: 2000\n\n`)
    res.write(sseFrame('snapshot', { ...snapshot(), status: status() }))
    clients.add(res)
    req.on('close', () => clients.delete(res))
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

  async function route(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const p = u.pathname
    if (p === '/' || p === '/index.html') {
      head(res, 200, 'text/html; charset=utf-8')
      return void res.end(INDEX_HTML)
    }
    if (p === '/app.js') {
      const js = assetsJs()
      if (js === undefined) return plain(res, 500, 'the page bundle (dist/public/app.js) is missing: run `pnpm --filter @agenttap/web build`')
      head(res, 200, 'text/javascript; charset=utf-8')
      return void res.end(js)
    }
    if (p === '/app.css') {
      head(res, 200, 'text/css; charset=utf-8')
      return void res.end(APP_CSS)
    }
    if (p === '/api/stream') {
      if (req.method === 'HEAD') {
        head(res, 200, 'text/event-stream; charset=utf-8')
        return void res.end()
      }
      return openStream(req, res)
    }
    if (p === '/api/status') return json(res, status())
    if (p === '/api/search') {
      const q = u.searchParams.get('q') ?? ''
      if (q.trim().length < 2 || q.length > 200) return json(res, { error: 'q: expected 2 to 200 characters' }, 400)
      // Stop scanning when the page goes away (a new search replaces the old one).
      const ac2 = new AbortController()
      res.on('close', () => ac2.abort())
      const r = await searchFlows([paths.flows, paths.lines], q, { signal: ac2.signal })
      return json(res, { q, flow_ids: r.flowIds, scanned_bytes: r.scannedBytes, truncated: r.truncated })
    }
    if (p === '/api/flows') return json(res, snapshot())
    let m = /^\/api\/flows\/([^/]+)(\/events|\/request)?$/.exec(p)
    if (m) {
      const id = decodeURIComponent(m[1] as string)
      const e = entryOr404(res, id)
      if (!e) return
      if (m[2] === '/events') {
        const from = Math.max(0, Number.parseInt(u.searchParams.get('from') ?? '0', 10) || 0)
        const limit = Math.min(5000, Math.max(1, Number.parseInt(u.searchParams.get('limit') ?? '500', 10) || 500))
        return json(res, await flowEvents(e, from, limit))
      }
      if (m[2] === '/request') return json(res, await flowRequest(e))
      return json(res, await flowDetail(e))
    }
    m = /^\/api\/sessions\/([^/]+)$/.exec(p)
    if (m) return json(res, await sessionView(decodeURIComponent(m[1] as string)))
    if (p === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS)
      return void res.end()
    }
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
    const src = tokenSource(req, u, token, port)
    if (src === undefined) {
      return plain(res, 403, 'Forbidden: missing or wrong token. Open the URL printed when agenttap web started (it ends in ?token=…).')
    }
    if (src === 'query') {
      const cookie = `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`
      if (u.pathname === '/' || u.pathname === '/index.html') {
        // Drop the token from the address bar and history once the cookie holds it.
        res.writeHead(302, { ...SECURITY_HEADERS, 'set-cookie': cookie, location: `/${u.hash}`, 'cache-control': 'no-store' })
        return void res.end()
      }
      res.setHeader('set-cookie', cookie)
    }
    route(req, res, u).catch((err: unknown) => {
      if (err instanceof URIError) return plain(res, 400, `bad escape in the URL path: ${err.message}`)
      report(err instanceof Error ? err : new Error(String(err)))
      if (!res.headersSent) json(res, { error: (err as Error).message }, 500)
      else res.end()
    })
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
      if (server) throw new WebError('ALREADY_STARTED', 'start() was called twice; stop() first')
      const srv = createServer(handle)
      server = srv
      srv.keepAliveTimeout = 5000
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (err) => reject(new WebError('LISTEN_FAILED', `cannot listen on ${host}:${wantPort}: ${err.message}`, { cause: err })))
        srv.listen(wantPort, host, () => resolve())
      })
      port = (srv.address() as AddressInfo).port
      const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
      url = `http://${shown}:${port}/?token=${token}`
      if (opts.records) tasks.push(ingestRecords(opts.records))
      else if (opts.follow === false) tasks.push(ingestOnce())
      else tasks.push(ingestFollow())
      timers.push(setInterval(flush, opts.pushIntervalMs ?? 100))
      timers.push(setInterval(() => { for (const c of clients) c.write(': ping\n\n') }, 15_000))
      for (const t of timers) t.unref()
      return url
    },
    async stop() {
      ac.abort()
      for (const t of timers) clearInterval(t)
      timers.length = 0
      for (const c of clients) c.end()
      clients.clear()
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

