import { readLast, readRawRef } from '@agenttap/jsonl-io'
import { isoInstant } from './sources.js'
import type { ExtractFilters, Row } from './types.js'

const WRAPPER = /^\s*<(system-reminder|environment_context|user_instructions)>/

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Text of a message `content`, the same rule as the SQL (`contentText` in sql.ts). */
function contentText(c: unknown): string {
  if (typeof c === 'string') return WRAPPER.test(c) ? '' : c
  if (!Array.isArray(c)) return ''
  return c
    .filter((b): b is Obj => isObj(b) && (b.type === 'text' || b.type === 'input_text') && !WRAPPER.test(typeof b.text === 'string' ? b.text : ''))
    .map((b) => (typeof b.text === 'string' ? b.text : ''))
    .join('\n')
}

/** The new user prompt a flow record's request carries, with the history length used to collapse retries. */
export function promptOfFlow(rec: unknown): { text: string; n: number } | undefined {
  if (!isObj(rec) || rec.type !== 'flow' || !isObj(rec.request_body)) return undefined
  const b = rec.request_body
  let m: unknown
  let n = 1
  if (typeof b.input === 'string') m = { role: 'user', content: b.input }
  else {
    const list = Array.isArray(b.messages) ? b.messages : Array.isArray(b.input) ? b.input : undefined
    if (!list) return undefined
    m = list[list.length - 1]
    n = list.length
  }
  if (!isObj(m) || m.role !== 'user' || (m.type !== undefined && m.type !== 'message')) return undefined
  // Claude Code's auxiliary requests (quota check, topic / title detection) offer no tools.
  if (rec.client === 'claude-code' && !(Array.isArray(b.tools) && b.tools.length > 0)) return undefined
  const text = contentText(m.content)
  return text === '' ? undefined : { text, n }
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
  } catch {
    // outside the capture, missing or unreadable: the flow simply has no readable prompt
  }
}

/**
 * The latest `limit` user prompts, read backwards from the end of the flows files (jsonl-io
 * `readLast`): the cost grows with how far back the prompts are, not with the log size.
 * Retries (same session, history length and text) collapse into the earliest copy seen.
 */
export async function latestPrompts(flowFiles: string[], limit: number, filters: ExtractFilters, onError?: (e: Error) => void, captureDir?: string): Promise<Row[]> {
  const since = filters.since === undefined ? undefined : isoInstant(filters.since, '--since')
  const until = filters.until === undefined ? undefined : isoInstant(filters.until, '--until')
  const keep = (v: unknown): boolean => {
    if (!isObj(v) || v.type !== 'flow') return false
    const ts = typeof v.ts === 'string' ? v.ts : ''
    if (since !== undefined && ts < since) return false
    if (until !== undefined && ts >= until) return false
    if (filters.session !== undefined && v.session_id !== filters.session) return false
    if (filters.client !== undefined && v.client !== filters.client) return false
    // A body kept out of line is read (asynchronously) once the window is known.
    return promptOfFlow(v) !== undefined || (captureDir !== undefined && refOf(v) !== undefined)
  }
  // Retries collapse, so ask for a few more than needed and grow until limit + 1 distinct prompts
  // (the +1 makes sure the oldest kept prompt's first copy is inside the window).
  let want = limit + 4
  for (;;) {
    const recs: unknown[] = []
    for (let i = flowFiles.length - 1; i >= 0 && recs.length < want; i--) {
      const got = await readLast(flowFiles[i]!, want - recs.length, keep, { contains: '"flow"', ...(onError ? { onError } : {}) })
      recs.unshift(...got)
    }
    const groups = new Map<string, Row>()
    for (const r of recs as Obj[]) {
      await inlineRef(r, captureDir)
      const p = promptOfFlow(r)
      if (p === undefined) continue
      const key = JSON.stringify([r.session_id, p.n, p.text])
      const row: Row = { ts: String(r.ts), session_id: String(r.session_id), flow_id: String(r.flow_id), client: typeof r.client === 'string' ? r.client : null, text: p.text }
      const prev = groups.get(key)
      if (!prev || String(row.ts) < String(prev.ts)) groups.set(key, row)
    }
    const rows = [...groups.values()].sort((a, b) => String(a.ts).localeCompare(String(b.ts)) || String(a.flow_id).localeCompare(String(b.flow_id)))
    if (rows.length > limit || recs.length < want) return rows.slice(Math.max(0, rows.length - limit))
    want *= 2
  }
}
