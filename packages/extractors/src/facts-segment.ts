import { readFileSync } from 'node:fs'
// node:zlib for its crc32, loaded when facts are written.
const crc32 = (b: Buffer): number => process.getBuiltinModule('node:zlib').crc32(b)
import type { Duck } from './duck.js'
import { lit } from './duck.js'
import { factsRows, ordered } from './facts-answers.js'
import { Text, cmpVal, decode, encode } from './facts-columns.js'
import type { ColType, EncodeCol, Part, Value } from './facts-columns.js'
import { factsNdjson } from './facts-output.js'
import { frame } from './frames.js'
import { BUNDLED_PRICES } from './prices.js'
import { stringDict } from './string-dict.js'
import { keyHash } from './transcript-usage-table.js'
import { pricesFingerprint } from './transcript-usage-daily.js'
import type { Row } from './types.js'
import type { WireFacts } from './wire-facts.js'

/**
 * One segment of the wire facts (wire-facts.ts) from rows: the framed header, then the sections
 * of the calls, flows and tool calls (facts-columns.ts) and the NDJSON lines of `usage`,
 * `tool_calls` and `cost` — from the index's tables after an update, or from an update's row
 * files (wire-append.ts).
 */

/** The problem summary of the index as of the segment (`problems()` of the extractor, first 5). */
export interface FactsProblems {
  byCode: Record<string, number>
  first: { code: string; file: string | null; line: number | null; offset: number | null; flow_id: string | null; message: string }[]
}

export interface Header {
  stamp: string
  /** The stamp of the state this segment applies on ('' for the first). */
  prev: string
  drop: string[]
  problems: FactsProblems
  /** Byte length and CRC-32 of each section (calls, flows, tool calls, and the NDJSON lines of `usage`, `tool_calls`, `cost` and `sessions` with the bundled prices). */
  sections: [number, number][]
}

export const SECTIONS = ['calls', 'flows', 'tools', 'usageLines', 'toolLines', 'costLines', 'sessionLines'] as const
/** The sections made from rows (the line sections are made from the calls and tool calls). */
export type RowSection = 'calls' | 'flows' | 'tools'
export type Section = (typeof SECTIONS)[number]

/** The magic of a segment's header frame. */
export const MAGIC = 'AWF3'

/** The columns each section is made from: read from the index's tables, or from an update's row files. */
const RAW = {
  calls: ['started_at', 'flow_id', 'idx', 'session_id', 'model', 'req_model', 'has_usage', 'input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens',
    'output_tokens', 'reasoning_tokens', 'prompt', 'message_count', 'source', 'key', 'outcome', 'pending', 'error_type', 'error_message', 'http_status', 'kind'],
  flows: ['flow_id', 'session_id', 'client', 'started_at', 'ended_at', 'calls', 'outcome', 'pending', 'kind'],
  tools: ['call_key', 'flow_id', 'idx', 'position', 'call_id', 'name', 'kind', 'arguments', 'complete'],
}

/** The rows of each section from the index's tables, in the tables' order (the order a one-thread scan sums them in). */
const SELECT: Record<RowSection, (where: string) => string> = {
  calls: (where) => `select ${RAW.calls.join(', ')} from calls where kind <> 'aux'${where} order by rowid`,
  flows: (where) => `select ${RAW.flows.join(', ')} from flows where kind <> 'aux'${where} order by rowid`,
  tools: (where) => `select ${RAW.tools.map((c) => `t.${c}`).join(', ')}, c.started_at as c_ts, c.session_id as c_session
    from tool_calls t join (select key, started_at, session_id from calls where kind <> 'aux'${where}) c on t.call_key = c.key
    where true${where.replace('flow_id', 't.flow_id')} order by t.rowid`,
}

/** A model call or flow of the views (`kind <> 'aux'`: a NULL kind is out too). */
const inView = (r: Row): boolean => r.kind !== null && r.kind !== undefined && r.kind !== 'aux'
/** The views' outcome: a call or flow still open when the index gave up waiting is truncated. */
const outcomeOf = (r: Row): unknown => (r.pending === false && r.outcome === 'open' ? 'truncated' : r.outcome)
const nil = (v: unknown): boolean => v === null || v === undefined
/** `ERRORS`' test of a call. */
const callErr = (r: Row): boolean => {
  const o = outcomeOf(r)
  return (!nil(o) && o !== 'completed' && o !== 'open') || !nil(r.error_type) || !nil(r.error_message) || (!nil(r.http_status) && Number(r.http_status) >= 400)
}
/** `PROMPTS`' group of a call (session aside): its message count and text (and key, for a transcript call), as a 52-bit hash; null without a prompt. */
const promptGroup = (r: Row): number | null => {
  if (nil(r.prompt) || r.prompt === '') return null
  const [a, b] = keyHash(`${nil(r.message_count) ? '~' : String(r.message_count)}:${r.source === 'claude-transcript' || r.source === 'codex-rollout' ? String(r.key) : ''}:${String(r.prompt)}`)
  return a * 1048576 + (b >>> 12)
}

type Col = { name: string; type: ColType; get: (i: number) => string | number | null }

/**
 * A section's bytes from its raw rows (in the table's order, the views' rows only): the calls
 * and tool calls sorted in their mode's order with their rank in the table's order (`seq`), the
 * flows in the table's order.
 */
function section(s: RowSection, all: Row[]): Buffer {
  const seqOf = new Map<Row, number>()
  all.forEach((r, i) => seqOf.set(r, i))
  const rows = s === 'flows' ? all : sortRows(all, s === 'calls' ? ['started_at', 'flow_id', 'idx'] : ['c_ts', 'flow_id', 'idx', 'position'])
  const { dict, id: idOf } = stringDict()
  const id = (v: unknown): number => (nil(v) ? -1 : idOf(String(v)))
  const num = (v: unknown): number | null => (nil(v) ? null : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v))
  const col = (name: string, type: ColType, from: string | ((r: Row) => unknown) = name): Col => {
    const f = typeof from === 'string' ? (r: Row) => r[from] : from
    return { name, type, get: type === 'text' ? (i) => (nil(f(rows[i]!)) ? null : String(f(rows[i]!))) : (i) => num(f(rows[i]!)) }
  }
  const dictCol = (name: string, from: string | ((r: Row) => unknown)): Col => {
    const f = typeof from === 'string' ? (r: Row) => r[from] : from
    return { name, type: 'i32', get: (i) => id(f(rows[i]!)) }
  }
  const cols: Col[] = s === 'calls'
    ? [col('ts', 'text', 'started_at'), col('flow', 'text', 'flow_id'), col('idx', 'i32'), dictCol('session', 'session_id'), dictCol('model', 'model'),
        dictCol('priceModel', (r) => (nil(r.model) ? (nil(r.req_model) ? '' : r.req_model) : r.model)),
        col('has', 'u8', 'has_usage'), ...['input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens'].map((c) => col(c, 'f64')),
        col('pk', 'f64', promptGroup), col('err', 'u8', callErr), col('seq', 'i32', (r) => seqOf.get(r)!)]
    : s === 'flows'
      ? [col('flow', 'text', 'flow_id'), dictCol('session', 'session_id'), dictCol('client', 'client'), col('start', 'text', 'started_at'),
          col('last', 'text', (r) => (nil(r.ended_at) ? r.started_at : r.ended_at)),
          col('err', 'u8', (r) => { const o = outcomeOf(r); return Number(r.calls) === 0 && !nil(r.calls) && !nil(o) && o !== 'completed' && o !== 'open' })]
      : [col('ts', 'text', 'c_ts'), dictCol('session', 'c_session'), col('flow', 'text', 'flow_id'), col('call', 'i32', 'idx'), col('position', 'i32'), col('callId', 'text', 'call_id'),
          dictCol('name', 'name'), dictCol('kind', 'kind'), col('args', 'text', 'arguments'), col('complete', 'u8')]
  // The dictionary columns first: the dictionary is complete before it is written.
  for (const c of cols) if (c.type === 'i32') for (let i = 0; i < rows.length; i++) c.get(i)
  return encode(rows.length, dict, cols)
}

/** Rows sorted as DuckDB's ORDER BY of these columns (strings by bytes, nulls last); stable. */
function sortRows(rows: Row[], keys: string[]): Row[] {
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const c = cmpVal((a[k] ?? null) as Value, (b[k] ?? null) as Value)
      if (c !== 0) return c
    }
    return 0
  })
}

const pick = (r: Row, cols: string[]): Row => {
  const o: Row = {}
  for (const c of cols) o[c] = (r[c] ?? null) as Row[string]
  return o
}

/**
 * What the facts keep of a row an update writes (`calls`, `flows`, `tool_calls`): the columns
 * its section is made from (calls and flows of the views only); undefined for any other row. A
 * shard of a build into an empty index keeps these and makes its part of the facts from them
 * ({@link shardSections}), instead of the facts being made from the tables.
 */
export function factsPick(table: string, r: Row): Row | undefined {
  if (table === 'tool_calls') return pick(r, RAW.tools)
  if (table !== 'calls' && table !== 'flows') return undefined
  return inView(r) ? pick(r, RAW[table]) : undefined
}

/** The rows a shard of a build kept with {@link factsPick} (in its table order), or rows parsed from an update's row files. */
export interface PickedRows {
  calls: Row[]
  flows: Row[]
  tool_calls: Row[]
}

/**
 * The rows of the sections from raw rows (in the order the commit inserts them), the views' rows
 * only; tool calls joined to their calls. `open`: the flows the update left open (their calls and
 * flows are `pending`, as the commit marks them; a complete one is not), when the rows are to be
 * what the tables hold after it. `picked`: the rows are {@link factsPick}'s (their columns only):
 * used as they are, `pending` set in place.
 */
function rowsOf(raw: PickedRows, open: ReadonlySet<string> | undefined, picked: boolean): Record<RowSection, Row[]> {
  const pend = (r: Row): Row => {
    if (open !== undefined) r.pending = open.has(String(r.flow_id)) ? true : r.pending === true ? false : (r.pending ?? null)
    return r
  }
  const byKey = new Map<string, Row>()
  for (const c of raw.calls) if (inView(c) && !nil(c.key)) byKey.set(String(c.key), c)
  const tools: Row[] = []
  for (const t of raw.tool_calls) {
    const c = nil(t.call_key) ? undefined : byKey.get(String(t.call_key))
    if (c !== undefined) tools.push({ ...(picked ? t : pick(t, RAW.tools)), c_ts: (c.started_at ?? null) as Row[string], c_session: (c.session_id ?? null) as Row[string] })
  }
  return {
    calls: raw.calls.filter(inView).map((r) => pend(picked ? r : pick(r, RAW.calls))),
    flows: raw.flows.filter(inView).map((r) => pend(picked ? r : pick(r, RAW.flows))),
    tools,
  }
}

/**
 * The raw rows of an update's row files (NDJSON), the views' rows only; tool calls joined to their
 * calls. `open`: the flows the update left open (their rows `pending`, as the commit marks them).
 */
export function rowsOfFiles(files: Partial<Record<string, string>>, open?: ReadonlySet<string>): Record<RowSection, Row[]> {
  const read = (f: string | undefined): Row[] => {
    const out: Row[] = []
    if (f !== undefined) for (const l of readFileSync(f, 'utf8').split('\n')) if (l !== '') out.push(JSON.parse(l) as Row)
    return out
  }
  return rowsOf({ calls: read(files.calls), flows: read(files.flows), tool_calls: read(files.tool_calls) }, open, false)
}

export async function problemsOf(d: Duck): Promise<FactsProblems> {
  const { rows } = await d.select(`select code, count(*) as n from problems group by code order by n desc, code`)
  const first = (await d.select(`select code, file, line, "offset", flow_id, message from problems order by file nulls last, "offset" nulls last, line limit 5`)).rows
  const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
  return {
    byCode: Object.fromEntries(rows.map((r) => [String(r.code), Number(r.n)])),
    first: first.map((r) => ({ code: String(r.code), file: s(r.file), line: n(r.line), offset: n(r.offset), flow_id: s(r.flow_id), message: String(r.message) })),
  }
}

/**
 * The NDJSON line (with its newline) of each row of a calls or tool calls section as `usage` or
 * `tool_calls` writes it (null: a call without usage): written by the same code as an answer
 * from the columns, so an answer can copy them, a segment's lines being in its rows' order.
 */
function linesSection(mode: 'usage' | 'tool_calls' | 'cost', part: Part): Buffer {
  const f: WireFacts = { problems: { byCode: {}, first: [] }, parts: { [mode === 'tool_calls' ? 'tools' : 'calls']: [{ part, alive: undefined }] }, drops: false }
  const a = factsRows(mode, f, BUNDLED_PRICES)!
  const all = ndjsonBytes(a)
  // Where each row's line is in the NDJSON (its r-th line is row ri[r]'s), then the lines' bytes
  // in the rows' order: copied as bytes, not decoded into strings to be encoded again.
  const from = new Int32Array(part.n).fill(-1)
  const to = new Int32Array(part.n)
  const { ri, n } = a.refs!
  for (let r = 0, at = 0; r < n; r++) {
    const nl = all.indexOf(0x0a, at)
    const end = nl === -1 ? all.length : nl + 1
    from[ri[r]!] = at
    to[ri[r]!] = end
    at = end
  }
  const off = new Uint32Array(part.n + 1)
  const nul = new Uint8Array(part.n)
  let bytes = 0
  for (let i = 0; i < part.n; i++) {
    off[i] = bytes
    if (from[i] === -1) nul[i] = 1
    else bytes += to[i]! - from[i]!
  }
  off[part.n] = bytes
  const block = Buffer.allocUnsafe(bytes)
  let plain = true
  // One copy per run of rows whose lines follow each other in the NDJSON (most are in its order).
  for (let i = 0; i < part.n; ) {
    if (from[i] === -1) {
      i++
      continue
    }
    let j = i + 1
    while (j < part.n && from[j] === to[j - 1]) j++
    block.set(all.subarray(from[i]!, to[j - 1]!), off[i]!)
    if (plain && !plainBytes(all, from[i]!, to[j - 1]!)) plain = false
    i = j
  }
  // The lines of `cost` are of the bundled prices: the dictionary names them.
  return encode(part.n, mode === 'cost' ? [pricesFingerprint(BUNDLED_PRICES)] : [], [{ name: 'line', type: 'text', block: { block, off, nul, plain } }])
}

/** The NDJSON of an answer's rows as one buffer (its writer's chunks copied once, into a buffer that grows). */
function ndjsonBytes(a: NonNullable<ReturnType<typeof factsRows>>): Buffer {
  let all = Buffer.allocUnsafe(1 << 16)
  let len = 0
  factsNdjson({ ...a, lines: undefined }, (b) => {
    if (len + b.length > all.length) {
      const more = Buffer.allocUnsafe(Math.max(2 * all.length, len + b.length))
      all.copy(more, 0, 0, len)
      all = more
    }
    all.set(b, len)
    len += b.length
  })
  return all.subarray(0, len)
}

/**
 * Whether UTF-8 bytes are text that needs no escaping in JSON (`PLAIN` of their string): no
 * quote, backslash or control character, and no character outside the BMP (a surrogate pair in
 * the string; a lone surrogate was written as U+FFFD, which is plain).
 */
function plainBytes(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0xf0) return false
  }
  return true
}

/**
 * The NDJSON lines of `sessions` (bundled prices) of a segment's own calls and flows: the answer
 * when that segment holds every row (facts-answers.ts). Its dictionary: the prices' fingerprint
 * ('' when the facts cannot tell the rows: a tie of clients) and how many calls and flows the
 * segment has (a later segment with none leaves the first one's answer whole).
 */
function sessionLinesSection(calls: Part, flows: Part): Buffer {
  const f: WireFacts = { problems: { byCode: {}, first: [] }, parts: { calls: [{ part: calls, alive: undefined }], flows: [{ part: flows, alive: undefined }] }, drops: false }
  const a = factsRows('sessions', f, BUNDLED_PRICES)
  const lines: string[] = []
  if (a !== undefined) {
    const chunks: Buffer[] = []
    factsNdjson(a, (b) => void chunks.push(Buffer.copyBytesFrom(b)))
    const text = Buffer.concat(chunks).toString('utf8')
    for (let from = 0; from < text.length; ) {
      const at = text.indexOf('\n', from)
      lines.push(text.slice(from, at + 1))
      from = at + 1
    }
  }
  return encode(lines.length, [a === undefined ? '' : pricesFingerprint(BUNDLED_PRICES), String(calls.n + flows.n)], [{ name: 'line', type: 'text', get: (i) => lines[i]! }])
}

/** The dictionary columns of the row sections (`dictCol` in {@link section}); their other i32 columns are numbers. */
const DICT_COLUMNS = new Set(['session', 'model', 'priceModel', 'client', 'name', 'kind'])
/** The sort keys of the calls and tool calls sections, as their columns are named (the flows section is in the table's order). */
const SORT_KEYS: Partial<Record<RowSection, string[]>> = { calls: ['ts', 'flow', 'idx'], tools: ['ts', 'flow', 'call', 'position'] }

/**
 * The row sections of every segment merged into one, the bytes {@link section} makes of the rows
 * they describe: the rows later segments dropped left out, the calls and tool calls merged in
 * their mode's order (ties in the table's order: segment by segment, each in its own table
 * order), the flows in the table's order, each dictionary made anew in the order `section` makes
 * it, the calls' rank in the table (`seq`) counted again over the rows kept.
 */
function mergedSection(s: RowSection, parts: { part: Part; alive: Uint8Array | undefined }[]): Buffer {
  return mergedRows(s, parts, mergeOrder(s, parts))
}

/** Where the j-th row of a merged section comes from: part `pi[j]`, its row `ri[j]`. */
interface MergeOrder {
  pi: ArrayLike<number>
  ri: ArrayLike<number>
  n: number
}

/** The rows of the parts of a row section in merged order ({@link mergedSection}). */
function mergeOrder(s: RowSection, parts: { part: Part; alive: Uint8Array | undefined }[]): MergeOrder {
  const keys = SORT_KEYS[s]
  if (keys !== undefined) return ordered(parts, keys)
  const p: number[] = []
  const r: number[] = []
  parts.forEach((x, k) => {
    for (let i = 0; i < x.part.n; i++) if (x.alive === undefined || x.alive[i] === 1) (p.push(k), r.push(i))
  })
  return { pi: p, ri: r, n: p.length }
}

/** {@link mergedSection} in a given order. */
function mergedRows(s: RowSection, parts: { part: Part; alive: Uint8Array | undefined }[], order: MergeOrder): Buffer {
  const { pi, ri, n } = order
  // The calls' rank in the table: segment by segment, each segment's kept rows by their own rank.
  let seq: Int32Array[] | undefined
  if (s === 'calls') {
    seq = parts.map((x) => new Int32Array(x.part.n))
    let rank = 0
    parts.forEach((x, k) => {
      const own = x.part.cols.seq as Int32Array
      const bySeq = new Int32Array(x.part.n)
      for (let i = 0; i < x.part.n; i++) bySeq[own[i]!] = i
      for (let q = 0; q < x.part.n; q++) {
        const i = bySeq[q]!
        if (x.alive === undefined || x.alive[i] === 1) seq![k]![i] = rank++
      }
    })
  }
  const first = parts[0]!.part
  const { dict, id } = stringDict()
  const cols: EncodeCol[] = Object.entries(first.cols).map(([name, c]) => {
    const col = (k: number) => parts[k]!.part.cols[name]!
    if (c instanceof Text) return { name, type: 'text' as const, get: (j: number) => (col(pi[j]!) as Text).get(ri[j]!) }
    if (name === 'seq' && seq !== undefined) return { name, type: 'i32' as const, get: (j: number) => seq![pi[j]!]![ri[j]!]! }
    if (DICT_COLUMNS.has(name)) {
      return { name, type: 'i32' as const, get: (j: number) => {
        const v = (col(pi[j]!) as Int32Array)[ri[j]!]!
        return v === -1 ? -1 : id(parts[pi[j]!]!.part.dict[v]!)
      } }
    }
    const type: ColType = c instanceof Float64Array ? 'f64' : c instanceof Int32Array ? 'i32' : 'u8'
    return { name, type, get: (j: number) => (col(pi[j]!) as Float64Array | Int32Array | Uint8Array)[ri[j]!]! }
  })
  // The dictionary columns first, as section() reads them: the dictionary is complete before it is written.
  for (const c of cols) if (c.type === 'i32' && DICT_COLUMNS.has(c.name) && 'get' in c) for (let j = 0; j < n; j++) c.get(j)
  return encode(n, dict, cols)
}

/**
 * The sections of one segment holding every row of the facts `f` (every section read): what a
 * segment written whole from the index's tables holds, made from the segments instead of
 * DuckDB (wire-facts.ts `compactWireFacts`). Undefined when a segment lacks a section (an older file).
 */
export function compactSections(f: WireFacts): Buffer[] | undefined {
  const rowParts = (['calls', 'flows', 'tools'] as const).map((s) => f.parts[s])
  if (rowParts.some((p) => p === undefined || p.length === 0)) return undefined
  const made = (['calls', 'flows', 'tools'] as const).map((s, k) => mergedSection(s, rowParts[k]!))
  const calls = decode(made[0]!)
  return [...made, linesSection('usage', calls), linesSection('tool_calls', decode(made[2]!)), linesSection('cost', calls), sessionLinesSection(calls, decode(made[1]!))]
}

/** The sections of a segment (everything but its header) from its rows: pure, so a worker thread can make them. */
export function sectionsOf(rows: Record<RowSection, Row[]>): Buffer[] {
  const made = (['calls', 'flows', 'tools'] as const).map((s) => section(s, rows[s]))
  const calls = decode(made[0]!)
  return [...made, linesSection('usage', calls), linesSection('tool_calls', decode(made[2]!)), linesSection('cost', calls), sessionLinesSection(calls, decode(made[1]!))]
}

/**
 * A shard's part of the facts of a build into an empty index: the sections of the rows it kept
 * ({@link factsPick}, in its table order) but the session lines, which sum over every shard's
 * rows ({@link mergeShardSections} makes them). `open`: the shard's flows left open. Each shard
 * makes its part on its own thread at the end of its read: the main thread only merges them,
 * while DuckDB loads the rows.
 */
export function shardSections(rows: PickedRows, open: ReadonlySet<string>): Buffer[] {
  const r = rowsOf(rows, open, true)
  const made = (['calls', 'flows', 'tools'] as const).map((s) => section(s, r[s]))
  const calls = decode(made[0]!)
  return [...made, linesSection('usage', calls), linesSection('tool_calls', decode(made[2]!)), linesSection('cost', calls)]
}

/**
 * The sections of a build's facts from its shards' parts ({@link shardSections}, in the shards'
 * order, which is the order the commit inserts their rows in): the bytes {@link sectionsOf} makes
 * of every shard's rows at once. The calls, flows and tool calls are merged as compacted segments
 * are; the line sections follow their rows (a row's line depends on that row alone) and are
 * copied as bytes; the session lines are made from the merged calls and flows.
 */
export function mergeShardSections(shards: readonly (readonly Uint8Array[])[]): Buffer[] {
  const parts = shards.map((sh) => sh.map((b) => decode(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))))
  const of = (k: number): { part: Part; alive: undefined }[] => parts.map((p) => ({ part: p[k]!, alive: undefined }))
  const callsOrder = mergeOrder('calls', of(0))
  const toolsOrder = mergeOrder('tools', of(2))
  const made = [mergedRows('calls', of(0), callsOrder), mergedRows('flows', of(1), mergeOrder('flows', of(1))), mergedRows('tools', of(2), toolsOrder)]
  const lines = [mergedLines(of(3), callsOrder), mergedLines(of(4), toolsOrder), mergedLines(of(5), callsOrder)]
  return [...made, ...lines, sessionLinesSection(decode(made[0]!), decode(made[1]!))]
}

/** A line section ({@link linesSection}) of merged rows: each row's line copied from its part, in `order`. */
function mergedLines(parts: { part: Part }[], order: MergeOrder): Buffer {
  const { pi, ri, n } = order
  const texts = parts.map((p) => p.part.cols.line as Text)
  const off = new Uint32Array(n + 1)
  const nul = new Uint8Array(n)
  let bytes = 0
  for (let j = 0; j < n; j++) {
    const t = texts[pi[j]!]!
    const i = ri[j]!
    off[j] = bytes
    if (t.nul[i] === 1) nul[j] = 1
    else bytes += t.off[i + 1]! - t.off[i]!
  }
  off[n] = bytes
  const block = Buffer.allocUnsafe(bytes)
  for (let j = 0; j < n; j++) {
    if (nul[j] === 1) continue
    const t = texts[pi[j]!]!
    const i = ri[j]!
    block.set(t.b.subarray(t.off[i]!, t.off[i + 1]!), off[j]!)
  }
  // Every row of every part is kept: the lines are plain when each part's are.
  return encode(n, parts[0]!.part.dict, [{ name: 'line', type: 'text', block: { block, off, nul, plain: texts.every((t) => t.plain) } }])
}

/** One segment's bytes from its sections ({@link sectionsOf}): the framed header, then the sections. */
export function frameSegment(stamp: string, prev: string, drop: string[], problems: FactsProblems, parts: Buffer[]): Buffer {
  return Buffer.concat(segmentPieces(stamp, prev, drop, problems, parts))
}

/** {@link frameSegment}'s bytes as pieces (the framed header, then the sections): for a writer that need not join them. */
export function segmentPieces(stamp: string, prev: string, drop: string[], problems: FactsProblems, parts: Buffer[]): Buffer[] {
  const header: Header = { stamp, prev, drop, problems, sections: parts.map((p) => [p.length, crc32(p)]) }
  return [frame(MAGIC, Buffer.from(JSON.stringify(header), 'utf8')), ...parts]
}

/** One segment's bytes: the framed header, then the sections. */
export function segmentOf(stamp: string, prev: string, drop: string[], problems: FactsProblems, rows: Record<RowSection, Row[]>): Buffer {
  return frameSegment(stamp, prev, drop, problems, sectionsOf(rows))
}

/** A segment from the index's tables: the rows of the flows `flows`, or every row (`problems`: the index's, when known). */
export async function segment(d: Duck, stamp: string, prev: string, drop: string[], flows: string[] | undefined, problems?: FactsProblems): Promise<Buffer> {
  let where = ''
  if (flows !== undefined) {
    await d.run(`create or replace temp table facts_flows as select unnest(${flows.length > 0 ? `[${flows.map(lit).join(', ')}]` : '[]'}::varchar[]) as flow_id`)
    where = ' and flow_id in (select flow_id from facts_flows)'
  }
  const rows = {} as Record<RowSection, Row[]>
  for (const s of ['calls', 'flows', 'tools'] as const) rows[s] = flows !== undefined && flows.length === 0 ? [] : (await d.select(SELECT[s](where))).rows
  return segmentOf(stamp, prev, drop, problems ?? (await problemsOf(d)), rows)
}
