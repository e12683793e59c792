import type { SessionChainEntry } from '@agenttap/session-extractor'
import { insightRow } from './cache-modes.js'
import { factsPick, shardSections } from './facts-segment.js'
import type { PickedRows } from './facts-segment.js'
import { createFlowDelta } from './flow-delta.js'
import { createFlowFeeder } from './flow-feeder.js'
import type { CreateLedger, PendingFlow, Problem } from './flow-feeder.js'
import { createLineCursor } from './line-cursor.js'
import type { FileRange } from './line-cursor.js'
import { createRecordMerge } from './record-merge.js'
import { createRowFiles } from './row-files.js'
import type { DataTable } from './schema.js'
import type { Row } from './types.js'

/**
 * One shard of an index update: every shard reads every new byte, keeps the lines of its own
 * flows (a cheap hash of the `flow_id` found in the raw line), and runs its own ledger over
 * them. Runs on the main thread for small updates; a large one runs shard 0 there and the others
 * in worker threads.
 *
 * Flows without a session id of their own (`session_source: "derived"`, SDK scripts) all go to
 * shard 0: the ledger chains them into sessions by their history, which needs to see every one
 * of them, in order. They are found in the flows file before the lines are read.
 */

/** What a shard is asked to do (structured-clonable: it crosses to worker threads). */
export interface ShardJob {
  shard: number
  shards: number
  /** New bytes to read: every file of the capture, each from its last offset. */
  ranges: FileRange[]
  /** This shard's flows left open by the last update, fed again first. */
  pending: PendingFlow[]
  /** Flows (open from an earlier update) whose session is derived: they belong to shard 0. */
  derived?: string[]
  captureDir: string
  /** Where the row files go. */
  rowsDir: string
  /** Module that exports `createLedger`. */
  ledgerModule: string
  now: number
  holdEndMs?: number
  staleMs?: number
  maxLineBytes?: number
  /** No later update will come (an in-memory index). */
  final?: boolean
  /**
   * Shard 0 (which gets every flow without a session id of its own): the session chain the last
   * update left, continued by this one.
   */
  sessionChain?: SessionChainEntry[]
  /**
   * Hand back the calls written as the cache-break analysis reads them (`insightRow`; the index
   * held no calls before this update, so each is the row the commit stores): the analysis after
   * the commit takes them from here instead of reading them back out of DuckDB as JSON.
   */
  keepInsight?: boolean
  /**
   * Keep what the wire facts keep of each calls, flows and tool_calls row (`factsPick`) and make
   * this shard's part of the facts from them at the end (`factsParts`): the index held no rows
   * before this update, so the facts are made from these instead of read back out of DuckDB
   * after the commit.
   */
  keepFacts?: boolean
  /** Decode every flow record whole (no flow-delta.ts): for comparisons. */
  wholeLines?: boolean
  /**
   * Where each shard keeps the bytes it has gone through (a Float64Array over it, one slot per
   * shard; shared with the worker threads, not copied), for the update's progress report.
   */
  progress?: SharedArrayBuffer
}

/** What a shard did. */
export interface ShardResult {
  shard: number
  files: Partial<Record<DataTable, string>>
  rows: Partial<Record<DataTable, number>>
  /** Bytes of the largest row of each file (see `RowFiles.largest`). */
  largest: Partial<Record<DataTable, number>>
  /** Per file: where the last whole line read ends (the same for every shard). */
  ends: { path: string; offset: number; lines: number }[]
  pending: PendingFlow[]
  orphans: { flow_id: string; records: number; file: string; line: number; offset: number }[]
  records: number
  bytes: number
  /** Shard 0: the session chain after this update (absent when it is and was empty). */
  sessionChain?: SessionChainEntry[]
  /** Flows this shard wrote calls or a flow row for (what the prompt cache merges again, and the wire facts add). */
  callFlows: string[]
  /** With `keepInsight`: the calls with usage as the cache-break analysis reads them, up to {@link SEGMENT_CHARS} characters of segments in all. */
  insight?: Row[]
  /** With `keepFacts`: this shard's part of the facts (`shardSections` of facts-segment.ts). */
  factsParts?: Uint8Array[]
}

/** Characters of `segments` a shard hands back at most (beyond, the analysis reads the rest from DuckDB). */
export const SEGMENT_CHARS = 128 * 1024 * 1024

const NEEDLE = Buffer.from('"flow_id":"')
const DERIVED = Buffer.from('"session_source":"derived"')

/**
 * Finds a needle in the lines of a chunk, scanning each byte at most once: a line without the
 * needle must not make the search run through the rest of the chunk again for every such line
 * (`Buffer.indexOf` has no end bound), and a bounded `subarray` per line is an allocation per
 * line. The next occurrence found is kept; lines are asked for in order within a chunk, and a
 * new chunk (a new buffer, or positions starting over) starts afresh.
 */
export function createFinder(needle: Buffer): (buf: Buffer, start: number, end: number) => number {
  let lastBuf: Buffer | undefined
  let lastStart = -1
  let next = -1
  // Where the needle sat in the last line it was found in (from the line's start): the lines of
  // one file share their layout, so the next line most likely has it at the same place. Checked
  // in JavaScript, that is several times cheaper than a `Buffer.indexOf` call (its wrapper and
  // its search set-up cost more than the ~50 bytes it looks through).
  let guess = -1
  const n = needle.length
  const first = needle[0]!
  // (A one-byte needle has no second byte: -1 matches no byte, so any first byte stops the check.)
  const second = n > 1 ? needle[1]! : -1
  return (buf, start, end) => {
    if (buf !== lastBuf || start < lastStart || (next !== -1 && next < start)) {
      lastBuf = buf
      next = -1
      const at = start + guess
      if (guess >= 0 && at + n <= end) {
        let k = 0
        while (k < n && buf[at + k] === needle[k]) k++
        if (k === n) {
          // The guess stands only if it is the first occurrence from `start`, as indexOf would
          // give: an earlier one would start with the needle's first two bytes before `at`
          // (one straddling `at` cannot: the byte at `at` is the needle's first, not its
          // second). Any such pair, even without the rest of the needle, sends the line to
          // indexOf below: rare, and one tight loop over the line's head is all most lines cost.
          let i = start
          while (i < at && !(buf[i] === first && (second === -1 || buf[i + 1] === second))) i++
          if (i === at) next = at
        }
      }
      if (next === -1) {
        next = buf.indexOf(needle, start)
        if (next !== -1 && next + n <= end) guess = next - start
      }
    }
    lastStart = start
    return next !== -1 && next + n <= end ? next : -1
  }
}

/** The flow id of a raw line: [start, end) of its bytes, or undefined. */
function flowIdAt(find: ReturnType<typeof createFinder>, buf: Buffer, start: number, end: number): [number, number] | undefined {
  const at = find(buf, start, end)
  if (at === -1) return undefined
  const from = at + NEEDLE.length
  for (let i = from; i < end; i++) if (buf[i] === 0x22) return [from, i]
  return undefined
}

/**
 * FNV-1a of the flow id's bytes, found in the raw line; lines without one go to shard 0. (The id
 * is hashed as it is found, without an object per line: this runs on every line of the capture
 * in every shard.)
 */
export function shardOf(find: ReturnType<typeof createFinder>, buf: Buffer, start: number, end: number, shards: number, derived?: Set<string>): number {
  const at = find(buf, start, end)
  if (at === -1) return 0
  const from = at + NEEDLE.length
  let h = 0x811c9dc5
  let i = from
  for (; i < end; i++) {
    const c = buf[i]!
    if (c === 0x22) break
    h ^= c
    h = Math.imul(h, 0x01000193)
  }
  if (i === end) return 0 // no closing quote: no id
  if (derived !== undefined && derived.size > 0 && derived.has(buf.toString('utf8', from, i))) return 0
  return (h >>> 0) % shards
}

/** The flows of the new flow records whose session is derived (a scan of the raw lines, no parse). */
function derivedFlows(ranges: FileRange[], into: Set<string>): void {
  const findDerived = createFinder(DERIVED)
  const findId = createFinder(NEEDLE)
  const c = createLineCursor(ranges.filter((r) => r.kind === 'flows'), {
    keep: (buf, s, e) => {
      // session_source sits before the headers and the body: look in the line's first 4 KiB.
      const d = findDerived(buf, s, e)
      if (d !== -1 && d < s + 4096) {
        const id = flowIdAt(findId, buf, s, e)
        if (id !== undefined) into.add(buf.toString('utf8', id[0], id[1]))
      }
      return false
    },
  })
  while (c.next() !== undefined) {
    // keep() collects; no line is handed out
  }
}

/** The shard of a flow id (the same hash as {@link shardOf}). */
export function shardOfId(flowId: string, shards: number): number {
  const b = Buffer.from(flowId, 'utf8')
  let h = 0x811c9dc5
  for (const c of b) {
    if (c === 0x22) break
    h ^= c
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % shards
}

const ledgers = new Map<string, Promise<CreateLedger>>()

/** Loads `createLedger` from a module (once per thread). */
export function loadLedger(specifier: string): Promise<CreateLedger> {
  let p = ledgers.get(specifier)
  if (p === undefined) {
    p = import(specifier).then((m: Record<string, unknown>) => {
      if (typeof m.createLedger !== 'function') throw new Error(`${specifier} exports no createLedger`)
      return m.createLedger as CreateLedger
    })
    ledgers.set(specifier, p)
  }
  return p
}

/** How often (in records read) a shard on the caller's thread reports its progress. */
const PROGRESS_EVERY = 4096

/**
 * Runs one shard. `onProgress` (on the caller's thread only: a job crosses to workers without it)
 * is told the bytes of the job's ranges gone through so far, every few thousand records and at
 * the end; the same figure goes into the job's `progress` slot, where the caller reads the
 * workers' (every shard reads every byte: the slowest shard's figure is the update's).
 */
export async function runShard(job: ShardJob, onProgress?: (bytes: number) => void): Promise<ShardResult> {
  const createLedger = await loadLedger(job.ledgerModule)
  const rows = createRowFiles(job.rowsDir, `shard${job.shard}`)
  const onProblem = (p: Problem): void => rows.write('problems', { ...p })
  const facts: PickedRows | undefined = job.keepFacts ? { calls: [], flows: [], tool_calls: [] } : undefined
  const callFlows = new Set<string>()
  const insight: Row[] | undefined = job.keepInsight ? [] : undefined
  let segmentChars = 0
  // Flows without a session id are chained by history on shard 0, continuing the last update.
  // (Loaded here, not at the top: a run that only queries an up-to-date index never needs it.)
  const chain = job.shard === 0 ? (await import('@agenttap/session-extractor')).createSessionChain() : undefined
  if (chain !== undefined && job.sessionChain !== undefined) chain.restore(job.sessionChain)
  const feeder = createFlowFeeder({
    ...(chain !== undefined ? { sessionChain: chain } : {}),
    createLedger,
    captureDir: job.captureDir,
    onRow: (t, r) => {
      if (t === 'calls' || t === 'flows') callFlows.add(String(r.flow_id))
      // (The cache-break analysis takes the calls with usage only.)
      if (t === 'calls' && insight !== undefined && r.has_usage === true) {
        const chars = typeof r.segments === 'string' ? r.segments.length : 0
        const row = segmentChars + chars <= SEGMENT_CHARS ? insightRow(r) : undefined
        if (row !== undefined) {
          insight.push(row)
          segmentChars += chars
        }
      }
      rows.write(t, r)
      if (facts !== undefined) {
        const f = factsPick(t, r)
        if (f !== undefined) facts[t as keyof PickedRows].push(f)
      }
    },
    onProblem,
    now: job.now,
    ...(job.holdEndMs !== undefined ? { holdEndMs: job.holdEndMs } : {}),
    ...(job.staleMs !== undefined ? { staleMs: job.staleMs } : {}),
    ...(job.final ? { final: true } : {}),
  })
  for (const p of job.pending) await feeder.refeed(p)

  // Which lines are this shard's: one finder per cursor (each reads its own chunks).
  let mine = (): ((buf: Buffer, s: number, e: number) => boolean) => () => true
  if (job.shards > 1) {
    const derived = new Set(job.derived ?? [])
    derivedFlows(job.ranges, derived)
    mine = () => {
      const find = createFinder(NEEDLE)
      return (buf, s, e) => shardOf(find, buf, s, e, job.shards, derived) === job.shard
    }
  }
  const cursors = (['flows', 'lines', 'ends'] as const).map((kind) =>
    createLineCursor(job.ranges.filter((r) => r.kind === kind), {
      keep: mine(),
      // Flow records resend their conversation: decoded without what the last one had (flow-delta.ts).
      ...(kind === 'flows' && job.wholeLines !== true ? { decode: createFlowDelta().decode } : {}),
      ...(job.maxLineBytes !== undefined ? { maxLineBytes: job.maxLineBytes } : {}),
      onLongLine: (l) => {
        if (job.shard !== 0) return
        onProblem({ code: 'LINE_TOO_LONG', file: l.range.path, line: l.line, offset: l.offset, flow_id: null, seq: null, message: `line of ${l.bytes} bytes is over the ${job.maxLineBytes ?? 256 * 1024 * 1024}-byte cap: skipped` })
      },
    }),
  )
  const merge = createRecordMerge(cursors, (b) =>
    onProblem({ code: 'MALFORMED_LINE', file: b.line.range.path, line: b.line.line, offset: b.line.offset, flow_id: null, seq: null, message: `not a JSON record (${b.message})` }),
  )
  const slots = job.progress !== undefined ? new Float64Array(job.progress) : undefined
  const report = onProgress === undefined && slots === undefined ? undefined : (): void => {
    const n = cursors.reduce((sum, c) => sum + c.consumed(), 0)
    if (slots !== undefined) slots[job.shard] = n
    onProgress?.(n)
  }
  let untilReport = PROGRESS_EVERY
  for (let sr = merge.next(); sr !== undefined; sr = merge.next()) {
    const p = feeder.feed(sr)
    if (p) await p
    if (report !== undefined && --untilReport === 0) {
      untilReport = PROGRESS_EVERY
      report()
    }
  }
  report?.()
  const res = await feeder.finish()
  const ends = cursors.flatMap((c) => c.ends())
  const bytes = job.ranges.reduce((n, r) => n + Math.max(0, (ends.find((e) => e.path === r.path)?.offset ?? r.start) - r.start), 0)
  const counts = rows.counts()
  const largest = rows.largest()
  const files = rows.close()
  let factsParts: Uint8Array[] | undefined
  if (facts !== undefined) {
    try {
      factsParts = shardSections(facts, new Set(res.pending.map((p) => p.flow_id)))
    } catch {
      // none: the facts are then read from DuckDB (see indexer.ts)
    }
  }
  return {
    shard: job.shard,
    files,
    rows: counts,
    largest,
    ends,
    pending: res.pending,
    orphans: res.orphans.map((o) => ({ flow_id: o.flow_id, records: o.records, file: o.first.file, line: o.first.line, offset: o.first.offset })),
    records: res.records,
    bytes,
    callFlows: [...callFlows],
    ...(insight !== undefined ? { insight } : {}),
    ...(factsParts !== undefined ? { factsParts } : {}),
    ...(chain !== undefined && (chain.size > 0 || (job.sessionChain?.length ?? 0) > 0) ? { sessionChain: chain.snapshot() } : {}),
  }
}
