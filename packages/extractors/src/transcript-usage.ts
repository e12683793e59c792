import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import type { ClaudeFileState, CodexFileState, FileCursor, TranscriptDirs, TranscriptProblem, TranscriptFile } from '@agenttap/transcripts'
import { usageWins } from '@agenttap/transcripts/dirs'
import { summaryHeadHash } from './transcript-usage-hash.js'
import { frame, frameAt } from './frames.js'
import type { IndexUpdate } from './indexer.js'
import { partCall, storedColumns } from './transcript-usage-cols.js'
import type { UsageCall, UsageColumns } from './transcript-usage-cols.js'
import { sinkImport } from './transcript-usage-sink.js'
import { UsageTable } from './transcript-usage-table.js'
import { listTranscripts } from './transcript-update.js'
import { builtModule } from './built-module.js'
import { readAt } from './read-at.js'
import { writeAll } from './write-all.js'
import { BUNDLED_PRICES } from './prices.js'
import type { IndexProgress, PriceTable } from './types.js'
import { DailySums } from './transcript-usage-daily.js'
import { BaseFiles } from './transcript-usage-files.js'
import type { FileRef } from './transcript-usage-files.js'

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
 * deleting it is always safe. The base block's file cursors are parsed only for the files an
 * update reads or moves (transcript-usage-files.ts).
 */

/** Bump when the summary's layout or meaning changes: an older one is rebuilt. */
export const USAGE_SUMMARY_VERSION = 3
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

/** A read summary's cursors: the base block's (by number) and those of the segments after it. */
interface HeldFiles {
  base: BaseFiles
  /** The cursors by path, in the order they were first held. */
  byPath: Map<string, FileRef>
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
  /**
   * Read only on this thread: when the update would read on worker threads (no summary yet, a
   * rebuild, or at least `workerMinBytes` new bytes), it stops before reading and writes nothing
   * ({@link updateUsageSummary} answers undefined). For a caller whose copy of the importer is
   * not the one the workers load (a bundle): it hands such an update to the package's own.
   */
  onThisThread?: boolean
  /** See `ExtractorOptions.onProgress` (the read only: the summary has no commit to speak of). */
  onProgress?: (progress: IndexProgress) => void
}

/** The summary as read: the base block's doc, the segments applied, and how to write next. */
interface Loaded extends Omit<SummaryDoc, 'files'>, HeldFiles {
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

/** A held cursor's `dev:ino`, size, mtime, offset and kind (a base file's from the header, nothing parsed). */
const idOf = (b: BaseFiles, r: FileRef): string => (typeof r === 'number' ? b.h.ids[r]! : `${r.dev}:${r.ino}`)
const sizeOf = (b: BaseFiles, r: FileRef): number => (typeof r === 'number' ? b.h.sizes[r]! : r.size)
const mtimeOf = (b: BaseFiles, r: FileRef): string => (typeof r === 'number' ? b.h.mtimes[r]! : r.mtime)
const offsetOf = (b: BaseFiles, r: FileRef): number => (typeof r === 'number' ? b.h.offsets[r]! : r.offset)
const kindOf = (b: BaseFiles, r: FileRef): string => (typeof r === 'number' ? b.h.kinds[r]! : r.kind)
/** A held cursor whole (undefined: a base cursor whose JSON is damaged). */
const fileOf = (b: BaseFiles, r: FileRef): SummaryFile | undefined => (typeof r === 'number' ? b.file(r) : r)

/** A cursor from a later segment replaces the one held, unless it is the same file read less far (two runs at once). */
function applyCursor(held: HeldFiles, f: SummaryFile): void {
  const had = held.byPath.get(f.path)
  if (had !== undefined && idOf(held.base, had) === `${f.dev}:${f.ino}` && offsetOf(held.base, had) > f.offset) return
  held.byPath.set(f.path, f)
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
    // Earlier layouts (their version is in the magic): rebuilt.
    const older = /^ATU([12])$/.exec(magic.toString('latin1'))
    if (older !== null) return { why: `the usage summary is of version ${older[1]!}, not ${USAGE_SUMMARY_VERSION}` }
    const read = UsageTable.read(fd, st.size)
    table = read.table
    const { header, end, extra } = read
    const doc = header as unknown as Omit<SummaryDoc, 'table' | 'files'> & { daily?: unknown }
    if (doc.version !== USAGE_SUMMARY_VERSION) return { why: `the usage summary is of version ${String(doc.version)}, not ${USAGE_SUMMARY_VERSION}` }
    if (doc.build !== build) return { why: 'the transcript importer changed since the usage summary was made' }
    if (!Array.isArray(doc.problems)) throw new Error('no problems')
    // The file cursors (the extra bytes: their JSON, parsed per file when used) and the segments after the block.
    const rest = Buffer.allocUnsafe(st.size - extra.at)
    const got = readAt(fd, rest, extra.at)
    if (got < end - extra.at) throw new Error('truncated')
    const base = BaseFiles.from(header, rest.subarray(0, extra.bytes))
    // The daily sums of the base, kept up to date from here on (built when of other prices).
    table.daily = DailySums.from(doc.daily, prices) ?? DailySums.over(table, prices)
    const all = rest.subarray(extra.bytes, got)
    const held: HeldFiles = { base, byPath: new Map<string, FileRef>(base.h.paths.map((p, i) => [p, i])) }
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
      for (const g of seg.gone) held.byPath.delete(g)
      for (const f of seg.files) applyCursor(held, f)
      problems.push(...seg.problems)
      off = fr.next
      segments++
    }
    ok = true
    return { ...doc, ...held, problems, table, dev: st.dev, ino: st.ino, size: end + off, segments, segmentBytes: off, torn }
  } catch (e) {
    return { why: `the usage summary ${path} could not be read (${(e as Error).message.slice(0, 120)})` }
  } finally {
    if (table === undefined) closeSync(fd)
    else if (!ok) table.close()
  }
}

/** Writes the summary whole under a temporary name (the block in pieces, as made), then renames it over the old one. */
function save(path: string, doc: SummaryDoc): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  let fd: number | undefined
  try {
    const { table, files, ...header } = doc
    const daily = table.daily instanceof DailySums && table.daily.exact ? { daily: table.daily.toJSON() } : {}
    const cursors = BaseFiles.write(files)
    fd = openSync(tmp, 'w', 0o600)
    const out = fd
    table.writeTo({ ...header, files: cursors.header, ...daily }, cursors.extra, (b) => writeAll(out, b))
    closeSync(fd)
    fd = undefined
    renameSync(tmp, path)
  } catch (e) {
    if (fd !== undefined) closeSync(fd)
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

/** A clock in milliseconds (`performance` would load perf_hooks, ~5 ms of a warm `daily`, for timings only --verbose shows). */
const msNow = (): number => Number(process.hrtime.bigint()) / 1e6

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
export async function updateUsageSummary(options: UsageSummaryOptions & { onThisThread?: false }): Promise<{ summary: UsageSummary; update: IndexUpdate }>
export async function updateUsageSummary(options: UsageSummaryOptions): Promise<{ summary: UsageSummary; update: IndexUpdate } | undefined>
export async function updateUsageSummary(options: UsageSummaryOptions): Promise<{ summary: UsageSummary; update: IndexUpdate } | undefined> {
  const t0 = msNow()
  const path = join(options.dir, USAGE_SUMMARY_FILE)
  // A first read or a rebuild reads every transcript: on worker threads.
  if (options.onThisThread === true && (options.rebuild === true || !existsSync(path))) return undefined
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
  const base = doc?.base ?? BaseFiles.empty
  const prevByPath: Map<string, FileRef> = doc?.byPath ?? new Map<string, FileRef>()
  // By inode, and the paths listed now: only for a file not found under its old name and inode.
  let prevByIno: Map<string, FileRef> | undefined
  let nowPaths: Set<string> | undefined
  // One entry per listed file, in listing order (`listTranscripts` gives `files` and
  // `listing.files` in the same order): the listing, the cursor held (a base file's by number:
  // parsed only when the file is read or moved), whether the file is as it was.
  const entries: { f: TranscriptFile; st: (typeof listing.files)[number]; p: FileRef | undefined; same: boolean }[] = []
  let changed = doc === undefined || prevByPath.size !== files.length
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!
    const st = listing.files[i]!
    const id = `${st.dev}:${st.ino}`
    const byPath = prevByPath.get(f.path)
    let p = byPath !== undefined && idOf(base, byPath) === id ? byPath : (prevByIno ??= new Map([...prevByPath.values()].map((r) => [idOf(base, r), r]))).get(id)
    // Found by inode under another name: a moved file keeps its first bytes; a new file that got
    // a deleted one's inode does not, and is new.
    if (p !== undefined && p !== byPath) {
      const x = fileOf(base, p)
      if (x === undefined || (nowPaths ??= new Set(listing.files.map((y) => y.path))).has(x.path) || x.head_len === 0 || f.size < x.head_len || summaryHeadHash(f.path, x.head_len) !== x.head) p = undefined
    }
    const same = p !== undefined && p === byPath && sizeOf(base, p) === f.size && mtimeOf(base, p) === st.mtime
    if (!same) changed = true
    if (p !== undefined && !same) {
      const x = fileOf(base, p)
      if (x === undefined) p = undefined
      else if (f.size < x.offset) rebuilt ??= `${f.path} shrank from ${x.offset} to ${f.size} bytes`
      else if (x.head_len > 0 && summaryHeadHash(f.path, x.head_len) !== x.head) rebuilt ??= `${f.path} was rewritten (its first bytes changed)`
    }
    entries.push({ f, st, p, same })
  }
  const fresh = rebuilt !== undefined || doc === undefined
  if (rebuilt !== undefined) for (const e of entries) e.p = undefined
  // A summary read but rebuilt all the same: its file is closed now, not when collected.
  if (fresh) doc?.table.close()
  const calls = fresh ? new UsageTable() : doc.table
  if (fresh) calls.daily = new DailySums(prices)
  const problems = fresh ? [] : doc.problems
  if (!changed && !fresh) return { summary: { calls, problems }, update: { bytes: 0, records: 0, shards: 0, pending: 0, problems: 0, ms: msNow() - t0 } }
  // The cursor to read from: the file's start, or where it was read to (a damaged base cursor: its start).
  const cursorOf = (e: (typeof entries)[number]): FileCursor => {
    const p = e.p === undefined ? undefined : fileOf(base, e.p)
    return p === undefined ? { file: e.f, offset: 0, line: 0 } : { file: e.f, offset: p.offset, line: p.line, ...(p.codex !== undefined ? { codex: p.codex } : {}), ...(p.claude !== undefined ? { claude: p.claude } : {}) }
  }
  const todo = entries.filter((e) => e.f.size > (e.p === undefined ? 0 : offsetOf(base, e.p))).map(cursorOf)
  let bytes = 0
  let records = 0
  let newProblems: TranscriptProblem[] = []
  let parts: UsageColumns[] = []
  const done = new Map<string, FileCursor>()
  const tRead0 = msNow()
  if (todo.length > 0) {
    const { importTranscripts } = await import('@agenttap/transcripts')
    // A read small enough for this thread (the importer's own rule: below `workerMinBytes`, 8 MiB
    // by default) takes the calls as rows, made columns here by sinkImport: the sink module is
    // for worker threads, and loading it by URL costs a module load.
    const newBytes = todo.reduce((n, c) => n + (c.file.size - c.offset), 0)
    const here = options.threads === 1 || newBytes < (options.workerMinBytes ?? 8 << 20)
    if (!here && options.onThisThread === true) {
      // Nothing read or written yet: the summary read is closed now, not when collected.
      doc?.table.close()
      return undefined
    }
    const sink = here ? undefined : builtModule('transcript-usage-sink.js')?.href
    const report = options.onProgress
    const r = await importTranscripts(todo, {
      usageOnly: true,
      // The head hashes of the files read from their start, by the threads that read them.
      heads: 4096,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
      ...(sink !== undefined ? { sink: { module: sink, rows: true } } : { rows: true }),
      ...(ahead !== undefined ? { workers: ahead } : {}),
      ...(report !== undefined ? { onProgress: (b: number, total: number) => report({ phase: 'read', of: 'transcripts', bytes: b, total, ms: msNow() - t0 }) } : {}),
    })
    parts = (r.sunk as UsageColumns[] | undefined) ?? [sinkImport(r)]
    bytes = r.bytes
    newProblems = r.problems
    for (const c of r.cursors) done.set(c.file.path, c)
    // Pieces of one call read in an earlier update, or by two threads, become one call. A new
    // table takes the parts (each in `usage` order) in their merged order: it then holds its
    // calls in that order, and its rewrite and the `usage` answer find them sorted.
    if (fresh) records = calls.add(parts, mergeUsageCall, partCall)
    else for (const part of parts) records += calls.add(part, mergeUsageCall, partCall)
  }
  early?.stopImportWorkers(ahead)
  const tRead = msNow()
  const out: FileRef[] = entries.map((e) => {
    const { f, st, p } = e
    const read = done.get(f.path)
    // A file not read and as it was: its cursor stays the very one held (a base file's unparsed).
    if (read === undefined && p !== undefined && e.same && kindOf(base, p) === f.kind) return p
    const c = read ?? cursorOf(e)
    const held = p === undefined ? undefined : fileOf(base, p)
    const headLen = Math.min(4096, c.offset)
    // The head's hash: as held, or as the reader took it (a file read from its start), or read again.
    const head = headLen === 0 ? '' : held !== undefined && held.head_len === headLen ? held.head : c.head?.len === headLen ? c.head.hash : summaryHeadHash(c.file.path, headLen)
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
      const now = new Set(files.map((f) => f.path))
      const moved: SummaryFile[] = []
      for (const f of out) {
        // A cursor held as it was (a base file's number, or the segment's object) did not move.
        if (typeof f === 'number' || prevByPath.get(f.path) === f) continue
        const r = prevByPath.get(f.path)
        const p = r === undefined ? undefined : fileOf(base, r)
        // The reader's state only changes with the offset.
        if (p === undefined || p.offset !== f.offset || p.line !== f.line || p.size !== f.size || p.mtime !== f.mtime || p.ino !== f.ino || p.dev !== f.dev || p.head !== f.head || p.kind !== f.kind) moved.push(f)
      }
      appended = append(path, doc, { files: moved, gone: [...prevByPath.keys()].filter((p) => !now.has(p)), problems: newProblems, parts: parts.map(storedColumns) })
    }
    // Written whole: every cursor parsed (one whose JSON is damaged is left out: its file is read again from its start).
    if (!appended) save(path, { version: USAGE_SUMMARY_VERSION, build: options.build, files: out.flatMap((r) => fileOf(base, r) ?? []), problems: all, table: calls })
  } catch {
    // An index dir that cannot be written: the answer is still this run's (like an index in
    // memory); the next run reads the transcripts again.
  }
  return {
    summary: { calls, problems: all },
    update: {
      ...(rebuilt !== undefined ? { rebuilt } : {}),
      bytes, records, shards: 1, pending: 0, problems: newProblems.length,
      ms: msNow() - t0, readMs: tRead - tRead0, commitMs: msNow() - tRead,
    },
  }
}
