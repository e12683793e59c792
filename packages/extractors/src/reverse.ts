import { readLast, readRawRef } from '@agenttap/jsonl-io'
import type { RequestAnatomy } from '@agenttap/session-extractor'
import { cmpVal } from './facts-columns.js'
import { isoInstant } from './sources.js'
import type { ExtractFilters, Row } from './types.js'

/**
 * "The latest N prompts" without the index: the flows file read backwards (jsonl-io
 * `readLast`), so the cost follows how far back the prompts are, not the capture size, and a
 * first run on a large capture answers at once. Each request is read by session-extractor's
 * request anatomy, the rule the ledger uses (the new prompt, auxiliary requests left out).
 * WebSocket flows carry later prompts in their client frames: those are looked for in the last
 * `clientFrameScanBytes` (8 MiB) of the lines file — a connection's recent prompts sit near the
 * end of the file; an older one, with a lot of other traffic since, is found by the index.
 *
 * Where it can differ from the index: a request with no session id of its own (an SDK script)
 * shows the proxy's per-request session id; the index chains such requests by history.
 */

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const headersOf = (rec: Obj): Record<string, string | string[]> | undefined =>
  isObj(rec.request_headers) ? (rec.request_headers as Record<string, string | string[]>) : undefined

type SessionExtractor = typeof import('@agenttap/session-extractor')
/** session-extractor, loaded on first use: the index path of the CLI never needs it. */
let se: SessionExtractor | undefined
const loadSe = async (): Promise<SessionExtractor> => (se ??= await import('@agenttap/session-extractor'))

/** The request anatomy of a flow record, or undefined when it is not one. */
function anatomyOf(rec: Obj): RequestAnatomy | undefined {
  const { analyzeRequest } = se!
  if (rec.type !== 'flow' || rec.request_body === undefined) return undefined
  const headers = headersOf(rec)
  try {
    return analyzeRequest({
      body: rec.request_body,
      ...(typeof rec.url === 'string' ? { url: rec.url } : {}),
      ...(headers ? { headers } : {}),
      ...(typeof rec.client === 'string' ? { client: rec.client } : {}),
      ...(typeof rec.provider === 'string' ? { provider: rec.provider } : {}),
    })
  } catch {
    return undefined
  }
}

/**
 * The prompt found in each flow record (null: none), kept per record: the scan's filter reads
 * every record it meets, and the records it keeps are read again once the window is known.
 */
const promptsSeen = new WeakMap<Obj, { text: string; n: number } | null>()

/** The new user prompt of a flow record (as the ledger finds it), with the history length retries share. */
function promptOfFlow(rec: unknown): { text: string; n: number } | undefined {
  if (!isObj(rec)) return undefined
  const seen = promptsSeen.get(rec)
  if (seen !== undefined) return seen ?? undefined
  const a = anatomyOf(rec)
  const p = a === undefined || a.kind === 'aux' || a.prompt === undefined || a.prompt === '' ? undefined : { text: a.prompt, n: a.message_count }
  promptsSeen.set(rec, p ?? null)
  return p
}

const refOf = (rec: Obj): string | undefined => (isObj(rec.request_body) && typeof rec.request_body.$ref === 'string' ? rec.request_body.$ref : undefined)

/**
 * Replaces a `{"$ref": "sse_logs/…"}` request body by the body it points to. jsonl-io's
 * `readRawRef` refuses refs outside the capture dir (`../all-mitm-sse-evil/x.json`).
 */
async function inlineRef(rec: Obj, captureDir: string | undefined): Promise<void> {
  const ref = refOf(rec)
  if (captureDir === undefined || ref === undefined) return
  try {
    rec.request_body = JSON.parse((await readRawRef(captureDir, ref)).toString('utf8')) as unknown
    promptsSeen.delete(rec) // read again, from the body itself
  } catch {
    // outside the capture, missing or unreadable: the flow simply has no readable prompt
  }
}

/** Options of {@link latestPrompts} beyond the filters. */
export interface LatestPromptsOptions {
  /** Lines files to look for WebSocket client frames in (newest last). */
  lineFiles?: string[]
  /** How far back (bytes) the lines file is searched for client frames. @defaultValue 8 MiB */
  clientFrameScanBytes?: number
  onError?: (e: Error) => void
}

interface Found {
  row: Row
  key: string
}

/**
 * The latest `limit` user prompts, read backwards from the end of the flows files (and client
 * frames from the end of the lines file). Retries (same session, history length and text)
 * collapse into the earliest copy seen.
 */
export async function latestPrompts(flowFiles: string[], limit: number, filters: ExtractFilters, captureDir?: string, options: LatestPromptsOptions = {}): Promise<Row[]> {
  await loadSe()
  const since = filters.since === undefined ? undefined : isoInstant(filters.since, '--since')
  const until = filters.until === undefined ? undefined : isoInstant(filters.until, '--until')
  const inFilters = (v: Obj, client = true): boolean => {
    const ts = typeof v.ts === 'string' ? v.ts : ''
    if (since !== undefined && ts < since) return false
    if (until !== undefined && ts >= until) return false
    if (filters.session !== undefined && v.session_id !== filters.session) return false
    if (client && filters.client !== undefined && v.client !== filters.client) return false
    return true
  }
  const keep = (v: unknown): boolean => {
    if (!isObj(v) || v.type !== 'flow' || !inFilters(v)) return false
    // A body kept out of line is read (asynchronously) once the window is known.
    return promptOfFlow(v) !== undefined || (captureDir !== undefined && refOf(v) !== undefined)
  }
  const onError = options.onError ? { onError: options.onError } : {}

  // Client frames of WebSocket flows (Codex): the prompts after a connection's first request.
  const frames: Found[] = []
  const frameRows = new Set<Row>()
  const lineFiles = options.lineFiles ?? []
  const last = lineFiles[lineFiles.length - 1]
  if (last !== undefined) {
    const recs = await readLast(last, limit + 4, (v) => isObj(v) && v.type === 'client_frame' && inFilters(v, false) && framePrompt(v) !== undefined,
      { contains: '"client_frame"', maxScanBytes: options.clientFrameScanBytes ?? 8 * 1024 * 1024, ...onError })
    // A frame's client is its connection's: the flow record, found backwards from the end.
    const clients = new Map<string, string | null>()
    for (const id of new Set((recs as Obj[]).map((r) => String(r.flow_id)))) {
      let client: string | null = null
      for (let i = flowFiles.length - 1; i >= 0 && client === null; i--) {
        const [f] = await readLast(flowFiles[i]!, 1, (v) => isObj(v) && v.type === 'flow' && v.flow_id === id, { contains: JSON.stringify(id), maxScanBytes: 256 * 1024 * 1024, ...onError })
        if (isObj(f) && typeof f.client === 'string') client = f.client
      }
      clients.set(id, client)
    }
    for (const r of recs as Obj[]) {
      const p = framePrompt(r)!
      const client = clients.get(String(r.flow_id)) ?? null
      if (filters.client !== undefined && client !== filters.client) continue
      const row: Row = { ts: String(r.ts), session_id: String(r.session_id), flow_id: String(r.flow_id), client, text: p.text }
      frameRows.add(row)
      frames.push({ row, key: JSON.stringify([r.session_id, p.n, p.text]) })
    }
  }

  // Retries collapse, so ask for a few more than needed and grow until limit + 1 distinct prompts
  // (the +1 makes sure the oldest kept prompt's first copy is inside the window).
  let want = limit + 4
  for (;;) {
    const recs: unknown[] = []
    for (let i = flowFiles.length - 1; i >= 0 && recs.length < want; i--) {
      const got = await readLast(flowFiles[i]!, want - recs.length, keep, { contains: '"flow"', ...onError })
      recs.unshift(...got)
    }
    const groups = new Map<string, Row>()
    const add = (f: Found): void => {
      const prev = groups.get(f.key)
      // A WebSocket flow's first request is both its flow record's body and its first client
      // frame: the frame (the ledger's request of that call) wins over its own flow record.
      if (prev !== undefined && prev.flow_id === f.row.flow_id && frameRows.has(prev)) return
      if (!prev || String(f.row.ts) < String(prev.ts) || (prev.flow_id === f.row.flow_id && frameRows.has(f.row))) groups.set(f.key, f.row)
    }
    for (const f of frames) add(f)
    for (const r of recs as Obj[]) {
      await inlineRef(r, captureDir)
      const p = promptOfFlow(r)
      if (p === undefined) continue
      add({ row: { ts: String(r.ts), session_id: String(r.session_id), flow_id: String(r.flow_id), client: typeof r.client === 'string' ? r.client : null, text: p.text }, key: JSON.stringify([r.session_id, p.n, p.text]) })
    }
    // The index's order (`order by ts, flow_id`: strings by their bytes), not the locale's
    // collation, which also costs ~10 ms to set up on its first use in a process.
    const rows = [...groups.values()].sort((a, b) => cmpVal(String(a.ts), String(b.ts)) || cmpVal(String(a.flow_id), String(b.flow_id)))
    if (rows.length > limit || recs.length < want) return rows.slice(Math.max(0, rows.length - limit))
    want *= 2
  }
}

/** The prompt of a client frame (a WebSocket `response.create`), as the ledger reads it. */
function framePrompt(rec: Obj): { text: string; n: number } | undefined {
  let a: RequestAnatomy | undefined
  try {
    a = se!.analyzeClientFrame(rec.data)
  } catch {
    return undefined
  }
  if (a === undefined || a.kind === 'aux' || a.prompt === undefined || a.prompt === '') return undefined
  return { text: a.prompt, n: a.message_count }
}
