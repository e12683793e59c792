import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CAPTURE_FILES } from '@agenttap/jsonl-io'
import { ExtractError } from './errors.js'
import { lit } from './sql.js'
import type { ExtractFilters } from './types.js'

/** Which canonical file a view reads. */
export type SourceKind = 'flows' | 'lines' | 'ends'

/** The capture files found under a log dir (rotated siblings included, oldest first). */
export interface CaptureFiles {
  /** The directory that holds the files (`<root>/all-mitm-sse` or the dir itself). */
  dir: string
  flows: string[]
  lines: string[]
  ends: string[]
  /** Total bytes of all files. */
  bytes: number
}

const BASE: Record<SourceKind, string> = { flows: CAPTURE_FILES.flows, lines: CAPTURE_FILES.lines, ends: CAPTURE_FILES.flowEnds }

/**
 * Finds the capture files of a log root (`<root>/all-mitm-sse/…`) or of a capture dir. Rotated
 * files (`sse_lines.jsonl.1`, `sse_lines.1.jsonl`) are read too.
 * @throws ExtractError `LOG_DIR_MISSING` when the dir does not exist, `NO_CAPTURES` when it holds no capture file.
 */
export function findCaptureFiles(logDir: string): CaptureFiles {
  const root = resolve(logDir)
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ExtractError('LOG_DIR_MISSING', `log dir ${root} does not exist; pass --log-dir <dir> (the proxy's log root, default ~/centralized-logs) or set AGENTTAP_LOG_DIR`)
  }
  const sub = join(root, 'all-mitm-sse')
  const dir = existsSync(join(sub)) && statSync(sub).isDirectory() ? sub : root
  const names = readdirSync(dir)
  const out: CaptureFiles = { dir, flows: [], lines: [], ends: [], bytes: 0 }
  for (const kind of ['flows', 'lines', 'ends'] as const) {
    const base = BASE[kind]
    const stem = base.replace(/\.jsonl$/, '')
    const rotated = names
      .map((n) => {
        const m = new RegExp(`^${stem}(?:\\.jsonl\\.(\\d+)|\\.(\\d+)\\.jsonl)$`).exec(n)
        return m ? { n, k: Number(m[1] ?? m[2]) } : undefined
      })
      .filter((x): x is { n: string; k: number } => x !== undefined)
      .sort((a, b) => b.k - a.k) // .3 is older than .1
      .map((x) => join(dir, x.n))
    const files = [...rotated, ...(names.includes(base) ? [join(dir, base)] : [])].filter((f) => statSync(f).isFile())
    for (const f of files) out.bytes += statSync(f).size
    out[kind] = files
  }
  if (out.flows.length + out.lines.length + out.ends.length === 0) {
    throw new ExtractError('NO_CAPTURES', `no capture files in ${dir}: expected ${CAPTURE_FILES.flows}, ${CAPTURE_FILES.lines} or ${CAPTURE_FILES.flowEnds} (is the proxy writing to another --log-dir?)`)
  }
  if (out.bytes === 0) throw new ExtractError('NO_CAPTURES', `the capture files in ${dir} are empty: nothing was captured yet`)
  return out
}

/** Columns read from each file: explicit, so DuckDB skips schema detection and unknown fields cost nothing. */
export const COLUMNS: Record<SourceKind, Record<string, string>> = {
  flows: { type: 'VARCHAR', ts: 'VARCHAR', flow_id: 'VARCHAR', session_id: 'VARCHAR', flow_seq: 'BIGINT', client: 'VARCHAR', provider: 'VARCHAR',
    session_source: 'VARCHAR', method: 'VARCHAR', url: 'VARCHAR', status: 'BIGINT', request_headers: 'JSON', response_headers: 'JSON', request_body: 'JSON' },
  lines: { type: 'VARCHAR', ts: 'VARCHAR', flow_id: 'VARCHAR', session_id: 'VARCHAR', seq: 'BIGINT', t_ms: 'DOUBLE', event: 'VARCHAR', data: 'VARCHAR', transport: 'VARCHAR' },
  ends: { type: 'VARCHAR', ts: 'VARCHAR', flow_id: 'VARCHAR', session_id: 'VARCHAR', outcome: 'VARCHAR', status: 'BIGINT', events: 'BIGINT', bytes: 'BIGINT',
    ttfb_ms: 'DOUBLE', duration_ms: 'DOUBLE', error: 'JSON' },
}

const TYPE_OF: Record<SourceKind, string> = { flows: 'flow', lines: 'sse', ends: 'flow_end' }

/** `read_ndjson(…)` over files; malformed lines come back as all-NULL rows (no `type`), which the views drop and `countMalformed` counts. */
export function readSql(kind: SourceKind, files: string[], maxObjectBytes: number): string {
  const cols = Object.entries(COLUMNS[kind])
  if (files.length === 0) return `(select ${cols.map(([k, t]) => `null::${t} as ${k}`).join(', ')} where false)`
  const spec = cols.map(([k, t]) => `${lit(k)}: ${lit(t)}`).join(', ')
  return `read_ndjson([${files.map(lit).join(', ')}], columns = {${spec}}, ignore_errors = true, maximum_object_size = ${maxObjectBytes}, format = 'newline_delimited')`
}

/** Normalizes a `--since` / `--until` value to the ISO form `ts` uses, so string compare is time order. */
export function isoInstant(value: string, flag: string): string {
  const rel = /^(\d+)\s*(s|m|h|d|w)$/.exec(value.trim())
  if (rel) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[rel[2] as 's' | 'm' | 'h' | 'd' | 'w']
    return new Date(Date.now() - Number(rel[1]) * unit).toISOString()
  }
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new ExtractError('BAD_FILTER', `${flag} ${JSON.stringify(value)} is not a date; expected ISO-8601 (2026-01-31, 2026-01-31T10:00:00Z) or a relative age (30m, 2h, 7d)`)
  return new Date(t).toISOString()
}

/**
 * The three filtered views every mode reads. A flow is in when its `flow` record matches the
 * filters; lines and flow ends follow their flow (so a flow is never cut in half by --since).
 */
export function viewSql(
  files: { flows: string[]; lines: string[]; ends: string[] },
  filters: ExtractFilters,
  maxObjectBytes: number,
  refs: RefBody[] = [],
  linesFrom?: string,
): string[] {
  const conds: string[] = []
  if (filters.since !== undefined) conds.push(`ts >= ${lit(isoInstant(filters.since, '--since'))}`)
  if (filters.until !== undefined) conds.push(`ts < ${lit(isoInstant(filters.until, '--until'))}`)
  if (filters.session !== undefined) conds.push(`session_id = ${lit(filters.session)}`)
  if (filters.client !== undefined) conds.push(`client = ${lit(filters.client)}`)
  const filtered = conds.length > 0
  const v = (kind: SourceKind): string => {
    const base = `select * from ${readSql(kind, files[kind], maxObjectBytes)} where type = ${lit(TYPE_OF[kind])}`
    if (kind === 'flows') return `create or replace temp view flows as ${base}${filtered ? ` and ${conds.join(' and ')}` : ''}`
    // linesFrom: only the SSE lines / ends of flows that started at or after it (used to answer
    // "latest N turns" without rebuilding every older flow).
    const from = linesFrom === undefined ? undefined : `flow_id in (select flow_id from flows where ts >= ${lit(linesFrom)})`
    const cond = from ?? (filtered ? `flow_id in (select flow_id from flows)` : undefined)
    return `create or replace temp view ${kind} as ${base}${cond ? ` and ${cond}` : ''}`
  }
  const inline = `select ts, flow_id, session_id, client, provider, request_body as b from flows where json_type(request_body) = 'OBJECT'`
  let bodies = `create or replace temp view bodies as ${inline}`
  if (refs.length > 0) {
    // Bodies over the proxy's inline limit live in sse_logs/ as `{"$ref": …}`: read those files
    // and put them in place of the pointer.
    const map = refs.map((r) => `(${lit(r.path)}, ${lit(r.flow_id)})`).join(', ')
    const objs = `read_json_objects([${refs.map((r) => lit(r.path)).join(', ')}], format = 'auto', filename = true, ignore_errors = true, maximum_object_size = ${maxObjectBytes})`
    bodies = `create or replace temp view bodies as ${inline} and flow_id not in (select flow_id from (values ${map}) m(path, flow_id))
      union all select f.ts, f.flow_id, f.session_id, f.client, f.provider, o.json as b
      from flows f join (values ${map}) m(path, flow_id) using (flow_id) join ${objs} o on o.filename = m.path where json_type(o.json) = 'OBJECT'`
  }
  return [v('flows'), v('lines'), v('ends'), bodies]
}

/** A request body stored out of line (`request_body: {"$ref": "sse_logs/…"}`). */
export interface RefBody {
  flow_id: string
  /** Absolute path of the body file. */
  path: string
}

/** SQL listing the `$ref` request bodies of flows files; reads only that one field of each body. */
export function refsSql(flowFiles: string[], maxObjectBytes: number): string {
  return `select flow_id, request_body."$ref" as ref from read_ndjson([${flowFiles.map(lit).join(', ')}],
    columns = {'type': 'VARCHAR', 'flow_id': 'VARCHAR', 'request_body': 'STRUCT("$ref" VARCHAR)'}, ignore_errors = true,
    maximum_object_size = ${maxObjectBytes}, format = 'newline_delimited') where type = 'flow' and request_body."$ref" is not null`
}
