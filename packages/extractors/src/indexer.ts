import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { planUpdate, statCapture } from './capture-snapshot.js'
import type { SourceState } from './capture-snapshot.js'
import { ExtractError } from './errors.js'
import { mergeShardSections } from './facts-segment.js'
import type { Duck } from './duck.js'
import { lit } from './duck.js'
import type { PendingFlow } from './flow-feeder.js'
import { clearIndex, commitUpdate, pendingDeadline, readPending, readSessionChain, readSources, writeMeta, writePendingFiles, writePendingFlows, writeState } from './index-store.js'
import type { IndexPaths, IndexState } from './index-store.js'
import { INDEX_VERSION } from './schema.js'
import type { DataTable } from './schema.js'
import { runShard, shardOfId } from './shard-run.js'
import type { ShardJob, ShardResult } from './shard-run.js'
import type { CaptureFiles } from './sources.js'
import type { IndexProgress, Row } from './types.js'
import { builtModule } from './built-module.js'
import { guardedProgress } from './progress-report.js'

/**
 * One index update: read the bytes appended since the last update (per file, up to a snapshot
 * of its size, whole lines only), feed them with the still-open flows' records to the ledger
 * (sharded over worker threads when there is a lot to read), and commit the rows, the open
 * flows and the new offsets in one transaction.
 */

/** Options of {@link updateIndex}. */
export interface UpdateIndexOptions {
  captureDir: string
  files: CaptureFiles
  /** Module that exports `createLedger` (and `LEDGER_VERSION`). @defaultValue '@agenttap/ledger' */
  ledgerModule?: string
  ledgerVersion: number
  /** The ledger module's build fingerprint (see `ledgerBuild`). */
  ledgerBuild: string
  /** At most this many shards (worker threads). @defaultValue min(cores, 4) */
  threads?: number
  /** Below this many new bytes the update runs on this thread. @defaultValue 16 MiB */
  workerMinBytes?: number
  /** Wall clock now (ms). @defaultValue Date.now() */
  now?: number
  holdEndMs?: number
  staleMs?: number
  maxLineBytes?: number
  /** Where row files are staged (removed afterwards). @defaultValue a temp dir in the index dir */
  stageDir: string
  /** The on-disk index (absent for an in-memory index: no state file). */
  paths?: IndexPaths
  /**
   * Runs in the update's transaction, before its commit, with the flows whose calls it wrote or
   * replaced: for a small update (one shard) that is not a rebuild only.
   */
  beforeCommit?: (touched: string[]) => Promise<void>
  /**
   * Into an index that held no calls (a first build, a rebuild; not with `beforeCommit`): work on
   * the calls written, in two parts around the commit. `select` runs in the update's transaction
   * before its commit, given the calls the shards handed back (key → `insightRow`); `work` runs
   * on this thread while DuckDB writes the commit (it must not touch the database, nor throw).
   * The cache breaks of a build: their pairs selected, then worked out while the tables are
   * written, instead of one after the other.
   */
  aroundCommit?: { select(insight: ReadonlyMap<string, Row>): Promise<void>; work(): void }
  /**
   * The caller writes the wire facts after the update: into an index that held no rows, the
   * update makes their sections from the rows it writes (`facts` of the result).
   */
  keepFacts?: boolean
  /** See `ExtractorOptions.onProgress`. */
  onProgress?: (progress: IndexProgress) => void
}

/** What an update did. */
export interface IndexUpdate {
  /** Why the index was rebuilt from scratch, when it was. */
  rebuilt?: string
  bytes: number
  records: number
  shards: number
  /** Flows still open. */
  pending: number
  /** Problems recorded by this update. */
  problems: number
  ms: number
  /** Of `ms`: reading and feeding the ledger (all shards), and committing to DuckDB. */
  readMs?: number
  commitMs?: number
  /** Of `ms`: reading and committing the transcripts, when the index has them. */
  transcriptMs?: number
}

/** An update, with the flows whose calls it wrote or replaced (for the prompt cache's merge). */
export interface IndexUpdateResult extends IndexUpdate {
  touched: string[]
  /**
   * For the wire facts' append (wire-facts.ts), when the update was small and not a rebuild: the
   * flows it fed again (their rows replaced) and the flows it added (new to the index).
   */
  flowChanges?: { refed: string[]; added: string[] }
  /** `beforeCommit` ran (in the update's transaction). */
  hooked: boolean
  /**
   * An update into an index that held no calls: the calls with usage it wrote, by key, as the
   * cache-break analysis reads them (some may be missing: the analysis reads those from DuckDB).
   */
  insight?: Map<string, Row>
  /**
   * With `keepFacts`, an update into an index that held no rows: the wire facts' sections made
   * from the rows it wrote (what the tables hold after its commit), on a worker thread of their
   * own when the update was sharded (made while the commit and the cache breaks run).
   */
  facts?: () => Promise<Buffer[] | undefined>
}

const DEFAULT_LEDGER = '@agenttap/ledger'

/**
 * Runs `script` on a worker thread with `workerData` and settles with its one reply
 * (`{ ok: true, … }`: what `take` reads of it; `{ ok: false, error }`: rejected), or rejects when
 * the worker fails or exits without replying.
 */
function workerReply<T>(script: URL, workerData: unknown, name: string, take: (m: Record<string, unknown>) => T, transferList?: ArrayBuffer[]): Promise<T> {
  // worker_threads (and its internals) load here, when an index is built on several threads: a
  // mode over a current index, or the transcripts' usage summary, starts without them.
  const { Worker } = process.getBuiltinModule('node:worker_threads')
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { workerData, ...(transferList !== undefined && transferList.length > 0 ? { transferList } : {}) })
    let settled = false
    w.once('message', (m: { ok: boolean; error?: string } & Record<string, unknown>) => {
      settled = true
      if (m.ok) resolve(take(m))
      else reject(new Error(m.error))
    })
    w.once('error', (e) => {
      settled = true
      reject(e)
    })
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`${name} exited with code ${code}`))
    })
  })
}

const runInWorker = (script: URL, job: ShardJob): Promise<ShardResult> => workerReply(script, job, `index worker ${job.shard}`, (m) => m['result'] as ShardResult)

/** Updates an open index from the capture; see the module comment. */
export async function updateIndex(duck: Duck, options: UpdateIndexOptions): Promise<IndexUpdateResult> {
  const t0 = performance.now()
  const now = options.now ?? Date.now()
  let sources = await readSources(duck)
  let plan = planUpdate(options.files, statCapture(options.files), sources)
  let rebuilt: string | undefined
  if (plan.rebuild !== undefined) {
    rebuilt = plan.rebuild
    await clearIndex(duck)
    await writeMeta(duck, { index_version: String(INDEX_VERSION), ledger_version: String(options.ledgerVersion) })
    sources = []
    plan = planUpdate(options.files, statCapture(options.files), sources)
  }
  const pending = rebuilt === undefined ? await readPending(duck) : []
  const sessionChain = rebuilt === undefined ? await readSessionChain(duck) : []
  const holdEndMs = options.holdEndMs ?? 60_000
  const staleMs = options.staleMs ?? 3_600_000
  const due = pending.some((p) => (p.held_since_ms !== null ? now - p.held_since_ms >= holdEndMs : now - p.last_seen_ms >= staleMs))
  const newSources = [...plan.starts.values()]
  const sourcesMoved = newSources.length !== sources.length || newSources.some((s) => !sources.some((o) => o.path === s.path && o.ino === s.ino && o.offset === s.offset))
  if (plan.bytes === 0 && !due && rebuilt === undefined) {
    if (sourcesMoved) await commitSources(duck, newSources)
    if (options.paths) saveState(options.paths, stateOf(options, newSources, pending, sessionChain.length), pending)
    return { bytes: 0, records: 0, shards: 0, pending: pending.length, problems: 0, ms: performance.now() - t0, touched: [], hooked: false, flowChanges: { refed: [], added: [] } }
  }

  const cores = Math.max(1, Math.min(options.threads ?? availableParallelism(), 4))
  const script = builtModule('index-worker.js')
  const shards = plan.bytes >= (options.workerMinBytes ?? 16 * 1024 * 1024) && cores > 1 && script !== undefined ? cores : 1
  const stage = mkdtempSync(join(options.stageDir, 'update-'))
  // Open flows of an earlier update whose session is derived stay on shard 0 (see shard-run.ts).
  const derived = new Set(pending.filter((p) => p.records.some((r) => r.record.includes('"session_source":"derived"'))).map((p) => p.flow_id))
  // Into an index without calls (a first build, a rebuild), every call row written is the one the
  // commit stores: the shards hand those rows back for the cache-break analysis.
  // (An index with sources has been updated before: not asked, it most likely holds calls.)
  const keepInsight = rebuilt !== undefined || (sources.length === 0 && Number((await duck.select('select count(*) as n from calls')).rows[0]?.n ?? 1) === 0)
  // Likewise the wire facts, when none of their tables held a row.
  const keepFacts = options.keepFacts === true && options.paths !== undefined && keepInsight &&
    (rebuilt !== undefined || Number((await duck.select('select (select count(*) from flows) + (select count(*) from tool_calls) as n')).rows[0]?.n ?? 1) === 0)
  try {
    const jobs: ShardJob[] = []
    for (let s = 0; s < shards; s++) {
      jobs.push({
        shard: s,
        shards,
        ranges: plan.ranges,
        pending: pending.filter((p) => shards === 1 || (derived.has(p.flow_id) ? 0 : shardOfId(p.flow_id, shards)) === s),
        derived: [...derived],
        captureDir: options.captureDir,
        rowsDir: stage,
        ledgerModule: options.ledgerModule ?? DEFAULT_LEDGER,
        now,
        holdEndMs,
        staleMs,
        ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
        ...(options.paths === undefined ? { final: true } : {}),
        ...(s === 0 && sessionChain.length > 0 ? { sessionChain } : {}),
        ...(keepInsight ? { keepInsight } : {}),
        ...(keepFacts ? { keepFacts } : {}),
      })
    }
    // Progress: every shard reads every byte, so the update is as far as its slowest shard. Shard
    // 0 (on this thread) reports as it goes, with the workers' figures from their shared slots;
    // once it is done, the slots are read every 100 ms until the workers are. A report that
    // throws (a display gone) stops the reports, not the update.
    const report = guardedProgress(options.onProgress)
    const slots = report !== undefined && shards > 1 ? new Float64Array(new SharedArrayBuffer(8 * shards)) : undefined
    if (slots !== undefined) for (const j of jobs) j.progress = slots.buffer as SharedArrayBuffer
    const reportRead = (bytes: number): void => report?.({ phase: 'read', of: 'capture', bytes, total: plan.bytes, ms: performance.now() - t0 })
    const readNow = (): void => reportRead(slots === undefined ? 0 : Math.min(...slots))
    const onRead = report === undefined ? undefined : slots !== undefined ? readNow : reportRead
    let results: ShardResult[]
    try {
      if (shards === 1) results = [await runShard(jobs[0]!, onRead)]
      else {
        // Shard 0 runs on this thread, which would only wait for the workers meanwhile: one
        // isolate fewer to start, load the modules into and compile the ledger's hot code in,
        // and shard 0's result (its calls for the cache breaks, its open flows) is not copied
        // over. The workers start first.
        const others = jobs.slice(1).map((j) => runInWorker(script!, j))
        const settled = Promise.allSettled(others)
        let first: ShardResult
        try {
          first = await runShard(jobs[0]!, onRead)
        } finally {
          const timer = slots !== undefined ? setInterval(readNow, 100) : undefined
          try {
            await settled
          } finally {
            clearInterval(timer)
          }
          if (slots !== undefined) readNow()
        }
        results = [first, ...(await Promise.all(others))]
      }
    } catch (e) {
      throw new ExtractError('INDEX_FAILED', `reading the capture failed (the index was not changed): ${(e as Error).message}`, { cause: e })
    }

    // Every shard read the same whole lines: shard 0's end offsets are everyone's.
    const ends = new Map(results[0]!.ends.map((e) => [e.path, e]))
    const nextSources: SourceState[] = newSources.map((s) => {
      const e = ends.get(s.path)
      return e === undefined ? s : { ...s, offset: e.offset, lines: e.lines }
    })
    const files: Partial<Record<DataTable, string[]>> = {}
    for (const r of results) for (const [t, f] of Object.entries(r.files)) (files[t as DataTable] ??= []).push(f)
    const largest: Partial<Record<DataTable, number>> = {}
    for (const r of results) for (const [t, n] of Object.entries(r.largest)) largest[t as DataTable] = Math.max(largest[t as DataTable] ?? 0, n)
    const stillOpen = results.flatMap((r) => r.pending)
    const pendingFiles = writePendingFiles(stage, stillOpen)
    const orphans = results.flatMap((r) => r.orphans)
    const chainAfter = results[0]!.sessionChain
    let sessionChainFile: string | undefined
    if (chainAfter !== undefined) {
      sessionChainFile = join(stage, 'session-chain.ndjson')
      writeFileSync(sessionChainFile, chainAfter.map((e, ord) => JSON.stringify({ ord, ...e }) + '\n').join(''), { mode: 0o600 })
    }
    // Each shard made its part of the facts; a shard that could not leaves them to the caller,
    // which reads them from DuckDB.
    const factsParts = keepFacts && results.every((r) => r.factsParts !== undefined) ? results.map((r) => r.factsParts!) : undefined
    let facts: IndexUpdateResult['facts']
    // The shards' parts of the wire facts are merged on this thread while DuckDB runs the commit
    // on its own threads (this thread would only wait meanwhile). A failure is the caller's: it
    // reads the facts from DuckDB.
    const whileCommitting = factsParts === undefined ? undefined : (): void => {
      let parts: Buffer[] | undefined
      let error: unknown
      try {
        parts = mergeShardSections(factsParts)
      } catch (e) {
        error = e
      }
      facts = async () => {
        if (error !== undefined) throw error
        return parts
      }
    }
    const tRead = performance.now()
    const touched = [...new Set([...pending.map((p) => p.flow_id), ...results.flatMap((r) => r.callFlows)])]
    const hook = options.beforeCommit !== undefined && shards === 1 && rebuilt === undefined && sources.length > 0 ? options.beforeCommit : undefined
    // The flows this update adds: the ones it wrote rows for that the index did not hold (a
    // complete flow read again stays as it was, see commitUpdate).
    let flowChanges: IndexUpdateResult['flowChanges']
    if (shards === 1 && rebuilt === undefined && sources.length > 0) {
      const refed = new Set(pending.map((p) => p.flow_id))
      const fresh = touched.filter((f) => !refed.has(f))
      const known = fresh.length === 0 ? new Set<string>() : new Set((await duck.select(`select flow_id from flows where flow_id in (select unnest([${fresh.map(lit).join(', ')}]::varchar[]))`)).rows.map((r) => String(r.flow_id)))
      flowChanges = { refed: [...refed], added: fresh.filter((f) => !known.has(f)) }
    }
    let insight: Map<string, Row> | undefined
    if (keepInsight) {
      insight = new Map()
      for (const r of results) for (const row of r.insight ?? []) insight.set(String(row.key), row)
    }
    const around = hook === undefined && insight !== undefined ? options.aroundCommit : undefined
    report?.({ phase: 'commit', of: 'capture', bytes: plan.bytes, total: plan.bytes, ms: performance.now() - t0 })
    const { orphanProblems } = await commitUpdate(duck, {
      files,
      largest,
      refed: pending.map((p) => p.flow_id),
      pending: stillOpen,
      ...(pendingFiles ? { pendingFiles } : {}),
      orphans,
      ...(sessionChainFile !== undefined ? { sessionChainFile } : {}),
      sources: nextSources,
      meta: { capture_dir: options.captureDir },
    }, hook ? () => hook(touched) : around && (() => around.select(insight!)), whileCommitting, around?.work)
    if (options.paths) saveState(options.paths, stateOf(options, nextSources, stillOpen, (chainAfter ?? sessionChain).length), stillOpen)
    const tCommit = performance.now()
    return {
      ...(rebuilt !== undefined ? { rebuilt } : {}),
      readMs: tRead - t0,
      commitMs: tCommit - tRead,
      bytes: results[0]!.bytes,
      records: results.reduce((n, r) => n + r.records, 0),
      shards,
      pending: stillOpen.length,
      problems: results.reduce((n, r) => n + (r.rows.problems ?? 0), 0) + orphanProblems,
      ms: performance.now() - t0,
      touched,
      hooked: hook !== undefined,
      ...(insight !== undefined ? { insight } : {}),
      ...(facts !== undefined ? { facts } : {}),
      ...(flowChanges !== undefined ? { flowChanges } : {}),
    }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

async function commitSources(duck: Duck, sources: SourceState[]): Promise<void> {
  await duck.run('begin transaction')
  await duck.run('delete from sources')
  for (const s of sources) {
    await duck.run(`insert into sources values ('${s.kind}', '${s.path.replace(/'/g, "''")}', '${s.dev}', '${s.ino}', '${s.head}', ${s.head_len}, ${s.offset}, ${s.lines})`)
  }
  await duck.run('commit')
}

/** The open flows (for appends read without DuckDB), then the state that names them: the commit point. */
function saveState(paths: IndexPaths, state: IndexState, pending: readonly PendingFlow[]): void {
  writePendingFlows(paths, state.stamp, pending)
  writeState(paths, state)
}

function stateOf(options: UpdateIndexOptions, sources: SourceState[], pending: PendingFlow[], chain: number): IndexState {
  return {
    index_version: INDEX_VERSION,
    ledger_version: options.ledgerVersion,
    ledger_build: options.ledgerBuild,
    files: sources.map((s) => ({ path: s.path, dev: s.dev, ino: s.ino, offset: s.offset })),
    deadline_ms: pendingDeadline(pending, options.holdEndMs, options.staleMs),
    stamp: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    sources,
    chain,
  }
}
