/**
 * Loads a capture for replay in one pass that keeps no response: the capture files merged by
 * record time (capture-sources, so each flow is open in the ledger only while it streams), each
 * record fed to the ledger (kind, session, prompt, outcome of each call), each request
 * fingerprinted through session-extractor's request anatomy, and of each response only where its
 * lines are (byte ranges). The events of a call are read from disk when it is served (`disk.ts`),
 * so a capture of any size replays with memory bounded by its number of calls and its largest
 * response.
 */
import { statSync } from 'node:fs'
import { openSource, type SourceItem } from '@agenttap/capture-sources'
import { readRawRef, resolveCapture } from '@agenttap/jsonl-io'
import { createLedger, type ModelCall } from '@agenttap/ledger'
import { readRecords } from './disk.js'
import { excerpt, requestPrint } from './fingerprint.js'
import { ReplayError } from './errors.js'
import type { ByteRange, ReplayCapture, ReplayConnection, ReplayEvent, ReplayExchange, RequestPrint } from './types.js'

/** Options of {@link loadReplayCapture}. */
export interface LoadReplayOptions {
  /** Serve only this session's calls (a session id of the capture, as the ledger chains them). */
  session?: string
  /** Bad input (unreadable lines, missing bodies, the ledger's reports); the rest is loaded. */
  onError?(error: ReplayError): void
}

type Rec = Record<string, unknown> & { type: string; flow_id: string }

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


/** What a request's fingerprint is made from, besides its body. */
interface PrintHints {
  method: string
  url?: string
  headers?: Record<string, string>
  client: string
  provider: string
}

/** A response of a captured WebSocket, as the index pass sees it. */
interface WsResponse {
  frame: ByteRange
  print: RequestPrint
  t0: number
  lines: ByteRange[]
  count: number
}

/** A flow, as the index pass sees it: its records' places on disk and what serving needs. */
interface FlowState {
  request?: ByteRange
  hints?: PrintHints
  print?: RequestPrint
  url?: string
  status?: number
  started: number
  headers: Record<string, string | string[]>
  session?: string
  lines: ByteRange[]
  count: number
  responses: WsResponse[]
  end?: { range: ByteRange; outcome?: string; truncated: boolean; status?: number; ttfb?: number }
}

type CallFacts = Pick<ModelCall, 'kind' | 'session_id' | 'outcome'> & { prompt?: string }

function hintsOf(f: Record<string, unknown>): PrintHints {
  const h: PrintHints = { method: typeof f['method'] === 'string' ? f['method'] : 'POST', client: String(f['client'] ?? 'unknown'), provider: String(f['provider'] ?? 'unknown') }
  if (typeof f['url'] === 'string') h.url = f['url']
  if (isObj(f['request_headers'])) h.headers = f['request_headers'] as Record<string, string>
  return h
}

const printOf = (body: unknown, h: PrintHints): RequestPrint =>
  requestPrint({ body, method: h.method, ...(h.url !== undefined ? { url: h.url } : {}), ...(h.headers ? { headers: h.headers } : {}), client: h.client, provider: h.provider })

/** The print kept in memory for an exchange: without `units` (the messages' text, most of a request's bytes). */
function lean(p: RequestPrint): RequestPrint {
  const { units: _units, ...rest } = p
  return rest
}

/**
 * Reads a capture (a log root, a capture directory, a per-agent view, or one JSONL file of
 * canonical records) in one pass and returns what replay serves: one exchange per captured
 * response, in request order, with the request's fingerprint, the response's status, headers and
 * number of events, where its records are on disk (`source`), and the WebSocket connections as
 * captured. The events themselves stay on disk until the call is served (`readEvents`).
 *
 * @throws ReplayError `NO_CAPTURE` when the path holds no capture file, `NOTHING_TO_SERVE` when
 * the capture (or the chosen session) holds no response
 * @example
 * const capture = await loadReplayCapture('fixtures/capture', { onError: (e) => console.warn(e.message) })
 * capture.exchanges.length // 23
 * await capture.readEvents(capture.exchanges[0]) // [{ t: 412, event: 'message_start', data: '{…}' }, …]
 */
export async function loadReplayCapture(path: string, opts: LoadReplayOptions = {}): Promise<ReplayCapture> {
  const layout = resolveCapture(path)
  if (layout.all.length === 0) throw new ReplayError('NO_CAPTURE', `no capture at ${path}: expected a log root, an all-mitm-sse/ directory or a .jsonl file of capture records`)
  const report = (e: ReplayError): void => opts.onError?.(e)
  const readRef = async (ref: string, flow_id: string): Promise<Buffer | undefined> => {
    try {
      return await readRawRef(layout.dir, ref)
    } catch (err) {
      report(new ReplayError('BODY_REF', `could not read ${ref}: ${(err as Error).message}`, { flow_id, cause: err }))
      return undefined
    }
  }
  const resolveBody = async (v: unknown, flow_id: string): Promise<unknown> => {
    const ref = refOf(v)
    if (ref === undefined) return v
    const b = await readRef(ref, flow_id)
    if (b === undefined) return v
    const text = b.toString('utf8')
    try {
      return JSON.parse(text) as unknown
    } catch {
      return text
    }
  }
  const frameData = async (l: Record<string, unknown>, flow_id: string): Promise<string> => {
    const data = typeof l['data'] === 'string' ? l['data'] : ''
    const dref = refOf(l['data_ref'])
    if (data !== '' || dref === undefined) return data
    return (await readRef(dref, flow_id))?.toString('utf8') ?? ''
  }

  const calls = new Map<string, CallFacts>()
  const ledger = createLedger({
    onCall: (c) => calls.set(c.key, { kind: c.kind, session_id: c.session_id, outcome: c.outcome, ...(c.prompt !== undefined ? { prompt: c.prompt } : {}) }),
    onError: (e) => {
      if (e.code !== 'STREAM') report(new ReplayError('LEDGER', e.message, { flow_id: e.flow_id, seq: e.seq, cause: e }))
    },
  })
  const flows = new Map<string, FlowState>()
  const flowOf = (id: string): FlowState => {
    let st = flows.get(id)
    if (st === undefined) flows.set(id, (st = { started: 0, headers: {}, lines: [], count: 0, responses: [] }))
    return st
  }
  // A line's end is the next line's start: the range a record opened is closed by the next item
  // of its file (adjacent lines of one flow extend one range), or by the file's size at the end.
  const open = new Map<string, ByteRange>()
  const place = (file: string, offset: number): ByteRange => {
    const r: ByteRange = { file, start: offset, end: offset }
    open.set(file, r)
    return r
  }
  const append = (list: ByteRange[], file: string, offset: number): void => {
    const last = list[list.length - 1]
    if (last !== undefined && last.file === file && last.end === offset) open.set(file, last)
    else list.push(place(file, offset))
  }

  const source = openSource(layout.all, { follow: false, onError: () => {} }) as AsyncIterable<SourceItem[] | SourceItem>
  for await (const batch of source) {
    for (const item of Array.isArray(batch) ? batch : [batch]) {
      const file = item.file ?? (layout.all[0] as string)
      const offset = item.offset ?? 0
      const prev = open.get(file)
      if (prev !== undefined) {
        prev.end = offset
        open.delete(file)
      }
      if (item.error) {
        report(new ReplayError('BAD_LINE', item.error.message, { file, line: item.line, offset, cause: item.error }))
        continue
      }
      const r = item.value
      if (!isObj(r) || typeof r['type'] !== 'string' || typeof r['flow_id'] !== 'string') continue
      const rec = r as Rec
      const id = rec.flow_id
      const at = { file, ...(item.line !== undefined ? { line: item.line } : {}), offset }
      if (rec.type === 'flow') {
        const st = flowOf(id)
        st.request = place(file, offset)
        rec['request_body'] = await resolveBody(rec['request_body'], id)
        st.hints = hintsOf(rec)
        st.print = lean(printOf(rec['request_body'], st.hints))
        if (typeof rec['url'] === 'string') st.url = rec['url']
        if (typeof rec['status'] === 'number') st.status = rec['status']
        st.started = Date.parse(String(rec['ts'] ?? '')) || 0
        st.headers = servedHeaders(rec['response_headers'])
        if (typeof rec['session_id'] === 'string') st.session = rec['session_id']
      } else if (rec.type === 'client_frame') {
        const st = flowOf(id)
        const data = await frameData(rec, id)
        if (data !== rec['data']) rec['data'] = data
        if (isResponseCreate(data)) {
          const t0 = typeof rec['t_ms'] === 'number' ? rec['t_ms'] : 0
          st.responses.push({ frame: place(file, offset), print: lean(printOf(data, st.hints ?? hintsOf({}))), t0, lines: [], count: 0 })
        }
      } else if (rec.type === 'sse') {
        const st = flowOf(id)
        const ws = rec['transport'] === 'ws' || st.status === 101 || st.responses.length > 0
        const cur = st.responses[st.responses.length - 1]
        if (!ws) {
          append(st.lines, file, offset)
          st.count++
        } else if (cur !== undefined) {
          append(cur.lines, file, offset)
          cur.count++
        }
      } else if (rec.type === 'flow_end') {
        const st = flowOf(id)
        st.end = {
          range: place(file, offset),
          truncated: rec['truncated'] === true,
          ...(typeof rec['outcome'] === 'string' ? { outcome: rec['outcome'] } : {}),
          ...(typeof rec['status'] === 'number' ? { status: rec['status'] } : {}),
          ...(typeof rec['ttfb_ms'] === 'number' ? { ttfb: rec['ttfb_ms'] } : {}),
        }
      }
      ledger.feed(rec, at)
    }
  }
  ledger.end()
  for (const [file, r] of open) {
    try {
      r.end = statSync(file).size
    } catch {
      r.end = r.start
    }
  }

  const exchanges: ReplayExchange[] = []
  const connections: ReplayConnection[] = []
  const sessions: Record<string, number> = {}
  for (const [id, st] of flows) {
    if (st.request === undefined || st.hints === undefined || st.print === undefined) continue
    const { method, client, provider } = st.hints
    const base = { flow_id: id, client, provider, method, path: pathAndQuery(st.url) }
    const sessionOf = (key: string): string => calls.get(key)?.session_id ?? st.session ?? '-'
    const end = st.end
    const outcome = end?.outcome
    const cutFlow = end === undefined || outcome === 'upstream_error' || end.truncated
    if (st.status === 101 || st.responses.length > 0) {
      const conn: ReplayConnection = { flow_id: id, path: base.path, headers: st.headers, keys: [] }
      st.responses.forEach((res, k) => {
        const key = `${id}#${k}`
        const call = calls.get(key)
        const ex: ReplayExchange = {
          ...base, key, index: k, session_id: sessionOf(key), kind: call?.kind ?? res.print.kind, transport: 'ws', print: res.print,
          status: 101, headers: {}, eventCount: res.count, source: { request: st.request as ByteRange, frame: res.frame, lines: res.lines, t0: res.t0 },
          cut: false, order: st.started + res.t0,
        }
        if (end !== undefined) ex.source.end = end.range
        if (call?.prompt !== undefined) ex.prompt = call.prompt
        if (k === st.responses.length - 1 && cutFlow && outcome !== 'aborted') ex.cut = true
        exchanges.push(ex)
        conn.keys.push(key)
      })
      if (conn.keys.length > 0) connections.push(conn)
      continue
    }
    const key = `${id}#0`
    const call = calls.get(key)
    const status = st.status ?? end?.status ?? 502
    const ex: ReplayExchange = {
      ...base, key, index: 0, session_id: sessionOf(key), kind: call?.kind ?? (st.print.kind === 'model' && st.count > 0 ? 'model' : 'aux'),
      transport: st.count > 0 ? 'sse' : 'http', print: st.print, status, headers: st.headers, eventCount: st.count,
      source: { request: st.request, lines: st.lines, t0: 0 }, cut: cutFlow || call?.outcome === 'truncated', order: st.started,
    }
    if (end !== undefined) ex.source.end = end.range
    if (end?.ttfb !== undefined) ex.ttfb = end.ttfb
    if (call?.prompt !== undefined) ex.prompt = call.prompt
    if (st.count === 0 && end === undefined && st.status === undefined) ex.cut = true
    exchanges.push(ex)
  }
  // The index pass's state is no longer needed; the closures below must not keep it alive.
  flows.clear()
  calls.clear()
  ledger.reset()
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
  for (const e of chosen) events += e.eventCount

  const bad = (flow_id: string) => (range: ByteRange, err: Error): void =>
    report(new ReplayError('BAD_LINE', `a line of flow ${flow_id} no longer parses (the capture changed since it was loaded?): ${err.message}`, { file: range.file, offset: range.start, flow_id, cause: err }))
  const recordAt = async (range: ByteRange, flow_id: string): Promise<Record<string, unknown> | undefined> => (await readRecords([range], bad(flow_id)))[0]

  return {
    dir: layout.dir,
    ...(layout.kind === 'file' ? { file: layout.all[0] as string } : {}),
    exchanges: chosen,
    connections: conns,
    sessions,
    events,
    async readEvents(ex) {
      const recs = (await readRecords(ex.source.lines, bad(ex.flow_id))).filter((r) => r['type'] === 'sse' && r['flow_id'] === ex.flow_id)
      recs.sort((a, b) => Number(a['seq'] ?? 0) - Number(b['seq'] ?? 0))
      const ws = ex.transport === 'ws'
      return recs.map((l) => {
        const t = typeof l['t_ms'] === 'number' ? l['t_ms'] : 0
        const ev: ReplayEvent = { t: ws ? Math.max(0, t - ex.source.t0) : t, data: String(l['data'] ?? '') }
        if (!ws && typeof l['event'] === 'string') ev.event = l['event']
        return ev
      })
    },
    async readBody(ex) {
      if (ex.source.end === undefined) return undefined
      const end = await recordAt(ex.source.end, ex.flow_id)
      if (end === undefined) return undefined
      // The body as it went (redacted) from sse_logs/ when the capture kept it, else the record's copy.
      if (typeof end['raw'] === 'string') {
        const raw = await readRef(end['raw'], ex.flow_id)
        if (raw !== undefined) return raw
      }
      const b = end['body']
      if (b === undefined) return undefined
      const ref = refOf(b)
      if (ref !== undefined) return readRef(ref, ex.flow_id)
      return Buffer.from(typeof b === 'string' ? b : JSON.stringify(b), 'utf8')
    },
    async readPrint(ex) {
      const flow = await recordAt(ex.source.request, ex.flow_id)
      if (flow === undefined) return ex.print
      const hints = hintsOf(flow)
      if (ex.source.frame === undefined) return printOf(await resolveBody(flow['request_body'], ex.flow_id), hints)
      const frame = await recordAt(ex.source.frame, ex.flow_id)
      return frame === undefined ? ex.print : printOf(await frameData(frame, ex.flow_id), hints)
    },
  }
}
