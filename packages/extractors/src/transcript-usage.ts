import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import type { ClaudeFileState, CodexFileState, FileCursor, TranscriptDirs, TranscriptProblem, TranscriptFile } from '@agenttap/transcripts'
import { usageWins } from '@agenttap/transcripts/dirs'
import { headHash } from './capture-snapshot.js'
import { frame, frameAt } from './frames.js'
import type { IndexUpdate } from './indexer.js'
import { inUsageOrder, partCall, storedColumns } from './transcript-usage-cols.js'
import type { UsageCall, UsageColumns } from './transcript-usage-cols.js'
import { sinkImport } from './transcript-usage-sink.js'
import { UsageTable } from './transcript-usage-table.js'
import { listTranscripts } from './transcript-update.js'
import { builtModule } from './built-module.js'
import { readAt } from './read-at.js'
import { BUNDLED_PRICES } from './prices.js'
import type { PriceTable } from './types.js'
import { DailySums } from './transcript-usage-daily.js'

/**
 * The **usage summary** of the transcripts: part of the index (`transcripts-usage.bin` next to
 * `index.duckdb`), kept without DuckDB, so `daily`, `usage` and `cost` over transcripts answer
 * without loading it. It holds, per transcript file, how far it was read (offset, line, identity,
 * head hash, the Codex reader's state) and, per call (keyed by the importer's content key), the
 * facts those answers need. An update lists the files, reads only what each gained with the SAME
 * importer (`@agenttap/transcripts`, its usage-only read, on worker threads when there is a lot)
 * and merges pieces of one call by the importer's rule (the final usage wins, the earliest piece
 * names the session) — the rule the index's tables follow, so both answer the same rows.
 *
 * A file that shrank or whose first bytes changed makes every transcript be read again (as the
 * index does). The file is a base block (transcript-usage-table.ts: the calls as columns, the
 * cursors in its header) and the segments appended since: each update appends, in one write,
 * the cursors that moved, the files gone, the new problems and the calls it read, unmerged; a
 * read applies them in order by the same merge, so the cost of an update is what it read, not
 * the size of the summary. A segment is length- and checksum-framed: a torn one (a crash in
 * the append) is ignored with what follows, and its files are read again. The file is written
 * whole (to a temporary name, then renamed) when new, rebuilt, torn, or when the segments grow
 * past a quarter of it or 24 of them (compaction). Two runs at once: each appends to the file it
 * read only if it is still there (same inode), else writes whole; segments of two runs that read
 * the same bytes merge to the same calls, and a cursor never moves back on the same file. A
 * summary that cannot be read, of another version or of another importer build is rebuilt;
 * deleting it is always safe.
 */

/** Bump when the summary's layout or meaning changes: an older one is rebuilt. */
export const USAGE_SUMMARY_VERSION = 2
export const USAGE_SUMMARY_FILE = 'transcripts-usage.bin'

/** A transcript file as the summary last read it. */
export interface SummaryFile {
  kind: TranscriptFile['kind']
  path: string
  dev: string
  ino: string
  size: number
  mtime: string
  head: string
  head_len: number
  offset: number
  line: number
  codex?: CodexFileState
  claude?: ClaudeFileState
}

interface SummaryDoc {
  version: number
  build: string
  files: SummaryFile[]
  problems: TranscriptProblem[]
  table: UsageTable
}

/** The summary in memory. */
export interface UsageSummary {
  calls: UsageTable
  problems: TranscriptProblem[]
}

/** Options of {@link updateUsageSummary}. */
export interface UsageSummaryOptions {
  dirs: TranscriptDirs
  /** The index dir (the summary file goes in it). */
  dir: string
  /** The importer's build fingerprint: a summary of another build is rebuilt. */
  build: string
  /** Start over (`--rebuild-index`). */
  rebuild?: boolean
  /** The prices of the daily sums kept in the summary. @defaultValue BUNDLED_PRICES */
  prices?: PriceTable
  threads?: number
  workerMinBytes?: number
}

/** The summary as read: the base block's doc, the segments applied, and how to write next. */
interface Loaded extends SummaryDoc {
  /** The cursors by path (the same objects as `files`). */
  byPath: Map<string, SummaryFile>
  /** The file's identity and size as read (an append goes only to that file, grown or not). */
  dev: number
  ino: number
  size: number
  segments: number
  segmentBytes: number
  /** A torn or damaged segment at the end: the next write rewrites the file whole. */
  torn: boolean
}

const SEGMENT = 'ATS2'

/** What one update appends: the cursors that moved, the files gone, new problems, the calls read (unmerged). */
interface Segment {
  files: SummaryFile[]
  gone: string[]
  problems: TranscriptProblem[]
  parts: UsageColumns[]
}

function segmentBytes(seg: Segment): Buffer {
  return frame(SEGMENT, Buffer.from(JSON.stringify(seg), 'utf8'))
}

/** A cursor from a later segment replaces the one held, unless it is the same file read less far (two runs at once). */
function applyCursor(files: Map<string, SummaryFile>, f: SummaryFile): void {
  const had = files.get(f.path)
  if (had !== undefined && had.dev === f.dev && had.ino === f.ino && had.offset > f.offset) return
  files.set(f.path, f)
}

/** Reads the summary file (the base block, then each appended segment); a reason instead when it must be rebuilt. */
function load(path: string, build: string, prices: PriceTable): Loaded | { why: string } | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    return { why: `the usage summary ${path} could not be read (${(e as Error).message.slice(0, 120)})` }
  }
  // The table reads its columns lazily from this descriptor and owns it once read; until then,
  // and when the summary is not used after all, it is closed here.
  let table: UsageTable | undefined
  let ok = false
  try {
    const st = fstatSync(fd)
    const magic = Buffer.alloc(4)
    readSync(fd, magic, 0, 4, 0)
    if (magic.toString('latin1') === 'ATU1') return { why: `the usage summary is of version 1, not ${USAGE_SUMMARY_VERSION}` }
    const read = UsageTable.read(fd, st.size)
    table = read.table
    const { header, end } = read
    const doc = header as unknown as Omit<SummaryDoc, 'table'> & { daily?: unknown }
    if (doc.version !== USAGE_SUMMARY_VERSION) return { why: `the usage summary is of version ${String(doc.version)}, not ${USAGE_SUMMARY_VERSION}` }
    if (doc.build !== build) return { why: 'the transcript importer changed since the usage summary was made' }
    if (!Array.isArray(doc.files) || !Array.isArray(doc.problems)) throw new Error('no files or problems')
    // The daily sums of the base, kept up to date from here on (built when of other prices).
    table.daily = DailySums.from(doc.daily, prices) ?? DailySums.over(table, prices)
    const rest = Buffer.allocUnsafe(st.size - end)
    const all = rest.subarray(0, readAt(fd, rest, end))
    const files = new Map(doc.files.map((f) => [f.path, f]))
    const problems = [...doc.problems]
    let off = 0
    let segments = 0
    let torn = false
    while (off < all.length) {
      const fr = frameAt(all, off, SEGMENT)
      if (fr === undefined) {
        torn = true
        break
      }
      const seg = JSON.parse(fr.payload.toString('utf8')) as Segment
      for (const p of seg.parts) table.add(p, mergeUsageCall, partCall)
      for (const g of seg.gone) files.delete(g)
      for (const f of seg.files) applyCursor(files, f)
      problems.push(...seg.problems)
      off = fr.next
      segments++
    }
    ok = true
    return { ...doc, files: [...files.values()], byPath: files, problems, table, dev: st.dev, ino: st.ino, size: end + off, segments, segmentBytes: off, torn }
  } catch (e) {
    return { why: `the usage summary ${path} could not be read (${(e as Error).message.slice(0, 120)})` }
  } finally {
    if (table === undefined) closeSync(fd)
    else if (!ok) table.close()
  }
}

/** Writes the summary whole under a temporary name, then renames it over the old one. */
function save(path: string, doc: SummaryDoc): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  try {
    const { table, ...header } = doc
    const daily = table.daily instanceof DailySums && table.daily.exact ? { daily: table.daily.toJSON() } : {}
    writeFileSync(tmp, table.write({ ...header, ...daily }), { mode: 0o600 })
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/**
 * Appends one segment in one write, to the file that was read (same inode, not shorter): false
 * when that file is gone or was replaced (another run rewrote it), and the caller writes whole.
 */
function append(path: string, was: Loaded, seg: Segment): boolean {
  let fd: number
  try {
    fd = openSync(path, 'a')
  } catch {
    return false
  }
  try {
    const st = fstatSync(fd)
    if (st.dev !== was.dev || st.ino !== was.ino || st.size < was.size) return false
    const b = segmentBytes(seg)
    if (writeSync(fd, b) !== b.length) throw new Error('short append')
    return true
  } finally {
    closeSync(fd)
  }
}

/** Rewrite the file whole (compaction) when the segments have grown past this many or this share of the file. */
const MAX_SEGMENTS = 24
const MAX_SEGMENT_SHARE = 0.25

/**
 * Merges two pieces of one call by the importer's rule (mergeCall): the earliest piece's facts,
 * the winning piece's usage and stop reason.
 */
export function mergeUsageCall(a: UsageCall, b: UsageCall): UsageCall {
  const first = a.ts <= b.ts ? a : b
  const piece = (x: UsageCall) => ({ ...(x.stop_reason !== null ? { stop_reason: x.stop_reason } : {}), ...(x.has_usage ? { usage: { output: x.output } } : {}) }) as Parameters<typeof usageWins>[0]
  const best = usageWins(piece(a), piece(b)) ? a : b
  const out = { ...first }
  if (best.has_usage) {
    out.has_usage = true
    out.input = best.input
    out.cache_read = best.cache_read
    out.cache_write_5m = best.cache_write_5m
    out.cache_write_1h = best.cache_write_1h
    out.output = best.output
    out.reasoning = best.reasoning
  }
  if (best.stop_reason !== null) out.stop_reason = best.stop_reason
  return out
}

/** Brings the usage summary up to date with the transcripts; see the module comment. */
export async function updateUsageSummary(options: UsageSummaryOptions): Promise<{ summary: UsageSummary; update: IndexUpdate }> {
  const t0 = performance.now()
  const path = join(options.dir, USAGE_SUMMARY_FILE)
  // A first read (no summary yet, or a rebuild) reads every transcript: its worker threads start
  // now, on the other cores, while this thread lists the files.
  const threads = Math.min(options.threads ?? availableParallelism(), 8)
  const early = threads > 1 && (options.rebuild === true || !existsSync(path)) ? await import('@agenttap/transcripts') : undefined
  const ahead = early?.startImportWorkers(threads - 1)
  const { files, listing } = listTranscripts(options.dirs)
  const prices = options.prices ?? BUNDLED_PRICES
  const loaded = options.rebuild ? undefined : load(path, options.build, prices)
  const doc: Loaded | undefined = loaded !== undefined && !('why' in loaded) ? loaded : undefined
  let rebuilt: string | undefined = loaded !== undefined && 'why' in loaded ? loaded.why : undefined
  const prev = doc?.files ?? []
  const prevByPath = doc?.byPath ?? new Map<string, SummaryFile>()
  // By inode, and the paths listed now: only for a file not found under its old name and inode.
  let prevByIno: Map<string, SummaryFile> | undefined
  let nowPaths: Set<string> | undefined
  // One entry per listed file, in listing order (`listTranscripts` gives `files` and
  // `listing.files` in the same order): the cursor to read from, the listing, the cursor held.
  let cursors: { c: FileCursor; st: (typeof listing.files)[number]; p: SummaryFile | undefined }[] = []
  let changed = doc === undefined || prev.length !== files.length
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!
    const st = listing.files[i]!
    const byPath = prevByPath.get(f.path)
    let p = byPath !== undefined && byPath.ino === st.ino && byPath.dev === st.dev ? byPath : (prevByIno ??= new Map(prev.map((x) => [`${x.dev}:${x.ino}`, x]))).get(`${st.dev}:${st.ino}`)
    // Found by inode under another name: a moved file keeps its first bytes; a new file that got
    // a deleted one's inode does not, and is new.
    if (p !== undefined && p !== byPath && ((nowPaths ??= new Set(listing.files.map((x) => x.path))).has(p.path) || p.head_len === 0 || f.size < p.head_len || headHash(f.path, p.head_len) !== p.head)) p = undefined
    const same = p !== undefined && p === byPath && p.size === f.size && p.mtime === st.mtime
    if (!same) changed = true
    if (p !== undefined && !same) {
      if (f.size < p.offset) rebuilt ??= `${f.path} shrank from ${p.offset} to ${f.size} bytes`
      else if (p.head_len > 0 && headHash(f.path, p.head_len) !== p.head) rebuilt ??= `${f.path} was rewritten (its first bytes changed)`
    }
    const c: FileCursor = p === undefined ? { file: f, offset: 0, line: 0 } : { file: f, offset: p.offset, line: p.line, ...(p.codex !== undefined ? { codex: p.codex } : {}), ...(p.claude !== undefined ? { claude: p.claude } : {}) }
    cursors.push({ c, st, p })
  }
  const fresh = rebuilt !== undefined || doc === undefined
  if (rebuilt !== undefined) cursors = cursors.map((x) => ({ ...x, c: { file: x.c.file, offset: 0, line: 0 }, p: undefined }))
  // A summary read but rebuilt all the same: its file is closed now, not when collected.
  if (fresh) doc?.table.close()
  const calls = fresh ? new UsageTable() : doc.table
  if (fresh) calls.daily = new DailySums(prices)
  const problems = fresh ? [] : doc.problems
  if (!changed && !fresh) return { summary: { calls, problems }, update: { bytes: 0, records: 0, shards: 0, pending: 0, problems: 0, ms: performance.now() - t0 } }
  const todo = cursors.filter((x) => x.c.file.size > x.c.offset).map((x) => x.c)
  let bytes = 0
  let records = 0
  let newProblems: TranscriptProblem[] = []
  let parts: UsageColumns[] = []
  const done = new Map<string, FileCursor>()
  const tRead0 = performance.now()
  if (todo.length > 0) {
    const { importTranscripts } = await import('@agenttap/transcripts')
    const sink = builtModule('transcript-usage-sink.js')?.href
    const r = await importTranscripts(todo, {
      usageOnly: true,
      // The head hashes of the files read from their start, by the threads that read them.
      heads: 4096,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
      ...(sink !== undefined ? { sink: { module: sink, rows: true } } : {}),
      ...(ahead !== undefined ? { workers: ahead } : {}),
    })
    parts = (r.sunk as UsageColumns[] | undefined) ?? [sinkImport(r)]
    // A new table takes the parts (each in `usage` order) merged: it then holds its calls in
    // that order, and its rewrite and the `usage` answer find them sorted.
    if (fresh && parts.length > 1) parts = [inUsageOrder(parts)]
    bytes = r.bytes
    newProblems = r.problems
    for (const c of r.cursors) done.set(c.file.path, c)
    // Pieces of one call read in an earlier update, or by two threads, become one call.
    for (const part of parts) records += calls.add(part, mergeUsageCall, partCall)
  }
  early?.stopImportWorkers(ahead)
  const tRead = performance.now()
  const out: SummaryFile[] = cursors.map(({ c: c0, st, p }) => {
    const c = done.get(c0.file.path) ?? c0
    // A file not read and as it was: its cursor stays the very object held.
    if (c === c0 && p !== undefined && p.path === st.path && p.size === st.size && p.mtime === st.mtime && p.ino === st.ino && p.dev === st.dev && p.kind === c.file.kind && p.offset === c.offset && p.head_len === Math.min(4096, p.offset)) return p
    const headLen = Math.min(4096, c.offset)
    const head = headLen === 0 ? '' : p !== undefined && p.head_len === headLen ? p.head : c.head?.len === headLen ? c.head.sha256 : headHash(c.file.path, headLen)
    return {
      kind: c.file.kind, path: c.file.path, dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtime, head, head_len: headLen, offset: c.offset, line: c.line,
      ...(c.codex !== undefined ? { codex: c.codex } : {}),
      ...(c.claude !== undefined ? { claude: c.claude } : {}),
    }
  })
  const all = [...problems, ...newProblems]
  try {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 })
    // An update appends what it read and the cursors that moved; the file is written whole when
    // new, rebuilt, torn at the end, or when the segments have grown (compaction).
    let appended = false
    if (!fresh && !doc.torn && doc.segments < MAX_SEGMENTS && doc.segmentBytes <= MAX_SEGMENT_SHARE * doc.size) {
      const now = new Set(out.map((f) => f.path))
      const moved = out.filter((f) => {
        const p = prevByPath.get(f.path)
        if (p === f) return false
        // The reader's state only changes with the offset.
        return p === undefined || p.offset !== f.offset || p.line !== f.line || p.size !== f.size || p.mtime !== f.mtime || p.ino !== f.ino || p.dev !== f.dev || p.head !== f.head || p.kind !== f.kind
      })
      appended = append(path, doc, { files: moved, gone: prev.filter((f) => !now.has(f.path)).map((f) => f.path), problems: newProblems, parts: parts.map(storedColumns) })
    }
    if (!appended) save(path, { version: USAGE_SUMMARY_VERSION, build: options.build, files: out, problems: all, table: calls })
  } catch {
    // An index dir that cannot be written: the answer is still this run's (like an index in
    // memory); the next run reads the transcripts again.
  }
  return {
    summary: { calls, problems: all },
    update: {
      ...(rebuilt !== undefined ? { rebuilt } : {}),
      bytes, records, shards: 1, pending: 0, problems: newProblems.length,
      ms: performance.now() - t0, readMs: tRead - tRead0, commitMs: performance.now() - tRead,
    },
  }
}
