/**
 * Loads a capture for replay: the capture files through jsonl-io (`resolveCapture`, `readJsonl`,
 * `readRawRef` for bodies in `sse_logs/`), the model calls through the ledger, and the request
 * fingerprints through session-extractor's request anatomy. The result holds one exchange per
 * captured response, with its events and their times, ready to be served.
 */
import { readJsonl, readRawRef, resolveCapture, type CaptureRecord } from '@agenttap/jsonl-io'
import { ledgerFromRecords, type ModelCall } from '@agenttap/ledger'
import { excerpt, requestPrint } from './fingerprint.js'
import { ReplayError } from './errors.js'
import type { ReplayCapture, ReplayConnection, ReplayEvent, ReplayExchange } from './types.js'

/** Options of {@link loadReplayCapture}. */
export interface LoadReplayOptions {
  /** Serve only this session's calls (a session id of the capture, as the ledger chains them). */
  session?: string
  /** Bad input (unreadable lines, missing bodies, the ledger's reports); the rest is loaded. */
  onError?(error: ReplayError): void
}

type Rec = Record<string, unknown> & { type: string; flow_id: string }

interface FlowGroup {
  flow?: Rec
  lines: Rec[]
  end?: Rec
}

/** Response headers never replayed: hop-by-hop (RFC 9110 §7.6.1), recomputed, or the WebSocket handshake's own. */
const DROP_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers',
  'transfer-encoding', 'upgrade', 'content-length', 'content-encoding', 'sec-websocket-accept', 'sec-websocket-extensions',
  'sec-websocket-protocol', 'sec-websocket-version', 'date',
])
const REDACTED = '[REDACTED:'

/**
 * The captured response headers to send again: hop-by-hop and length/encoding headers (the
 * replayed body is the decoded one, its length is the server's to compute) and every header whose
 * value redaction changed (a marker is no value a client can use) are left out.
 */
export function servedHeaders(h: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  if (typeof h !== 'object' || h === null) return out
  for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
    const name = k.toLowerCase()
    if (DROP_HEADERS.has(name) || name.startsWith(':')) continue
    if (typeof v === 'string') {
      if (!v.includes(REDACTED)) out[k] = v
    } else if (Array.isArray(v)) {
      const kept = v.filter((x): x is string => typeof x === 'string' && !x.includes(REDACTED))
      if (kept.length > 0) out[k] = kept
    }
  }
  return out
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const refOf = (v: unknown): string | undefined => (isObj(v) && typeof v['$ref'] === 'string' ? v['$ref'] : undefined)

function pathAndQuery(url: string | undefined): string {
  if (url === undefined) return '/'
  const scheme = url.indexOf('://')
  if (scheme > 0 && scheme < 16) {
    const slash = url.indexOf('/', scheme + 3)
    return slash === -1 ? '/' : url.slice(slash)
  }
  return url
}

function isResponseCreate(data: string): boolean {
  // A Codex `response.create` frame asks for a response; other client frames (cancel, pings) do not.
  if (!data.includes('"response.create"')) return false
  try {
    const v: unknown = JSON.parse(data)
    return isObj(v) && v['type'] === 'response.create'
  } catch {
    return false
  }
}

/**
 * Reads a capture (a log root, a capture directory, a per-agent view, or one JSONL file of
 * canonical records) and returns what replay serves: one exchange per captured response, in
 * request order, with the request's fingerprint, the response's status, headers, events and
 * times, and the WebSocket connections as captured.
 *
 * @throws ReplayError `NO_CAPTURE` when the path holds no capture file, `NOTHING_TO_SERVE` when
 * the capture (or the chosen session) holds no response
 * @example
 * const capture = await loadReplayCapture('fixtures/capture', { onError: (e) => console.warn(e.message) })
 * capture.exchanges.length // 23
 */
export async function loadReplayCapture(path: string, opts: LoadReplayOptions = {}): Promise<ReplayCapture> {
  const layout = resolveCapture(path)
  if (layout.all.length === 0) throw new ReplayError('NO_CAPTURE', `no capture at ${path}: expected a log root, an all-mitm-sse/ directory or a .jsonl file of capture records`)
  const report = (e: ReplayError): void => opts.onError?.(e)
  const groups = new Map<string, FlowGroup>()
  const records: Rec[] = []
  for (const file of layout.all) {
    for await (const item of readJsonl(file, { onError: (err) => report(new ReplayError('BAD_LINE', err.message, { file, line: err.line, offset: err.offset, cause: err })) })) {
      const r = item.value
      if (!isObj(r) || typeof r['type'] !== 'string' || typeof r['flow_id'] !== 'string') continue
      const rec = r as Rec
      let g = groups.get(rec.flow_id)
      if (rec.type === 'flow' || rec.type === 'sse' || rec.type === 'client_frame' || rec.type === 'flow_end') {
        if (g === undefined) groups.set(rec.flow_id, (g = { lines: [] }))
        if (rec.type === 'flow') g.flow = rec
        else if (rec.type === 'flow_end') g.end = rec
        else g.lines.push(rec)
      }
      records.push(rec)
    }
  }

  const readRef = async (ref: string, flow_id: string): Promise<Buffer | undefined> => {
    try {
      return await readRawRef(layout.dir, ref)
    } catch (err) {
      report(new ReplayError('BODY_REF', `could not read ${ref}: ${(err as Error).message}`, { flow_id, cause: err }))
      return undefined
    }
  }
  // Bodies out of line, resolved once: the ledger and the fingerprints read the records in place.
  for (const [id, g] of groups) {
    const reqRef = refOf(g.flow?.['request_body'])
    if (g.flow && reqRef !== undefined) {
      const b = await readRef(reqRef, id)
      if (b !== undefined) {
        const text = b.toString('utf8')
        try {
          g.flow['request_body'] = JSON.parse(text) as unknown
        } catch {
          g.flow['request_body'] = text
        }
      }
    }
    for (const l of g.lines) {
      const dref = refOf(l['data_ref'])
      if (l.type === 'client_frame' && dref !== undefined && l['data'] === '') {
        const b = await readRef(dref, id)
        if (b !== undefined) l['data'] = b.toString('utf8')
      }
    }
    const bodyRef = refOf(g.end?.['body'])
    if (g.end && bodyRef !== undefined) {
      const b = await readRef(bodyRef, id)
      if (b !== undefined) g.end['body'] = b.toString('utf8')
    }
  }

  const ledger = ledgerFromRecords(records as CaptureRecord[])
  for (const e of ledger.errors) if (e.code !== 'STREAM') report(new ReplayError('LEDGER', e.message, { flow_id: e.flow_id, seq: e.seq, cause: e }))
  const calls = new Map<string, ModelCall>()
  for (const c of ledger.calls) calls.set(c.key, c)

  const exchanges: ReplayExchange[] = []
  const connections: ReplayConnection[] = []
  const sessions: Record<string, number> = {}
  for (const [id, g] of groups) {
    const f = g.flow
    if (f === undefined) continue
    const lines = [...g.lines].sort((a, b) => Number(a['seq'] ?? 0) - Number(b['seq'] ?? 0))
    const end = g.end
    const url = typeof f['url'] === 'string' ? f['url'] : undefined
    const method = typeof f['method'] === 'string' ? f['method'] : 'POST'
    const started = Date.parse(String(f['ts'] ?? '')) || 0
    const headers = servedHeaders(f['response_headers'])
    const client = String(f['client'] ?? 'unknown')
    const provider = String(f['provider'] ?? 'unknown')
    const reqHeaders = isObj(f['request_headers']) ? (f['request_headers'] as Record<string, string>) : undefined
    const ws = f['status'] === 101 || lines.some((l) => l['transport'] === 'ws')
    const base = { flow_id: id, client, provider, method, path: pathAndQuery(url) }
    const sessionOf = (key: string): string => calls.get(key)?.session_id ?? String(f['session_id'] ?? '-')
    const outcome = typeof end?.['outcome'] === 'string' ? end['outcome'] : undefined
    const cutFlow = end === undefined || outcome === 'upstream_error' || end['truncated'] === true

    if (ws) {
      const conn: ReplayConnection = { flow_id: id, path: base.path, headers, keys: [] }
      let cur: ReplayExchange | undefined
      let curT0 = 0
      let k = 0
      for (const l of lines) {
        const t = typeof l['t_ms'] === 'number' ? l['t_ms'] : 0
        if (l.type === 'client_frame') {
          const data = typeof l['data'] === 'string' ? l['data'] : ''
          if (!isResponseCreate(data)) continue
          const key = `${id}#${k}`
          const call = calls.get(key)
          cur = {
            ...base, key, index: k, session_id: sessionOf(key), kind: call?.kind ?? 'model', transport: 'ws',
            print: requestPrint({ body: data, method, ...(url ? { url } : {}), ...(reqHeaders ? { headers: reqHeaders } : {}), client, provider }),
            status: 101, headers: {}, events: [], cut: false, order: started + t,
          }
          if (call?.prompt !== undefined) cur.prompt = call.prompt
          curT0 = t
          exchanges.push(cur)
          conn.keys.push(key)
          k++
        } else if (l.type === 'sse' && cur !== undefined) {
          cur.events.push({ t: Math.max(0, t - curT0), data: String(l['data'] ?? '') })
        }
      }
      if (cur !== undefined && cutFlow && outcome !== 'aborted') cur.cut = true
      if (conn.keys.length > 0) connections.push(conn)
      continue
    }

    const key = `${id}#0`
    const call = calls.get(key)
    const events: ReplayEvent[] = []
    for (const l of lines) {
      if (l.type !== 'sse') continue
      const ev: ReplayEvent = { t: typeof l['t_ms'] === 'number' ? l['t_ms'] : 0, data: String(l['data'] ?? '') }
      if (typeof l['event'] === 'string') ev.event = l['event']
      events.push(ev)
    }
    const status = typeof f['status'] === 'number' ? f['status'] : typeof end?.['status'] === 'number' ? end['status'] : 502
    const ex: ReplayExchange = {
      ...base, key, index: 0, session_id: sessionOf(key), kind: call?.kind ?? 'aux', transport: events.length > 0 ? 'sse' : 'http',
      print: requestPrint({ body: f['request_body'], method, ...(url ? { url } : {}), ...(reqHeaders ? { headers: reqHeaders } : {}), client, provider }),
      status, headers, events, cut: cutFlow || call?.outcome === 'truncated', order: started,
    }
    if (typeof end?.['ttfb_ms'] === 'number') ex.ttfb = end['ttfb_ms']
    if (call?.prompt !== undefined) ex.prompt = call.prompt
    if (events.length === 0) {
      // The body as it went (redacted) from sse_logs/ when the capture kept it, else the record's copy.
      const rawRef = typeof end?.['raw'] === 'string' ? end['raw'] : undefined
      let body = rawRef !== undefined ? await readRef(rawRef, id) : undefined
      if (body === undefined && end?.['body'] !== undefined) {
        const b = end['body']
        if (refOf(b) === undefined) body = Buffer.from(typeof b === 'string' ? b : JSON.stringify(b), 'utf8')
      }
      if (body !== undefined) ex.body = body
      if (end === undefined && f['status'] === undefined) ex.cut = true
    }
    exchanges.push(ex)
  }
  exchanges.sort((a, b) => a.order - b.order || (a.flow_id < b.flow_id ? -1 : a.flow_id > b.flow_id ? 1 : a.index - b.index))
  for (const e of exchanges) sessions[e.session_id] = (sessions[e.session_id] ?? 0) + 1
  let chosen = exchanges
  if (opts.session !== undefined) {
    chosen = exchanges.filter((e) => e.session_id === opts.session)
    if (chosen.length === 0) {
      const known = Object.keys(sessions).slice(0, 10).map((s) => excerpt(s)).join(', ')
      throw new ReplayError('NOTHING_TO_SERVE', `session ${opts.session} has no call in ${path}; sessions there: ${known || 'none'}`)
    }
  }
  if (chosen.length === 0) throw new ReplayError('NOTHING_TO_SERVE', `${path} holds no captured request to serve`)
  const keys = new Set(chosen.map((e) => e.key))
  const conns = connections.map((c) => ({ ...c, keys: c.keys.filter((k) => keys.has(k)) })).filter((c) => c.keys.length > 0)
  let events = 0
  for (const e of chosen) events += e.events.length
  return { dir: layout.dir, ...(layout.kind === 'file' ? { file: layout.all[0] as string } : {}), exchanges: chosen, connections: conns, sessions, events }
}
