import { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Duck } from './duck.js'
import { lit } from './duck.js'
import { crc32 } from 'node:zlib'
import { frame, frameAt } from './frames.js'
import { readAt } from './read-at.js'
import { keyHash } from './transcript-usage-table.js'
import type { IndexPaths } from './index-store.js'
import { readState } from './index-store.js'
import { MODES } from './modes.js'
import { BUNDLED_PRICES, cacheWrite1h, priceFor } from './prices.js'
import { pricesFingerprint } from './transcript-usage-daily.js'
import type { ModeName, PriceTable, Row } from './types.js'

/**
 * The **wire facts** of a capture's index (`wire-facts.bin` next to `index.duckdb`): per model
 * call, per flow and per tool call, the facts `usage`, `cost`, `sessions` and `tool_calls` show,
 * so those modes answer a current index without loading DuckDB (its bindings and the open of the
 * index cost more than the rest of such a run). They are written from the index's tables after
 * each update, so the rows are the SQL's (queries.ts); only for the views' default (no row
 * filters, no aux flows, no limit): any other run goes to DuckDB.
 *
 * The file is a sequence of segments, each a framed header (frames.ts: length and checksum) —
 * the state stamp it describes, the stamp it applies on, the flows it drops, the index's problem
 * summary, the length and checksum of each section — followed by its sections: the calls (in
 * the order of `usage`: start, flow, call), the flows (in the table's order) and the tool calls
 * (in the order of `tool_calls`), each as columns (numbers in typed arrays, strings as one text
 * block with offsets, repeated strings as numbers into a dictionary), so an answer copies bytes
 * instead of parsing JSON. The first segment holds every row; an update appends one segment: the
 * flows it fed again (dropped, then added as they are now, as the index deletes and inserts
 * them) and the flows it added. A reader applies the segments in order (merging each one's
 * sorted rows into the rows before) and uses them only when the last one names the stamp
 * `state.json` has: a torn append, a run that died between the index's commit and the append, or
 * an older file makes it ask DuckDB, and the next update writes the file whole (to a temporary
 * name, renamed over it). It is also written whole after a rebuild, a large update, or when the
 * segments have grown past 24, or past a quarter of the file and 1 MiB. Deleting it is always safe.
 */

export const WIRE_FACTS_FILE = 'wire-facts.bin'
const MAGIC = 'AWF3'
/** Rewrite the file whole when the segments have grown past this many, or past this share of it and this size. */
const MAX_SEGMENTS = 24
const MAX_SEGMENT_SHARE = 0.25
const MIN_COMPACT_BYTES = 1 << 20

/** The modes the facts answer. */
export const FACTS_MODES: readonly ModeName[] = ['usage', 'cost', 'sessions', 'tool_calls']

/** The problem summary of the index as of the segment (`problems()` of the extractor, first 5). */
export interface FactsProblems {
  byCode: Record<string, number>
  first: { code: string; file: string | null; line: number | null; offset: number | null; flow_id: string | null; message: string }[]
}

interface Header {
  stamp: string
  /** The stamp of the state this segment applies on ('' for the first). */
  prev: string
  drop: string[]
  problems: FactsProblems
  /** Byte length and CRC-32 of each section (calls, flows, tool calls, and the NDJSON lines of `usage`, `tool_calls` and `cost` with the bundled prices). */
  sections: [number, number][]
}

const SECTIONS = ['calls', 'flows', 'tools', 'usageLines', 'toolLines', 'costLines'] as const
/** The sections made from rows (the line sections are made from the calls and tool calls). */
type RowSection = 'calls' | 'flows' | 'tools'
export type Section = (typeof SECTIONS)[number]

// ---------------------------------------------------------------------------------------------
// Columns on disk.

type ColType = 'text' | 'i32' | 'f64' | 'u8'
/** An i32 column's null (dictionary columns use -1). */
const NULL_I32 = -2147483648

interface ColHead {
  name: string
  type: ColType
  /** text: bytes of the block; whether no value needs escaping in JSON. */
  bytes?: number
  plain?: boolean
}

/** A text column: the values' UTF-8 back to back, their offsets, and which are null. */
export class Text {
  private list: (string | null)[] | undefined
  constructor(readonly b: Buffer, readonly off: Uint32Array, readonly nul: Uint8Array, readonly plain: boolean) {}
  get(i: number): string | null {
    if (this.list !== undefined) return this.list[i]!
    return this.nul[i] === 1 ? null : this.b.toString('utf8', this.off[i]!, this.off[i + 1]!)
  }
  /** Every value (one decode of the block, cut at the offsets). */
  all(): (string | null)[] {
    if (this.list !== undefined) return this.list
    const n = this.nul.length
    const text = this.b.toString('utf8', 0, this.off[n]!)
    const ascii = text.length === this.off[n]!
    const out = new Array<string | null>(n)
    for (let i = 0; i < n; i++) out[i] = this.nul[i] === 1 ? null : ascii ? text.slice(this.off[i]!, this.off[i + 1]!) : this.b.toString('utf8', this.off[i]!, this.off[i + 1]!)
    return (this.list = out)
  }
}

/** One section of one segment, decoded (typed arrays copied out of the file's bytes). */
interface Part {
  n: number
  dict: string[]
  cols: Record<string, Text | Int32Array | Float64Array | Uint8Array>
}

const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/
const pad8 = (n: number): number => (n + 7) & ~7

/** A section's bytes from rows: `cols` in order, each value read by `get`. */
function encode(n: number, dict: string[], cols: { name: string; type: ColType; get: (i: number) => string | number | null }[]): Buffer {
  const heads: ColHead[] = []
  const blobs: Buffer[] = []
  for (const c of cols) {
    if (c.type === 'text') {
      const off = new Uint32Array(n + 1)
      const nul = new Uint8Array(n)
      const vals: string[] = []
      let at = 0
      let plain = true
      for (let i = 0; i < n; i++) {
        off[i] = at
        const v = c.get(i)
        if (v === null) nul[i] = 1
        else {
          const s = String(v)
          if (plain && !PLAIN.test(s)) plain = false
          vals.push(s)
          at += Buffer.byteLength(s, 'utf8')
        }
      }
      off[n] = at
      heads.push({ name: c.name, type: 'text', bytes: at, plain })
      blobs.push(Buffer.from(off.buffer), Buffer.from(nul.buffer), Buffer.from(vals.join(''), 'utf8'))
    } else {
      const a = c.type === 'f64' ? new Float64Array(n) : c.type === 'i32' ? new Int32Array(n) : new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        const v = c.get(i)
        a[i] = v === null ? (c.type === 'f64' ? NaN : c.type === 'i32' ? NULL_I32 : 2) : Number(v)
      }
      heads.push({ name: c.name, type: c.type })
      blobs.push(Buffer.from(a.buffer))
    }
  }
  // Every column at a multiple of 8 bytes from the section's start: read into a buffer of its
  // own, the typed arrays are views of it.
  const head = Buffer.from(JSON.stringify({ n, dict, cols: heads }), 'utf8')
  const pre = Buffer.alloc(4)
  pre.writeUInt32LE(head.length, 0)
  const out: Buffer[] = [pre, head]
  let at = 4 + head.length
  const pad = (): void => {
    if (at % 8 !== 0) {
      out.push(Buffer.alloc(pad8(at) - at))
      at = pad8(at)
    }
  }
  pad()
  for (const b of blobs) {
    out.push(b)
    at += b.length
    pad()
  }
  return Buffer.concat(out)
}

/** A section's columns from its bytes. */
function decode(b: Buffer): Part {
  const hl = b.readUInt32LE(0)
  const h = JSON.parse(b.toString('utf8', 4, 4 + hl)) as { n: number; dict: string[]; cols: ColHead[] }
  const n = h.n
  let at = pad8(4 + hl)
  const take = (bytes: number): Buffer => {
    if (at + bytes > b.length) throw new Error('truncated section')
    const s = b.subarray(at, at + bytes)
    at += bytes
    return s
  }
  // Views when aligned (a section read into a buffer of its own), else copies.
  const typed = <T>(bytes: number, make: (ab: ArrayBuffer, off: number) => T): T => {
    const s = take(bytes)
    at = pad8(at)
    return s.byteOffset % 8 === 0 ? make(s.buffer as ArrayBuffer, s.byteOffset) : make(s.buffer.slice(s.byteOffset, s.byteOffset + s.length) as ArrayBuffer, 0)
  }
  const bytes = (len: number): Buffer => {
    const s = take(len)
    at = pad8(at)
    return s
  }
  const cols: Part['cols'] = {}
  for (const c of h.cols) {
    if (c.type === 'text') {
      const off = typed(4 * (n + 1), (ab, o) => new Uint32Array(ab, o, n + 1))
      const nul = bytes(n)
      const text = bytes(c.bytes!)
      if (off[n] !== c.bytes) throw new Error('bad text offsets')
      for (let i = 0; i < n; i++) if (off[i]! > off[i + 1]!) throw new Error('bad text offsets')
      cols[c.name] = new Text(text, off, nul, c.plain === true)
    } else if (c.type === 'f64') cols[c.name] = typed(8 * n, (ab, o) => new Float64Array(ab, o, n))
    else if (c.type === 'i32') cols[c.name] = typed(4 * n, (ab, o) => new Int32Array(ab, o, n))
    else cols[c.name] = bytes(n)
  }
  return { n, dict: h.dict, cols }
}

// ---------------------------------------------------------------------------------------------
// Writing.

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
  const dict: string[] = []
  const ids = new Map<string, number>()
  const id = (v: unknown): number => {
    if (nil(v)) return -1
    const k = String(v)
    let x = ids.get(k)
    if (x === undefined) {
      x = dict.length
      dict.push(k)
      ids.set(k, x)
    }
    return x
  }
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

/** The raw rows of an update's row files (NDJSON), the views' rows only; tool calls joined to their calls. */
export function rowsOfFiles(files: Partial<Record<string, string>>): Record<RowSection, Row[]> {
  const read = (f: string | undefined): Row[] => (f === undefined ? [] : readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row))
  const pick = (r: Row, cols: string[]): Row => {
    const o: Row = {}
    for (const c of cols) o[c] = (r[c] ?? null) as Row[string]
    return o
  }
  const calls = read(files.calls)
  const byKey = new Map<string, Row>()
  for (const c of calls) if (inView(c) && !nil(c.key)) byKey.set(String(c.key), c)
  const tools: Row[] = []
  for (const t of read(files.tool_calls)) {
    const c = nil(t.call_key) ? undefined : byKey.get(String(t.call_key))
    if (c !== undefined) tools.push({ ...pick(t, RAW.tools), c_ts: (c.started_at ?? null) as Row[string], c_session: (c.session_id ?? null) as Row[string] })
  }
  return {
    calls: calls.filter(inView).map((r) => pick(r, RAW.calls)),
    flows: read(files.flows).filter(inView).map((r) => pick(r, RAW.flows)),
    tools,
  }
}

async function problemsOf(d: Duck): Promise<FactsProblems> {
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
  const f: WireFacts = { problems: { byCode: {}, first: [] }, parts: { [mode === 'tool_calls' ? 'tools' : 'calls']: [{ part, alive: undefined }] } }
  const a = factsRows(mode, f, BUNDLED_PRICES)!
  const chunks: Buffer[] = []
  factsNdjson({ ...a, lines: undefined }, (b) => void chunks.push(Buffer.from(b)))
  const text = Buffer.concat(chunks).toString('utf8')
  const lines = new Array<string | null>(part.n).fill(null)
  const { ri, n } = a.refs!
  let from = 0
  for (let r = 0; r < n; r++) {
    const at = text.indexOf('\n', from)
    lines[ri[r]!] = text.slice(from, at + 1)
    from = at + 1
  }
  // The lines of `cost` are of the bundled prices: the dictionary names them.
  return encode(part.n, mode === 'cost' ? [pricesFingerprint(BUNDLED_PRICES)] : [], [{ name: 'line', type: 'text', get: (i) => lines[i]! }])
}

/** One segment's bytes: the framed header, then the sections. */
function segmentOf(stamp: string, prev: string, drop: string[], problems: FactsProblems, rows: Record<RowSection, Row[]>): Buffer {
  const made = (['calls', 'flows', 'tools'] as const).map((s) => section(s, rows[s]))
  const calls = decode(made[0]!)
  const parts = [...made, linesSection('usage', calls), linesSection('tool_calls', decode(made[2]!)), linesSection('cost', calls)]
  const header: Header = { stamp, prev, drop, problems, sections: parts.map((p) => [p.length, crc32(p)]) }
  return Buffer.concat([frame(MAGIC, Buffer.from(JSON.stringify(header), 'utf8')), ...parts])
}

/** A segment from the index's tables: the rows of the flows `flows`, or every row (`problems`: the index's, when known). */
async function segment(d: Duck, stamp: string, prev: string, drop: string[], flows: string[] | undefined, problems?: FactsProblems): Promise<Buffer> {
  let where = ''
  if (flows !== undefined) {
    await d.run(`create or replace temp table facts_flows as select unnest(${flows.length > 0 ? `[${flows.map(lit).join(', ')}]` : '[]'}::varchar[]) as flow_id`)
    where = ' and flow_id in (select flow_id from facts_flows)'
  }
  const rows = {} as Record<RowSection, Row[]>
  for (const s of ['calls', 'flows', 'tools'] as const) rows[s] = flows !== undefined && flows.length === 0 ? [] : (await d.select(SELECT[s](where))).rows
  return segmentOf(stamp, prev, drop, problems ?? (await problemsOf(d)), rows)
}

/** Where the facts file ends and which stamp it describes, walked without checking the sections (for the writer). */
export interface FactsTail {
  stamp: string
  segments: number
  /** Bytes of the segments after the first. */
  segmentBytes: number
  size: number
  dev: number
  ino: number
  /** The problem summary of the last segment. */
  problems: FactsProblems
}

/**
 * The segments of an open facts file, their headers read and checked (the sections are not):
 * each with where its sections start. Stops at a torn one (`torn`).
 */
function walk(fd: number, size: number): { segs: { h: Header; at: number }[]; end: number; torn: boolean } {
  const segs: { h: Header; at: number }[] = []
  let off = 0
  const pre = Buffer.allocUnsafe(12)
  while (off < size) {
    if (readAt(fd, pre, off) < 12) return { segs, end: off, torn: true }
    const len = pre.readUInt32LE(4)
    if (off + 12 + len > size) return { segs, end: off, torn: true }
    const b = Buffer.allocUnsafe(12 + len)
    readAt(fd, b, off)
    const f = frameAt(b, 0, MAGIC)
    if (f === undefined) return { segs, end: off, torn: true }
    const h = JSON.parse(f.payload.toString('utf8')) as Header
    const at = off + 12 + len
    off = at + h.sections.reduce((n, [l]) => n + l, 0)
    if (off > size) return { segs, end: at - 12 - len, torn: true }
    segs.push({ h, at })
  }
  return { segs, end: off, torn: false }
}

/** The facts file's last stamp and shape, when its frames and sections fit the file. */
export function factsTail(paths: IndexPaths): FactsTail | undefined {
  let fd: number | undefined
  try {
    fd = openSync(join(paths.dir, WIRE_FACTS_FILE), 'r')
    const st = fstatSync(fd)
    const { segs, end, torn } = walk(fd, st.size)
    const last = segs[segs.length - 1]
    if (torn || last === undefined) return undefined
    const first = segs[1]?.at ?? end
    return { stamp: last.h.stamp, segments: segs.length, segmentBytes: segs.length > 1 ? end - first : 0, size: end, dev: st.dev, ino: st.ino, problems: last.h.problems }
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** Appends a segment to the file `tail` describes (same inode, same size): false when it changed. */
function append(path: string, tail: FactsTail, bytes: Buffer): boolean {
  let fd: number
  try {
    fd = openSync(path, 'r+')
  } catch {
    return false
  }
  try {
    const st = fstatSync(fd)
    if (st.dev !== tail.dev || st.ino !== tail.ino || st.size !== tail.size) return false
    if (writeSync(fd, bytes, 0, bytes.length, tail.size) !== bytes.length) throw new Error('short append')
    return true
  } finally {
    closeSync(fd)
  }
}

/**
 * Appends a segment of rows read from an update's row files (wire-append.ts) to the facts `tail`
 * describes: the stamp the state will have once the caller writes it. False when the file changed.
 */
export function appendFactsSegment(paths: IndexPaths, tail: FactsTail, stamp: string, rows: Record<RowSection, Row[]>): boolean {
  return append(join(paths.dir, WIRE_FACTS_FILE), tail, segmentOf(stamp, tail.stamp, [], tail.problems, rows))
}

/**
 * Which of `ids` the current facts hold a flow row for (the index's test of a flow it already
 * holds: its flows table), or undefined when the facts cannot be read. Each id is looked for in
 * the flow ids' text block as bytes and checked to be one whole value there: no string per row.
 */
export function flowsInFacts(paths: IndexPaths, ids: Iterable<string>): Set<string> | undefined {
  const f = readWireFacts(paths, ['flows'])
  if (f === undefined) return undefined
  const out = new Set<string>()
  for (const { part, alive } of f.parts.flows!) {
    const t = part.cols.flow as Text
    const n = part.n
    for (const id of ids) {
      const needle = Buffer.from(id, 'utf8')
      for (let at = t.b.indexOf(needle); at !== -1; at = t.b.indexOf(needle, at + 1)) {
        // The row whose value starts at `at`, if any (offsets ascend).
        let lo = 0
        let hi = n
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (t.off[mid]! < at) lo = mid + 1
          else hi = mid
        }
        // Rows of one empty value share an offset: the first with this length.
        for (let i = lo; i < n && t.off[i] === at; i++) {
          if (t.nul[i] !== 1 && t.off[i + 1]! - at === needle.length && (alive === undefined || alive[i] === 1)) out.add(id)
        }
      }
    }
  }
  return out
}

/**
 * Writes the facts for the index as it is now (its state's stamp): one segment appended to
 * `base` (the facts of the index before this update, current then) with the flows the update fed
 * again (`refed`, dropped first) and added (`added`); the file whole otherwise.
 */
export async function writeWireFacts(d: Duck, paths: IndexPaths, base: FactsTail | undefined, update: { refed: string[]; added: string[]; problems: number } | undefined): Promise<void> {
  const stamp = readState(paths)?.stamp
  if (stamp === undefined) return
  const path = join(paths.dir, WIRE_FACTS_FILE)
  try {
    if (base !== undefined && update !== undefined && base.segments < MAX_SEGMENTS && (base.segmentBytes <= MAX_SEGMENT_SHARE * base.size || base.segmentBytes < MIN_COMPACT_BYTES)) {
      // An update that found no problem leaves the index's summary as it was.
      const bytes = await segment(d, stamp, base.stamp, update.refed, [...new Set([...update.refed, ...update.added])], update.problems === 0 ? base.problems : undefined)
      if (append(path, base, bytes)) return
    }
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
    try {
      writeFileSync(tmp, await segment(d, stamp, '', [], undefined), { mode: 0o600 })
      renameSync(tmp, path)
    } catch (e) {
      rmSync(tmp, { force: true })
      throw e
    }
  } catch {
    // An index dir that cannot be written: the modes go to DuckDB, as without the facts.
    rmSync(path, { force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** The facts as read: per section, one part per segment and which of its rows later segments left. */
export interface WireFacts {
  problems: FactsProblems
  parts: Partial<Record<Section, { part: Part; alive: Uint8Array | undefined }[]>>
}

/**
 * The facts of the index as `state.json` names it now, with the sections asked for; undefined
 * when there are none, they are torn, or they describe another state (the caller asks DuckDB).
 */
export function readWireFacts(paths: IndexPaths, need: readonly Section[]): WireFacts | undefined {
  const stamp = readState(paths)?.stamp
  if (stamp === undefined) return undefined
  let fd: number | undefined
  try {
    fd = openSync(join(paths.dir, WIRE_FACTS_FILE), 'r')
    const { segs, torn } = walk(fd, fstatSync(fd).size)
    const last = segs[segs.length - 1]
    if (torn || last === undefined || last.h.stamp !== stamp) return undefined
    const got: { drop: string[]; parts: Partial<Record<Section, Part>> }[] = []
    let prev = ''
    for (const { h, at: start } of segs) {
      if (h.prev !== prev) return undefined
      prev = h.stamp
      let at = start
      const parts: Partial<Record<Section, Part>> = {}
      for (let i = 0; i < SECTIONS.length; i++) {
        const [len, sum] = h.sections[i]!
        if (need.includes(SECTIONS[i]!)) {
          // A buffer of its own (aligned): the typed columns are views of it.
          const b = Buffer.allocUnsafeSlow(len)
          if (readAt(fd, b, at) < len || crc32(b) !== sum) return undefined
          parts[SECTIONS[i]!] = decode(b)
        }
        at += len
      }
      got.push({ drop: h.drop, parts })
    }
    const out: WireFacts = { problems: last.h.problems, parts: {} }
    for (const s of need) {
      out.parts[s] = got.map((g, k) => {
        const part = g.parts[s]!
        // Rows of flows a later segment drops (fed again: its rows are theirs now).
        const drop = new Set(got.slice(k + 1).flatMap((x) => x.drop))
        if (drop.size === 0 || part.n === 0) return { part, alive: undefined }
        const flows = (part.cols.flow as Text).all()
        const alive = new Uint8Array(part.n)
        for (let i = 0; i < part.n; i++) alive[i] = drop.has(flows[i]!) ? 0 : 1
        return { part, alive }
      })
    }
    return out
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------------
// The rows, as the SQL of queries.ts makes them.

/** DuckDB's round(x, 8) of a non-negative double. */
const round8 = (x: number): number => Math.round(x * 1e8) / 1e8

type Value = string | number | boolean | null
/** A row: its part and its index there. */
type Ref = [Part, number]

/** DuckDB's order of two values: strings by their UTF-8 bytes, numbers, nulls last. */
function cmpVal(a: Value, b: Value): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  if (typeof a === 'string' && typeof b === 'string') {
    // UTF-16 order is UTF-8 order outside surrogates and U+E000…U+FFFF.
    if (!/[\ud800-\uffff]/.test(a) && !/[\ud800-\uffff]/.test(b)) return a < b ? -1 : 1
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
  }
  return a < b ? -1 : 1
}

/** Two values of text columns by their UTF-8 bytes (DuckDB's order of VARCHAR). */
function cmpBytes(a: Text, i: number, b: Text, j: number): number {
  let x = a.off[i]!
  const xe = a.off[i + 1]!
  let y = b.off[j]!
  const ye = b.off[j + 1]!
  const ab = a.b
  const bb = b.b
  for (; x < xe && y < ye; x++, y++) if (ab[x] !== bb[y]) return ab[x]! - bb[y]!
  return (xe - x) - (ye - y)
}

/** A column value of row `i` of a part. */
function val(p: Part, name: string, i: number): Value {
  const c = p.cols[name]!
  if (c instanceof Text) return c.get(i)
  const v = c[i]!
  if (c instanceof Float64Array) return Number.isNaN(v) ? null : v
  if (c instanceof Int32Array) return v === NULL_I32 ? null : v
  return v === 2 ? null : v
}

/** Rows of several parts: part `pi[k]`'s row `ri[k]` is the k-th. */
interface Refs {
  parts: Part[]
  pi: Uint16Array
  ri: Int32Array
  n: number
}

/**
 * The rows of the parts in order of `keys`: every part is sorted so; the rows of later parts
 * are sorted together and each put in place among the first part's by a binary search.
 */
function ordered(parts: { part: Part; alive: Uint8Array | undefined }[], keys: string[]): Refs {
  const cmp = (a: Ref, b: Ref): number => {
    for (const k of keys) {
      const c = cmpVal(val(a[0], k, a[1]), val(b[0], k, b[1]))
      if (c !== 0) return c
    }
    return 0
  }
  const total = parts.reduce((n, x) => n + x.part.n, 0)
  const out: Refs = { parts: parts.map((x) => x.part), pi: new Uint16Array(total), ri: new Int32Array(total), n: 0 }
  const push = (p: number, i: number): void => {
    out.pi[out.n] = p
    out.ri[out.n++] = i
  }
  const first = parts[0]!
  const extra: [Part, number, number][] = []
  for (let p = 1; p < parts.length; p++) {
    const x = parts[p]!
    for (let i = 0; i < x.part.n; i++) if (x.alive === undefined || x.alive[i] === 1) extra.push([x.part, i, p])
  }
  const base = first.alive
  let from = 0
  if (extra.length > 0) {
    extra.sort((a, b) => cmp([a[0], a[1]], [b[0], b[1]]))
    for (const [ep, ei, p] of extra) {
      let lo = from
      let hi = first.part.n
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (cmp([first.part, mid], [ep, ei]) <= 0) lo = mid + 1
        else hi = mid
      }
      for (let j = from; j < lo; j++) if (base === undefined || base[j] === 1) push(0, j)
      push(p, ei)
      from = lo
    }
  }
  for (let j = from; j < first.part.n; j++) if (base === undefined || base[j] === 1) push(0, j)
  return out
}

interface Price {
  key: string | null
  rates: number[] | undefined
}

/** The price of a part's model (by dictionary number), as `COSTED` finds it. */
function pricer(prices: PriceTable): (p: Part, id: number) => Price {
  const memo = new Map<string, Price>()
  return (p, id) => {
    const model = id === -1 ? '' : p.dict[id]!
    let x = memo.get(model)
    if (x === undefined) {
      const found = priceFor(prices, model)
      x = found === undefined ? { key: null, rates: undefined } : { key: found.key, rates: [found.price.input, found.price.cache_read, found.price.cache_write, cacheWrite1h(found.price), found.price.output] }
      memo.set(model, x)
    }
    return x
  }
}

const USAGE = ['input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens']

/** A call's usage numbers (null: NULL). */
function usageOf(p: Part, i: number): (number | null)[] {
  return USAGE.map((c) => {
    const v = (p.cols[c] as Float64Array)[i]!
    return Number.isNaN(v) ? null : v
  })
}
const add = (...xs: (number | null)[]): number | null => {
  let s = 0
  for (const x of xs) {
    if (x === null) return null
    s += x
  }
  return s
}
/** A call's cost as `COSTED` computes it (null: no price, or a token count is null). */
function costOf(u: (number | null)[], rates: number[] | undefined): number | null {
  if (rates === undefined || u.slice(0, 5).some((x) => x === null)) return null
  return round8((u[0]! * rates[0]! + u[1]! * rates[1]! + u[2]! * rates[2]! + u[3]! * rates[3]! + u[4]! * rates[4]!) / 1e6)
}

/** How a field is written: a text column, a dictionary column, the sum of number columns (NaN, NULL: null), or its `value`. */
const [TEXT, DICT, NUM, CALC] = [0, 1, 2, 3] as const

/** A field of an output row: its value, and the columns it is written from (absent: JSON of `value`). */
interface Field {
  name: string
  value: (p: Part, i: number) => Value
  kind?: typeof TEXT | typeof DICT | typeof NUM
  col?: string[]
}

/** A mode's answer: the rows in order and their fields, or (sessions) rows computed whole. */
export interface FactsAnswer {
  columns: string[]
  refs?: Refs
  fields?: Field[]
  rows?: Value[][]
  /** Per part of `refs`, its rows' NDJSON lines (linesSection), when read. */
  lines?: Text[] | undefined
}

const textField = (name: string, col: string): Field => ({ name, value: (p, i) => (p.cols[col] as Text).get(i), kind: TEXT, col: [col] })
const dictField = (name: string, col: string): Field => ({
  name,
  value: (p, i) => {
    const x = (p.cols[col] as Int32Array)[i]!
    return x === -1 ? null : p.dict[x]!
  },
  kind: DICT,
  col: [col],
})
const numField = (name: string, col: string): Field => ({ name, value: (p, i) => val(p, col, i), kind: NUM, col: [col] })

/** The rows of a facts mode; undefined when the facts cannot tell them exactly (the caller asks DuckDB). */
export function factsRows(mode: ModeName, f: WireFacts, prices: PriceTable): FactsAnswer | undefined {
  const columns = MODES[mode].columns
  if (mode === 'usage' || mode === 'cost') {
    const parts = f.parts.calls!.map((x) => {
      const has = x.part.cols.has as Uint8Array
      const alive = new Uint8Array(x.part.n)
      for (let i = 0; i < x.part.n; i++) alive[i] = has[i] === 1 && (x.alive === undefined || x.alive[i] === 1) ? 1 : 0
      return { part: x.part, alive }
    })
    const refs = ordered(parts, ['ts', 'flow', 'idx'])
    const price = pricer(prices)
    const head: Field[] = [textField('ts', 'ts'), dictField('session_id', 'session'), textField('flow_id', 'flow'), numField('call', 'idx'), dictField('model', 'model')]
    const u = (k: number) => (p: Part, i: number): Value => {
      const v = (p.cols[USAGE[k]!] as Float64Array)[i]!
      return Number.isNaN(v) ? null : v
    }
    // NaN (NULL) in a sum is NULL.
    const cw = (p: Part, i: number): Value => {
      const v = (p.cols.cache_write_5m_tokens as Float64Array)[i]! + (p.cols.cache_write_1h_tokens as Float64Array)[i]!
      return Number.isNaN(v) ? null : v
    }
    const sumOf = (name: string, cols: string[], value: Field['value']): Field => ({ name, value, kind: NUM, col: cols })
    const fields: Field[] = mode === 'usage'
      ? [...head, sumOf('input_tokens', [USAGE[0]!], u(0)), sumOf('cache_read_tokens', [USAGE[1]!], u(1)), sumOf('cache_write_tokens', [USAGE[2]!, USAGE[3]!], cw), sumOf('cache_write_1h_tokens', [USAGE[3]!], u(3)),
          sumOf('output_tokens', [USAGE[4]!], u(4)), sumOf('reasoning_tokens', [USAGE[5]!], u(5)), sumOf('total_tokens', USAGE.slice(0, 5), (p, i) => {
            const c = p.cols
            const v = (c.input_tokens as Float64Array)[i]! + (c.cache_read_tokens as Float64Array)[i]! + (c.cache_write_5m_tokens as Float64Array)[i]! + (c.cache_write_1h_tokens as Float64Array)[i]! + (c.output_tokens as Float64Array)[i]!
            return Number.isNaN(v) ? null : v
          })]
      : [...head, { name: 'price_key', value: (p, i) => price(p, (p.cols.priceModel as Int32Array)[i]!).key }, sumOf('input_tokens', [USAGE[0]!], u(0)), sumOf('cache_read_tokens', [USAGE[1]!], u(1)),
          sumOf('cache_write_tokens', [USAGE[2]!, USAGE[3]!], cw), sumOf('output_tokens', [USAGE[4]!], u(4)),
          { name: 'cost_usd', value: (p, i) => costOf(usageOf(p, i), price(p, (p.cols.priceModel as Int32Array)[i]!).rates) }, { name: 'prices_version', value: () => prices.version ?? null }]
    if (fields.map((x) => x.name).join(', ') !== columns.join(', ')) return undefined
    const own = mode === 'usage' ? f.parts.usageLines : f.parts.costLines?.every((x) => x.part.dict[0] === pricesFingerprint(prices)) ? f.parts.costLines : undefined
    return { columns, refs, fields, lines: own?.map((x) => x.part.cols.line as Text) }
  }
  if (mode === 'tool_calls') {
    const refs = ordered(f.parts.tools!, ['ts', 'flow', 'call', 'position'])
    const fields: Field[] = [textField('ts', 'ts'), dictField('session_id', 'session'), textField('flow_id', 'flow'), numField('call', 'call'), numField('index', 'position'),
      textField('call_id', 'callId'), dictField('name', 'name'), dictField('kind', 'kind'), textField('arguments', 'args'),
      { name: 'complete', value: (p, i) => ((p.cols.complete as Uint8Array)[i] === 2 ? null : (p.cols.complete as Uint8Array)[i] === 1) }]
    if (fields.map((x) => x.name).join(', ') !== columns.join(', ')) return undefined
    return { columns, refs, fields, lines: f.parts.toolLines?.map((x) => x.part.cols.line as Text) }
  }
  if (mode !== 'sessions') return undefined
  // fl: per session (null included) the most frequent client, first and last seen, flows.
  interface S { clients: Map<string, number>; first: [Text, number] | undefined; last: [Text, number] | undefined; flows: number; input: number | null; cr: number | null; cw: number | null; out: number | null; cost: number | null; unpriced: number; turns: Set<number>; errors: number }
  const by = new Map<string | null, S>()
  const sessionOf = (sid: string | null): S => {
    let s = by.get(sid)
    if (s === undefined) by.set(sid, (s = { clients: new Map(), first: undefined, last: undefined, flows: 0, input: null, cr: null, cw: null, out: null, cost: null, unpriced: 0, turns: new Set(), errors: 0 }))
    return s
  }
  for (const { part: p, alive } of f.parts.flows!) {
    const start = p.cols.start as Text
    const last = p.cols.last as Text
    const session = p.cols.session as Int32Array
    const client = p.cols.client as Int32Array
    const err = p.cols.err as Uint8Array
    // Per dictionary number: its session's sums.
    const sessions: (S | undefined)[] = []
    for (let i = 0; i < p.n; i++) {
      if (alive !== undefined && alive[i] !== 1) continue
      const x = session[i]!
      const s = x === -1 ? sessionOf(null) : (sessions[x] ??= sessionOf(p.dict[x]!))
      s.flows++
      if (client[i] !== -1) {
        const cl = p.dict[client[i]!]!
        s.clients.set(cl, (s.clients.get(cl) ?? 0) + 1)
      }
      // min / max of strings: by their bytes, as DuckDB orders VARCHAR (decoded once, the winners).
      if (start.nul[i] !== 1 && (s.first === undefined || cmpBytes(start, i, s.first[0], s.first[1]) < 0)) s.first = [start, i]
      if (last.nul[i] !== 1 && (s.last === undefined || cmpBytes(last, i, s.last[0], s.last[1]) > 0)) s.last = [last, i]
      if (err[i] === 1) s.errors++
    }
  }
  const price = pricer(prices)
  // The calls in the table's order (a part's `seq`), each joined to its session (a null session joins nothing).
  for (const { part: p, alive } of f.parts.calls!) {
    const seq = p.cols.seq as Int32Array
    const order = new Int32Array(p.n).fill(-1)
    for (let i = 0; i < p.n; i++) order[seq[i]!] = i
    const session = p.cols.session as Int32Array
    const has = p.cols.has as Uint8Array
    const err = p.cols.err as Uint8Array
    const pk = p.cols.pk as Float64Array
    const pm = p.cols.priceModel as Int32Array
    const sessions = p.dict.map((x) => by.get(x))
    const rates: (number[] | undefined)[] = []
    const rated: boolean[] = []
    const U = USAGE.map((c) => p.cols[c] as Float64Array)
    for (let j = 0; j < p.n; j++) {
      const i = order[j]!
      if (i === -1) throw new Error('bad seq')
      if ((alive !== undefined && alive[i] !== 1) || session[i] === -1) continue
      const s = sessions[session[i]!]
      if (s === undefined) continue
      if (err[i] === 1) s.errors++
      if (!Number.isNaN(pk[i]!)) s.turns.add(pk[i]!)
      if (has[i] !== 1) continue
      // NaN is NULL: a sum skips it, a NULL token count makes the cost NULL.
      const a = U[0]![i]!
      const b = U[1]![i]!
      const c = U[2]![i]!
      const d = U[3]![i]!
      const e = U[4]![i]!
      if (!Number.isNaN(a)) s.input = (s.input ?? 0) + a
      if (!Number.isNaN(b)) s.cr = (s.cr ?? 0) + b
      if (!Number.isNaN(c + d)) s.cw = (s.cw ?? 0) + c + d
      if (!Number.isNaN(e)) s.out = (s.out ?? 0) + e
      const m = pm[i]! + 1
      if (rated[m] !== true) {
        rates[m] = price(p, m - 1).rates
        rated[m] = true
      }
      const r = rates[m]
      const cost = r === undefined || Number.isNaN(a + b + c + d + e) ? null : round8((a * r[0]! + b * r[1]! + c * r[2]! + d * r[3]! + e * r[4]!) / 1e6)
      if (cost === null) s.unpriced++
      else s.cost = s.cost === null ? cost : s.cost + cost
    }
  }
  const out: { first: string | null; sid: string | null; row: Value[] }[] = []
  for (const [sid, s] of by) {
    // mode(client): a tie is broken by the order DuckDB met the values, which the facts do not keep.
    let best: string | null = null
    let bestN = 0
    let tie = false
    for (const [cl, n] of s.clients) {
      if (n > bestN) {
        best = cl
        bestN = n
        tie = false
      } else if (n === bestN) tie = true
    }
    if (tie) return undefined
    // A null session joins no call (`using (session_id)`): no turns, tokens or call errors.
    const first = s.first === undefined ? null : s.first[0].get(s.first[1])
    const last = s.last === undefined ? null : s.last[0].get(s.last[1])
    out.push({
      first,
      sid,
      row: [sid, best, first, last, s.flows, s.turns.size, s.input ?? 0, s.cr ?? 0, s.cw ?? 0, s.out ?? 0, round8(s.cost ?? 0), s.unpriced, s.errors, prices.version ?? null],
    })
  }
  out.sort((a, b) => cmpVal(a.first, b.first) || cmpVal(a.sid, b.sid))
  return { columns, rows: out.map((o) => o.row) }
}

const NULL = Buffer.from('null')

/** NDJSON bytes in a reused buffer, handed on in pieces that end at a line end (a flush must write or copy them at once). */
class Out {
  buf = Buffer.allocUnsafe(1 << 20)
  pos = 0
  /** Where the line being written starts (what is before it is whole lines). */
  line = 0
  constructor(private readonly flush: (b: Buffer) => void) {}
  /** Makes room for `n` more bytes: the whole lines go, the line being written moves to the start. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    if (this.line > 0) this.flush(this.buf.subarray(0, this.line))
    const part = this.pos - this.line
    const buf = part + n > this.buf.length ? Buffer.allocUnsafe(Math.max(2 * this.buf.length, part + n)) : this.buf
    this.buf.copy(buf, 0, this.line, this.pos)
    this.buf = buf
    this.pos = part
    this.line = 0
  }
  /** A line ends here. */
  endLine(): void {
    this.line = this.pos
  }
  end(): void {
    if (this.pos > 0) this.flush(this.buf.subarray(0, this.pos))
    this.pos = 0
    this.line = 0
  }
  ascii(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1')
  }
  bytes(b: Uint8Array): void {
    const buf = this.buf
    let p = this.pos
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!
    this.pos = p
  }
  /** A number as JSON.stringify writes it: whole non-negative ones digit by digit. */
  num(x: number): void {
    if (x >= 0 && x <= 9007199254740991 && Math.floor(x) === x && !Object.is(x, -0)) {
      let digits = 1
      for (let y = x; y >= 10; y = Math.floor(y / 10)) digits++
      const buf = this.buf
      let p = this.pos + digits
      this.pos = p
      let y = x
      do {
        const q = Math.floor(y / 10)
        buf[--p] = 48 + (y - q * 10)
        y = q
      } while (y > 0)
    } else this.ascii(Number.isFinite(x) ? String(x) : 'null')
  }
  /** A value as JSON.stringify writes it. */
  json(v: Value): void {
    if (v === null) this.bytes(NULL)
    else if (typeof v === 'number') this.num(v)
    else if (typeof v === 'boolean') this.ascii(v ? 'true' : 'false')
    else {
      const s = PLAIN.test(v) ? `"${v}"` : JSON.stringify(v)
      this.room(3 * s.length + 64)
      this.pos += this.buf.write(s, this.pos, 'utf8')
    }
  }
}

/** The rows as NDJSON, as `toNdjson(columns, rows)` writes them, in pieces of whole lines. */
export function factsNdjson(a: FactsAnswer, flush: (b: Buffer) => void): number {
  if (a.lines !== undefined && a.refs !== undefined) {
    // The stored lines, copied as runs: consecutive rows of a part are consecutive bytes.
    const { pi, ri, n } = a.refs
    let t: Text | undefined
    let from = 0
    let to = 0
    for (let r = 0; r < n; r++) {
      const line = a.lines[pi[r]!]!
      const i = ri[r]!
      const start = line.off[i]!
      if (line !== t || start !== to) {
        if (t !== undefined && to > from) flush(t.b.subarray(from, to))
        t = line
        from = start
      }
      to = line.off[i + 1]!
    }
    if (t !== undefined && to > from) flush(t.b.subarray(from, to))
    return n
  }
  const o = new Out(flush)
  const keys = a.columns.map((c, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(c)}:`, 'utf8'))
  if (a.rows !== undefined) {
    for (const r of a.rows) {
      for (let k = 0; k < keys.length; k++) {
        o.room(256)
        o.bytes(keys[k]!)
        o.json(r[k] ?? null)
      }
      o.room(2)
      o.ascii('}\n')
      o.endLine()
    }
    o.end()
    return a.rows.length
  }
  const fields = a.fields!
  const { parts, pi, ri, n } = a.refs!
  const END = Buffer.from('}\n')
  // Per field a kind, and per part the columns it reads: one loop with no call per value for
  // the plain kinds (a closure only for computed values).
  const kinds = fields.map((f) => (f.col === undefined ? CALC : f.kind!))
  const cols = parts.map((p) => fields.map((f) => (f.col === undefined ? undefined : f.col.map((c) => p.cols[c]!))))
  const dicts = parts.map((p) => p.dict.map((s) => Buffer.from(JSON.stringify(s), 'utf8')))
  const nk = fields.length
  let buf = o.buf
  for (let r = 0; r < n; r++) {
    const pn = pi[r]!
    const p = parts[pn]!
    const pc = cols[pn]!
    const i = ri[r]!
    for (let k = 0; k < nk; k++) {
      if (o.pos + 512 > buf.length) {
        o.room(512)
        buf = o.buf
      }
      const key = keys[k]!
      let pos = o.pos
      for (let j = 0; j < key.length; j++) buf[pos++] = key[j]!
      o.pos = pos
      const kind = kinds[k]!
      if (kind === TEXT) {
        const t = pc[k]![0] as Text
        if (t.nul[i] === 1 || !t.plain) {
          o.json(t.get(i))
          buf = o.buf
        } else {
          const a0 = t.off[i]!
          const b0 = t.off[i + 1]!
          if (pos + b0 - a0 + 2 > buf.length) {
            o.room(b0 - a0 + 2)
            buf = o.buf
            pos = o.pos
          }
          const src = t.b
          buf[pos++] = 34
          for (let j = a0; j < b0; j++) buf[pos++] = src[j]!
          buf[pos++] = 34
          o.pos = pos
        }
      } else if (kind === DICT) {
        const x = (pc[k]![0] as Int32Array)[i]!
        const d = x === -1 ? NULL : dicts[pn]![x]!
        if (pos + d.length > buf.length) {
          o.room(d.length)
          buf = o.buf
          pos = o.pos
        }
        for (let j = 0; j < d.length; j++) buf[pos++] = d[j]!
        o.pos = pos
      } else if (kind === NUM) {
        const c = pc[k]!
        let v = 0
        for (let j = 0; j < c.length; j++) v += (c[j] as Float64Array | Int32Array)[i]!
        if (Number.isNaN(v) || (c.length === 1 && c[0] instanceof Int32Array && v === NULL_I32)) o.bytes(NULL)
        else o.num(v)
      } else {
        o.json(fields[k]!.value(p, i))
        buf = o.buf
      }
    }
    if (o.pos + 2 > buf.length) {
      o.room(2)
      buf = o.buf
    }
    o.bytes(END)
    o.endLine()
  }
  o.end()
  return n
}

/** The rows as objects. */
export function factsObjects(a: FactsAnswer): Row[] {
  if (a.rows !== undefined) {
    return a.rows.map((r) => {
      const o: Row = {}
      for (let i = 0; i < a.columns.length; i++) o[a.columns[i]!] = r[i] ?? null
      return o
    })
  }
  const { parts, pi, ri, n } = a.refs!
  const out: Row[] = new Array<Row>(n)
  for (let r = 0; r < n; r++) {
    const o: Row = {}
    for (const f of a.fields!) o[f.name] = f.value(parts[pi[r]!]!, ri[r]!)
    out[r] = o
  }
  return out
}

/** How many rows an answer has. */
export const factsCount = (a: FactsAnswer): number => a.rows?.length ?? a.refs!.n
