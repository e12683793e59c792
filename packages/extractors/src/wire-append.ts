import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { updateCacheBreaks } from './cache-modes.js'
import { planUpdate, statCapture } from './capture-snapshot.js'
import type { SourceState } from './capture-snapshot.js'
import type { Duck } from './duck.js'
import { commitUpdate, lockIndex, pendingDeadline, readPendingFlows, readState, writePendingFiles, writePendingFlows, writeState } from './index-store.js'
import type { IndexPaths, IndexState } from './index-store.js'
import type { IndexUpdate } from './indexer.js'
import { INDEX_VERSION } from './schema.js'
import type { DataTable } from './schema.js'
import { runShard } from './shard-run.js'
import type { ShardResult } from './shard-run.js'
import type { CaptureFiles } from './sources.js'
import type { Row } from './types.js'
import type { PendingFlow } from './flow-feeder.js'
import { FACTS_MAX_SEGMENTS, appendFactsSegment, factsTail, flowsInFacts, rowsOfFiles } from './wire-facts.js'
import type { FactsTail } from './wire-facts.js'
import { segmentOf } from './facts-segment.js'

/**
 * A small append to a capture whose index is current, read without DuckDB: the records are fed
 * to the ledger as an update would (one shard, in this thread), the calls, flows and tool calls
 * go into the wire facts (a segment), and the rows wait in a **deferred** dir under the index
 * (`deferred-*`: the row files and what the commit needs) that DuckDB commits before its next
 * use (`applyDeferred`). So `usage` after an append pays neither DuckDB's load and open, nor its
 * commit, cache breaks, prompt cache and checkpoint; a mode that needs DuckDB pays them then.
 *
 * Only for the plain case: the index has no session chain (its state says so), the append is
 * under 16 MiB, follows the files' previous ends (no truncation, rotation or rewrite), and reads
 * cleanly — no orphan records, no problem, no flow the index already holds other than its open
 * ones. The flows the index holds open (a stream the proxy was still writing when the last run
 * read it: the usual case while an agent works) are fed again with the new bytes from
 * `pending.json`, which every update writes with its state, exactly as an update through DuckDB
 * feeds them from its `pending_*` tables: the segment drops their earlier rows, and the flows
 * still open after it go into the next `pending.json` and the deferred dir's manifest (DuckDB's
 * `pending_*` tables get them when it commits the dir). Anything else returns undefined before
 * anything is written, and the caller goes through DuckDB. The state file is the commit point: a
 * run that dies before it is renamed leaves the index as it was (a deferred dir it does not name
 * is removed later; a facts segment or `pending.json` of another stamp is not used). While
 * another run holds the index, a facts mode reads the append the same way into a segment it keeps
 * in memory ({@link viewAppend}) instead of waiting for the lock.
 */

/** Deferred appends kept before DuckDB must take them (the facts' own segment cap is 24). */
export const MAX_DEFERRED = 16
const MAX_BYTES = 16 * 1024 * 1024

/** What a deferred dir holds besides its row files (`manifest.json`). */
interface Manifest {
  files: Partial<Record<DataTable, string>>
  largest: Partial<Record<DataTable, number>>
  sources: SourceState[]
  /** Flows it wrote rows for (the cache breaks and the prompt cache take them). */
  touched: string[]
  /** The state's stamp before it. */
  base: string
  /** The open flows it fed again (their earlier rows are deleted first). Absent in older dirs: none. */
  refed?: string[]
  /** The flows still open after it (DuckDB's `pending_*` tables get them). Absent in older dirs: none. */
  pending?: PendingFlow[]
}

export interface AppendOptions {
  paths: IndexPaths
  files: CaptureFiles
  ledgerModule: string
  /** The ledger build the index was made with (see `ledgerBuild`). */
  build: string
  /** The extractor's options of the same names (undefined: their defaults). */
  now?: number | undefined
  holdEndMs?: number | undefined
  staleMs?: number | undefined
  maxLineBytes?: number | undefined
  /** Waiting for the index's lock (as `openIndex`). */
  lockTimeoutMs?: number | undefined
  onWait?: ((message: string) => void) | undefined
}

/** Whether a state allows an append without DuckDB (before the capture is looked at; its open flows: see `pending.json`). */
function plain(st: IndexState | undefined, build: string): st is IndexState & { sources: SourceState[] } {
  return st !== undefined && st.index_version === INDEX_VERSION && st.ledger_build === build && st.sources !== undefined && st.chain === 0 && (st.deferred?.length ?? 0) < MAX_DEFERRED
}

/** An append read (wire-append's plain case), not written yet. */
interface ReadAppend {
  res: ShardResult
  rows: Record<'calls' | 'flows' | 'tools', Row[]>
  /** The open flows fed again (their earlier rows dropped). */
  refed: string[]
  /** The files' positions after it. */
  sources: SourceState[]
}

/**
 * Reads the bytes appended since the state `st` into row files in `dir`: undefined when it is not
 * the plain case (see the module comment). Writes nothing else.
 */
async function readAppend(o: AppendOptions, st: IndexState & { sources: SourceState[] }, tail: FactsTail, dir: string): Promise<ReadAppend | undefined> {
  if (tail.stamp !== st.stamp) return undefined
  // The flows the index holds open (a stream the proxy was still writing): fed again with the
  // new bytes, as an update through DuckDB does (from `pending.json`, written with the state).
  const open = st.deadline_ms === null ? [] : readPendingFlows(o.paths, st.stamp)
  if (open === undefined) return undefined
  const plan = planUpdate(o.files, statCapture(o.files), st.sources)
  if (plan.rebuild !== undefined || plan.bytes === 0 || plan.bytes >= MAX_BYTES) return undefined
  const starts = [...plan.starts.values()]
  if (starts.length !== st.sources.length || starts.some((s) => !st.sources.some((x) => x.path === s.path && x.ino === s.ino && x.dev === s.dev && x.offset === s.offset))) return undefined
  const res = await runShard({
    shard: 0, shards: 1, ranges: plan.ranges, pending: open, derived: [], captureDir: o.files.dir, rowsDir: dir, ledgerModule: o.ledgerModule,
    now: o.now ?? Date.now(),
    ...(o.holdEndMs !== undefined ? { holdEndMs: o.holdEndMs } : {}),
    ...(o.staleMs !== undefined ? { staleMs: o.staleMs } : {}),
    ...(o.maxLineBytes !== undefined ? { maxLineBytes: o.maxLineBytes } : {}),
  })
  if (res.orphans.length > 0 || (res.rows.problems ?? 0) > 0 || res.sessionChain !== undefined) return undefined
  // The flows still open are `pending` (as the commit marks them in DuckDB): an open stream is
  // not a truncated one, which `sessions` would count as an error.
  const rows = rowsOfFiles(res.files, new Set(res.pending.map((p) => p.flow_id))) as Record<'calls' | 'flows' | 'tools', Row[]>
  // The open flows fed again replace their rows (the segment drops the earlier ones); any other
  // flow must be new to the index.
  const refed = open.map((p) => p.flow_id)
  const again = new Set(refed)
  const added = new Set<string>()
  for (const r of [...rows.flows, ...rows.calls, ...rows.tools]) if (!again.has(String(r.flow_id))) added.add(String(r.flow_id))
  const known = flowsInFacts(o.paths, added)
  if (known === undefined || known.size > 0) return undefined
  const ends = new Map(res.ends.map((e) => [e.path, e]))
  const sources = starts.map((s) => {
    const e = ends.get(s.path)
    return e === undefined ? s : { ...s, offset: e.offset, lines: e.lines }
  })
  return { res, rows, refed, sources }
}

const newStamp = (): string => `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`

/**
 * Reads an append into the facts and a deferred dir; undefined when it is not the plain case
 * (nothing written). `held`: the caller took the index's lock already (this releases it).
 */
export async function appendWithoutDuck(o: AppendOptions, held?: () => void): Promise<IndexUpdate | undefined> {
  const t0 = performance.now()
  if (held === undefined && !plain(readState(o.paths), o.build)) return undefined
  const { unlock } = held !== undefined ? { unlock: held } : await lockIndex(o.paths, { ...(o.lockTimeoutMs !== undefined ? { lockTimeoutMs: o.lockTimeoutMs } : {}), ...(o.onWait ? { onWait: o.onWait } : {}) })
  let dir: string | undefined
  let done = false
  try {
    // Under the lock: the state as it is now (another run may have updated the index meanwhile).
    const st = readState(o.paths)
    if (!plain(st, o.build)) return undefined
    const tail = factsTail(o.paths)
    if (tail === undefined || tail.segments >= FACTS_MAX_SEGMENTS) return undefined
    dir = mkdtempSync(join(o.paths.dir, 'deferred-'))
    const read = await readAppend(o, st, tail, dir)
    if (read === undefined) return undefined
    const { res, rows, refed, sources } = read
    const manifest: Manifest = { files: res.files, largest: res.largest, sources, touched: res.callFlows, base: st.stamp, refed, pending: res.pending }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest), { mode: 0o600 })
    const stamp = newStamp()
    if (!appendFactsSegment(o.paths, tail, stamp, rows, refed)) return undefined
    writePendingFlows(o.paths, stamp, res.pending)
    writeState(o.paths, {
      ...st,
      files: sources.map((s) => ({ path: s.path, dev: s.dev, ino: s.ino, offset: s.offset })),
      sources,
      stamp,
      deadline_ms: pendingDeadline(res.pending, o.holdEndMs, o.staleMs),
      deferred: [...(st.deferred ?? []), basename(dir)],
    })
    done = true
    return { bytes: res.bytes, records: res.records, shards: 1, pending: res.pending.length, problems: 0, ms: performance.now() - t0, readMs: performance.now() - t0 }
  } finally {
    if (!done && dir !== undefined) rmSync(dir, { recursive: true, force: true })
    unlock()
  }
}

/** An append read while another run held the index: the facts' segment it would add, kept in memory. */
export interface AppendView {
  update: IndexUpdate
  /** The state's stamp the segment goes on. */
  base: string
  /** The segment (as `appendFactsSegment` would write it). */
  segment: Buffer
}

/**
 * While another run holds the index (the background maintenance committing to DuckDB, most
 * often: ~1 s), an append is read as {@link appendWithoutDuck} reads it, without the lock and
 * without writing anything to the index: its facts' segment is kept in memory, to answer this
 * run's facts modes on top of the facts as they are (`factsReader` with a view). The next run reads
 * the same bytes again and writes them. `moved` when the state and the facts did not name one
 * state (the other run is writing them) or the state moved while it read: worth another look
 * soon. Undefined when it is not the plain case (the caller waits for the lock as usual).
 */
export async function viewAppend(o: AppendOptions): Promise<AppendView | 'moved' | undefined> {
  const t0 = performance.now()
  const st = readState(o.paths)
  if (!plain(st, o.build)) return undefined
  const tail = factsTail(o.paths)
  if (tail === undefined || tail.stamp !== st.stamp) return 'moved'
  // The row files go in a dir of this run's own, removed below: not a `deferred-*` one, which a
  // maintenance holding the index removes when no state names it, while this reads.
  const dir = mkdtempSync(join(o.paths.dir, 'view-'))
  try {
    const read = await readAppend(o, st, tail, dir)
    if (readState(o.paths)?.stamp !== st.stamp) return 'moved'
    if (read === undefined) return undefined
    const { res, rows, refed } = read
    const segment = segmentOf(newStamp(), tail.stamp, refed, tail.problems, rows)
    const ms = performance.now() - t0
    return { update: { bytes: res.bytes, records: res.records, shards: 1, pending: res.pending.length, problems: 0, ms, readMs: ms }, base: st.stamp, segment }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Removes the deferred appends (an index rebuilt or emptied reads their bytes again). */
export function dropDeferred(paths: IndexPaths): void {
  const st = readState(paths)
  if (st?.deferred !== undefined) {
    const { deferred: _, ...rest } = st
    writeState(paths, rest)
  }
  for (const e of readdirSync(paths.dir)) if (e.startsWith('deferred-')) rmSync(join(paths.dir, e), { recursive: true, force: true })
}

/**
 * Commits the deferred appends the state names to DuckDB (each in one transaction, with its
 * cache breaks), oldest first, and removes their dirs and any dir no state names (a run that
 * died); `keep: false` (an index rebuilt or emptied) drops them instead (`dropDeferred`). The
 * caller holds the index open for writing. Returns the flows they wrote and the stamp before the
 * first (the prompt cache of that stamp can be merged), or undefined when there were none.
 */
export async function applyDeferred(d: Duck, paths: IndexPaths, captureDir: string, keep = true): Promise<{ touched: string[]; base: string } | undefined> {
  if (!keep) {
    dropDeferred(paths)
    return undefined
  }
  const st = readState(paths)
  const names = st?.deferred ?? []
  const out = names.length === 0 ? undefined : { touched: [] as string[], base: '' }
  for (const [i, name] of names.entries()) {
    const m = JSON.parse(readFileSync(join(paths.dir, name, 'manifest.json'), 'utf8')) as Manifest
    if (i === 0) out!.base = m.base
    const files: Partial<Record<DataTable, string[]>> = {}
    for (const [t, f] of Object.entries(m.files)) files[t as DataTable] = [join(paths.dir, name, basename(f))]
    const pending = m.pending ?? []
    const pendingFiles = writePendingFiles(join(paths.dir, name), pending)
    await commitUpdate(d, { files, largest: m.largest, refed: m.refed ?? [], pending, ...(pendingFiles !== undefined ? { pendingFiles } : {}), orphans: [], sources: m.sources, meta: { capture_dir: captureDir } }, async () => void (await updateCacheBreaks(d, m.touched)))
    out!.touched.push(...m.touched)
  }
  if (st !== undefined && names.length > 0) {
    const { deferred: _, ...rest } = st
    writeState(paths, rest)
  }
  for (const e of readdirSync(paths.dir)) if (e.startsWith('deferred-')) rmSync(join(paths.dir, e), { recursive: true, force: true })
  return out
}
