import { appendFileSync, closeSync, fstatSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
// node:zlib for its crc32, loaded when facts are read (not by `prompts -n`, which reads none).
const crc32 = (b: Buffer): number => process.getBuiltinModule('node:zlib').crc32(b)
import type { Duck } from './duck.js'
import { Text, decode } from './facts-columns.js'
import type { Part } from './facts-columns.js'
import { MAGIC, SECTIONS, compactSections, problemsOf, segment, segmentOf, segmentPieces } from './facts-segment.js'
import type { FactsProblems, Header, RowSection, Section } from './facts-segment.js'
import { frameAt } from './frames.js'
import type { IndexPaths } from './index-store.js'
import { readState } from './index-store.js'
import { readAt } from './read-at.js'
import { writeAll } from './write-all.js'
import { BUNDLED_PRICES } from './prices.js'
import { pricesFingerprint } from './transcript-usage-daily.js'
import type { ModeName, PriceTable, Row } from './types.js'

// What the facts' callers (and tests) import from the facts file's module.
export type { FactsProblems, Section } from './facts-segment.js'
export { rowsOfFiles } from './facts-segment.js'
export { factsRows, wholeLinesAnswer } from './facts-answers.js'
export { factsNdjson, factsResult } from './facts-output.js'

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
 * name, renamed over it). It is also written whole after a rebuild or a large update (from the
 * tables), and when the segments have grown past 24, or past a quarter of the file and 1 MiB
 * (from the segments themselves, {@link compactWireFacts}: the same bytes). Deleting it is always safe.
 */

export const WIRE_FACTS_FILE = 'wire-facts.bin'
/** Rewrite the file whole when the segments have grown past this many, or past this share of it and this size. */
export const FACTS_MAX_SEGMENTS = 24
const MAX_SEGMENT_SHARE = 0.25
const MIN_COMPACT_BYTES = 1 << 20

/** The modes the facts answer. */
export const FACTS_MODES: readonly ModeName[] = ['usage', 'cost', 'sessions', 'tool_calls']

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
export function appendFactsSegment(paths: IndexPaths, tail: FactsTail, stamp: string, rows: Record<RowSection, Row[]>, drop: string[] = []): boolean {
  return append(join(paths.dir, WIRE_FACTS_FILE), tail, segmentOf(stamp, tail.stamp, drop, tail.problems, rows))
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
export async function writeWireFacts(d: Duck, paths: IndexPaths, base: FactsTail | undefined, update: { refed: string[]; added: string[]; problems: number } | undefined, made?: () => Promise<Buffer[] | undefined>): Promise<void> {
  const stamp = readState(paths)?.stamp
  if (stamp === undefined) return
  const path = join(paths.dir, WIRE_FACTS_FILE)
  try {
    if (base !== undefined && update !== undefined) {
      // An update that found no problem leaves the index's summary as it was.
      const bytes = await segment(d, stamp, base.stamp, update.refed, [...new Set([...update.refed, ...update.added])], update.problems === 0 ? base.problems : undefined)
      const within = base.segments < FACTS_MAX_SEGMENTS && (base.segmentBytes <= MAX_SEGMENT_SHARE * base.size || base.segmentBytes < MIN_COMPACT_BYTES)
      // Past the caps: appended, then written whole from the segments (the caller holds the
      // index's lock), which is the bytes the tables would give in a third of the time.
      if (append(path, base, bytes) && (within || compactWireFacts(paths))) return
    }
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
    try {
      // The sections the update made from its own rows (a build into an empty index: they are
      // the tables' rows), else from the tables.
      const parts = made === undefined ? undefined : await made().catch(() => undefined)
      writePieces(tmp, parts !== undefined ? segmentPieces(stamp, '', [], await problemsOf(d), parts) : [await segment(d, stamp, '', [], undefined)])
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

/**
 * Writes the facts whole from their own segments, without DuckDB: one segment of every row, the
 * bytes a segment written from the index's tables holds (`compactSections`), for the state's
 * stamp. The caller holds the index's lock (no append may come between the read and the
 * rename). False, with the file as it was, when the facts are not current or cannot be merged.
 */
export function compactWireFacts(paths: IndexPaths): boolean {
  const c = compactedAside(paths)
  if (c === undefined) return false
  return swapIn(paths, c)
}

/**
 * {@link compactWireFacts} without the index's lock while it works (what the background
 * maintenance does once its update is committed, so a run that comes meanwhile waits for the
 * commit only): the facts are read and written whole beside the file, then `lock` is taken and
 * they are put in place, followed by the segments runs appended meanwhile (appends go to the end
 * of the file, each segment naming the state before it: they follow the compacted one as they
 * followed the segments it replaces). Left as it is when the file was written whole meanwhile or
 * what would be put in place is not the current state's facts. False when nothing was put in place.
 */
export function compactWireFactsUnlocked(paths: IndexPaths, lock: () => (() => void) | undefined): boolean {
  const c = compactedAside(paths)
  if (c === undefined) return false
  const unlock = lock()
  if (unlock === undefined) {
    rmSync(c.tmp, { force: true })
    return false
  }
  try {
    const path = join(paths.dir, WIRE_FACTS_FILE)
    const st = statSync(path)
    if (st.ino === c.ino && st.size >= c.size) {
      if (st.size > c.size) {
        const more = Buffer.allocUnsafe(st.size - c.size)
        const fd = openSync(path, 'r')
        try {
          if (readAt(fd, more, c.size) < more.length) throw new Error('the facts file shrank')
        } finally {
          closeSync(fd)
        }
        appendFileSync(c.tmp, more)
      }
      if (currentAt(c.tmp, readState(paths)?.stamp)) return swapIn(paths, c)
    }
    rmSync(c.tmp, { force: true })
    return false
  } catch {
    rmSync(c.tmp, { force: true })
    return false
  } finally {
    unlock()
  }
}

/** Whether the facts file at `path` is whole, its segments chained, the last one of state `stamp`. */
function currentAt(path: string, stamp: string | undefined): boolean {
  if (stamp === undefined) return false
  const fd = openSync(path, 'r')
  try {
    const { segs, torn } = walk(fd, fstatSync(fd).size)
    let prev = ''
    for (const { h } of segs) {
      if (h.prev !== prev) return false
      prev = h.stamp
    }
    return !torn && segs.length > 0 && prev === stamp
  } finally {
    closeSync(fd)
  }
}

/**
 * The facts of the state `state.json` names, written whole into a file beside them (`tmp`), with
 * that state's stamp, and the identity and size of the file they were read from; undefined
 * (nothing left behind) when the facts are not current, changed while read, or cannot be merged
 * (an older layout).
 */
function compactedAside(paths: IndexPaths): { stamp: string; tmp: string; ino: number; size: number } | undefined {
  const path = join(paths.dir, WIRE_FACTS_FILE)
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  try {
    const stamp = readState(paths)?.stamp
    const before = statSync(path)
    const f = stamp === undefined ? undefined : readWireFacts(paths, SECTIONS, stamp)
    const after = statSync(path)
    // (A segment appended while it was read: the facts read may end before it; left for later.)
    if (after.ino !== before.ino || after.size !== before.size) return undefined
    const parts = f === undefined ? undefined : compactSections(f)
    if (stamp === undefined || f === undefined || parts === undefined) return undefined
    writePieces(tmp, segmentPieces(stamp, '', [], f.problems, parts))
    return { stamp, tmp, ino: before.ino, size: before.size }
  } catch {
    rmSync(tmp, { force: true })
    return undefined
  }
}

/** Puts facts written by {@link compactedAside} in place. */
function swapIn(paths: IndexPaths, c: { tmp: string }): boolean {
  try {
    renameSync(c.tmp, join(paths.dir, WIRE_FACTS_FILE))
    return true
  } catch {
    rmSync(c.tmp, { force: true })
    return false
  }
}

/** Writes a new file (0600) of `pieces` one after the other: no joined copy of them (tens of MB for a big capture's facts). */
function writePieces(path: string, pieces: readonly Buffer[]): void {
  const fd = openSync(path, 'w', 0o600)
  try {
    for (const p of pieces) writeAll(fd, p)
  } finally {
    closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** The facts as read: per section, one part per segment and which of its rows later segments left (lines sections: see their rows' section). */
export interface WireFacts {
  problems: FactsProblems
  parts: Partial<Record<Section, { part: Part; alive: Uint8Array | undefined }[]>>
  /** Whether a segment after the first drops flows (rows of the segments before it). */
  drops: boolean
}

/**
 * The facts of the index as `state.json` names it now (or of the state `stamp` names), with the
 * sections asked for; undefined when there are none, they are torn, or they describe another
 * state (the caller asks DuckDB). `extra`: a segment kept in memory, on top of the file's
 * (see {@link factsReader}'s view).
 */
export function readWireFacts(paths: IndexPaths, need: readonly Section[], stamp = readState(paths)?.stamp, extra?: Buffer): WireFacts | undefined {
  if (stamp === undefined) return undefined
  let fd: number | undefined
  try {
    fd = openSync(join(paths.dir, WIRE_FACTS_FILE), 'r')
    const { segs, torn } = walk(fd, fstatSync(fd).size)
    const last = segs[segs.length - 1]
    if (torn || last === undefined || last.h.stamp !== stamp) return undefined
    // A segment kept in memory (`extra`: an append read while another run held the index, not
    // written) goes on top of the file's, as if appended.
    const all: { h: Header; at: number; from?: Buffer }[] = segs
    if (extra !== undefined) {
      const f = frameAt(extra, 0, MAGIC)
      if (f === undefined) return undefined
      const h = JSON.parse(f.payload.toString('utf8')) as Header
      if (f.next + h.sections.reduce((n, [l]) => n + l, 0) !== extra.length) return undefined
      all.push({ h, at: f.next, from: extra })
    }
    const got: { drop: string[]; parts: Partial<Record<Section, Part>> }[] = []
    let prev = ''
    for (const { h, at: start, from } of all) {
      if (h.prev !== prev) return undefined
      prev = h.stamp
      let at = start
      const parts: Partial<Record<Section, Part>> = {}
      // A file written before the last sections were added has fewer: those are absent.
      for (let i = 0; i < Math.min(SECTIONS.length, h.sections.length); i++) {
        const [len, sum] = h.sections[i]!
        if (need.includes(SECTIONS[i]!)) {
          // A buffer of its own (aligned): the typed columns are views of it.
          const b = Buffer.allocUnsafeSlow(len)
          if ((from === undefined ? readAt(fd, b, at) : from.copy(b, 0, at, at + len)) < len || crc32(b) !== sum) return undefined
          parts[SECTIONS[i]!] = decode(b)
        }
        at += len
      }
      got.push({ drop: h.drop, parts })
    }
    const out: WireFacts = { problems: all[all.length - 1]!.h.problems, parts: {}, drops: got.slice(1).some((g) => g.drop.length > 0) }
    for (const s of need) {
      // A section some segment lacks (an older file): not given (its answer is made otherwise).
      if (got.some((g) => g.parts[s] === undefined)) continue
      out.parts[s] = got.map((g, k) => {
        const part = g.parts[s]!
        // Rows of flows a later segment drops (fed again: its rows are theirs now).
        const drop = new Set(got.slice(k + 1).flatMap((x) => x.drop))
        // A lines section has no flow column: its rows are those of its rows' section, whose
        // mask the answers use (facts-answers.ts).
        if (drop.size === 0 || part.n === 0 || part.cols.flow === undefined) return { part, alive: undefined }
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

/** The facts' tail when they describe the index as the state names it (an update appends to them). */
export function currentFactsTail(paths: IndexPaths): FactsTail | undefined {
  const tail = factsTail(paths)
  return tail !== undefined && tail.stamp === readState(paths)?.stamp ? tail : undefined
}

/** The sections a facts mode reads (`lines`: NDJSON is asked for, and the lines the facts keep are copied). */
export function factsSections(mode: ModeName, lines: boolean, prices: PriceTable): Section[] {
  if (mode === 'usage') return ['calls', ...(lines ? ['usageLines' as const] : [])]
  if (mode === 'cost') return ['calls', ...(lines && pricesFingerprint(prices) === pricesFingerprint(BUNDLED_PRICES) ? ['costLines' as const] : [])]
  return mode === 'sessions' ? ['calls', 'flows'] : ['tools', ...(lines ? ['toolLines' as const] : [])]
}

/**
 * A reader of the facts of the index as its state names them now, with the sections asked for:
 * once read, they are kept for the next mode of the run (while the state's stamp stays). With a
 * `view` (an append read while another run held the index, wire-append.ts `viewAppend`): the
 * facts of the state it was made on with its segment on top, undefined once the file no longer
 * ends with that state's segment (the caller asks DuckDB, which waits for the index).
 */
export function factsReader(paths: IndexPaths, view?: { base: string; segment: Buffer }): (sections: Section[]) => WireFacts | undefined {
  let read: { stamp: string | undefined; sections: Section[]; facts: WireFacts } | undefined
  return (sections) => {
    const stamp = view !== undefined ? view.base : readState(paths)?.stamp
    const kept = read?.stamp === stamp ? read : undefined
    // Only the sections not read yet (the lines of `usage` after an append, then its rows: not the lines again).
    const missing = [...new Set(sections.filter((s) => kept === undefined || !kept.sections.includes(s)))]
    if (kept !== undefined && missing.length === 0) return kept.facts
    const f = readWireFacts(paths, missing, stamp, view?.segment)
    const facts = f === undefined || kept === undefined ? f : { ...f, parts: { ...kept.facts.parts, ...f.parts } }
    read = facts === undefined ? undefined : { stamp, sections: [...(kept?.sections ?? []), ...missing], facts }
    return facts
  }
}
