import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, statSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ExtractError } from './errors.js'
import { fileLit, isLockConflict, lit, openDuck } from './duck.js'
import type { Duck, DuckOptions } from './duck.js'
import type { SessionChainEntry } from '@agenttap/session-extractor'
import type { PendingFlow } from './flow-feeder.js'
import { columnList, DATA_TABLES, INDEX_VERSION, readRowsSql, schemaSql } from './schema.js'
import type { DataTable } from './schema.js'
import type { SourceState } from './capture-snapshot.js'

/**
 * The index on disk: `<capture dir>/.index/index.duckdb` (one DuckDB file: the ledger tables
 * and the bookkeeping of what was read) and `state.json` (a copy of the file offsets, so a run
 * can tell it is up to date without opening DuckDB for writing). The directory is private
 * (0700): the index holds prompts and answers like the capture does. Deleting it is always
 * safe: the next run builds it again.
 *
 * Concurrency: one run at a time uses the index. A lock file (`lock`, holding the owner's pid)
 * serialises processes, an in-process queue serialises extractors of one process (DuckDB lets
 * one process open a file twice, as two databases that do not see each other), and DuckDB's
 * own file lock stays as a second guard. A lock whose process is gone is taken over. A run that
 * finds the index locked waits (and says so once).
 */

/** Where an index lives. */
export interface IndexPaths {
  dir: string
  db: string
  state: string
  lock: string
  /** The latest prompts, for `prompts -n N` without opening DuckDB. */
  prompts: string
}

/** The index paths of a capture dir (`<dir>/.index/`), or of an index dir itself (`inside`). */
export function indexPaths(captureDir: string, inside = false): IndexPaths {
  const dir = inside ? captureDir : join(captureDir, '.index')
  return { dir, db: join(dir, 'index.duckdb'), state: join(dir, 'state.json'), lock: join(dir, 'lock'), prompts: join(dir, 'latest-prompts.json') }
}

/** Index dirs this process has open, each with the queue of extractors waiting for it. */
const inProcess = new Map<string, Promise<void>>()

/** Whether a process is alive (a lock left by a dead one is stale). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Tries to take the lock file once; returns the owner's pid when another live process holds it. */
function tryLock(path: string): { ok: true } | { ok: false; pid: number | undefined } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }))
      closeSync(fd)
      return { ok: true }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    let owner: { pid?: unknown; host?: unknown } = {}
    try {
      owner = JSON.parse(readFileSync(path, 'utf8')) as typeof owner
    } catch {
      // being written right now, or garbage: treat as held (a garbage lock is left by a crash
      // mid-write and is taken over once it is older than a few seconds, below)
    }
    const pid = typeof owner.pid === 'number' ? owner.pid : undefined
    const sameHost = owner.host === undefined || owner.host === hostname()
    if (pid !== undefined && sameHost && !alive(pid)) {
      // Its process is gone: take the lock over.
      try {
        unlinkSync(path)
      } catch {
        // someone else took it over first
      }
      continue
    }
    return { ok: false, pid }
  }
  return { ok: false, pid: undefined }
}

/** Options of {@link openIndex}. */
export interface OpenIndexOptions extends DuckOptions {
  /** Give up waiting for another run's lock after this long. @defaultValue 120 s */
  lockTimeoutMs?: number
  /** Called once when the file is locked by another run and this one starts waiting. */
  onWait?: (message: string) => void
}

/**
 * Opens (creating if needed) the index database, waiting while another run holds it. The lock
 * is released by the returned database's `close()`.
 * @throws ExtractError `INDEX_LOCKED` after the timeout, `INDEX_FAILED` when it cannot be opened.
 */
export async function openIndex(paths: IndexPaths, options: OpenIndexOptions = {}): Promise<Duck> {
  const { unlock, deadline, wait } = await lockIndex(paths, options)
  try {
    const duck = await openDuckWaiting(paths, options, deadline, wait)
    const end = (how: 'close' | 'leave'): void => {
      try {
        duck[how]()
        // A small update leaves its WAL behind (no checkpoint on close): private like the index.
        if (!options.readOnly) privateFile(`${paths.db}.wal`)
      } finally {
        unlock()
      }
    }
    return { ...duck, close: () => end('close'), leave: () => end('leave') }
  } catch (e) {
    unlock()
    throw e
  }
}

/**
 * Takes the index's locks (this process's queue, then the lock file), waiting while another run
 * holds them, without opening DuckDB: `unlock` releases them.
 * @throws ExtractError `INDEX_LOCKED` after the timeout.
 */
export async function lockIndex(paths: IndexPaths, options: OpenIndexOptions = {}): Promise<{ unlock: () => void; deadline: number; wait: (who: string) => void }> {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  try {
    chmodSync(paths.dir, 0o700)
  } catch {
    // not ours to change: the files inside are still created 0600 below
  }
  const deadline = Date.now() + (options.lockTimeoutMs ?? 120_000)
  let waited = false
  const wait = (who: string): void => {
    if (waited) return
    waited = true
    options.onWait?.(`waiting for another agenttap-analyze${who} that is using the index ${paths.dir}`)
  }
  // This process first: one extractor at a time.
  let release!: () => void
  const mine = new Promise<void>((r) => (release = r))
  for (let prev = inProcess.get(paths.dir); prev !== undefined; prev = inProcess.get(paths.dir)) {
    wait(' in this process')
    await prev
  }
  inProcess.set(paths.dir, mine)
  const unlockProcess = (): void => {
    if (inProcess.get(paths.dir) === mine) inProcess.delete(paths.dir)
    release()
  }
  // Then other processes: the lock file.
  let delay = 20
  try {
    for (;;) {
      const got = tryLock(paths.lock)
      if (got.ok) break
      if (Date.now() > deadline) {
        throw new ExtractError('INDEX_LOCKED', `the index ${paths.dir} is still in use by another process${got.pid ? ` (pid ${got.pid})` : ''}; try again, run with --no-index, or delete ${paths.lock} if no agenttap-analyze is running`)
      }
      wait(got.pid ? ` (pid ${got.pid})` : '')
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(200, delay * 2)
    }
  } catch (e) {
    unlockProcess()
    throw e
  }
  const unlock = (): void => {
    unlockFile(paths)
    unlockProcess()
  }
  return { unlock, deadline, wait }
}

/** Releases the lock file. */
function unlockFile(paths: IndexPaths): void {
  try {
    unlinkSync(paths.lock)
  } catch {
    // already gone (deleted by hand): nothing to release
  }
}

/**
 * Takes the index's lock file without waiting on the event loop (sleeping this thread between
 * tries, up to `timeoutMs`), for a short step at the end of a run; undefined when another
 * extractor of this process has the index (waiting for it here could never end) or the lock
 * stays taken. The returned function releases it.
 */
export function lockIndexSync(paths: IndexPaths, timeoutMs: number): (() => void) | undefined {
  if (inProcess.has(paths.dir)) return undefined
  const deadline = Date.now() + timeoutMs
  let delay = 20
  for (;;) {
    const got = tryLock(paths.lock)
    if (got.ok) break
    if (Date.now() + delay > deadline) return undefined
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay)
    delay = Math.min(200, delay * 2)
  }
  return () => unlockFile(paths)
}

/** Makes an index file owner-only, when it exists (best effort: the directory is 0700). */
function privateFile(path: string): void {
  try {
    if (existsSync(path)) chmodSync(path, 0o600)
  } catch {
    // not ours to change
  }
}

/**
 * Block size of a new index file. An update appends a few rows to every column of the tables,
 * and DuckDB starts a new in-memory segment of one block for each (the tables' segments on disk
 * are read-only), then writes them out at the checkpoint: with DuckDB's 256 KiB blocks that is
 * ~60 MiB of fresh memory for a 1 MiB update (measured: 120–220 CPU ms of its commit, against
 * ~20 ms with 16 KiB blocks, on a 1 GiB capture's index); queries over the index read the same.
 */
export const INDEX_BLOCK_SIZE = 16 * 1024

/** Opens the DuckDB file, waiting while DuckDB's own lock says another process has it. */
async function openDuckWaiting(paths: IndexPaths, options: OpenIndexOptions, deadline: number, wait: (who: string) => void): Promise<Duck> {
  let delay = 20
  for (;;) {
    try {
      const duck = await openDuck(paths.db, { blockSize: INDEX_BLOCK_SIZE, ...options })
      if (!options.readOnly) {
        for (const f of [paths.db, `${paths.db}.wal`]) privateFile(f)
      }
      return duck
    } catch (e) {
      if (!isLockConflict(e)) {
        throw new ExtractError('INDEX_FAILED', `cannot open the index ${paths.db}: ${(e as Error).message}; delete ${paths.dir} to rebuild it, or run with --no-index`, { cause: e })
      }
      if (Date.now() > deadline) {
        throw new ExtractError('INDEX_LOCKED', `the index ${paths.db} is still locked by another process (${(e as Error).message.replace(/^.*Conflicting lock/s, 'conflicting lock')}); try again, or run with --no-index`, { cause: e })
      }
      const pid = /PID (\d+)/.exec((e as Error).message)?.[1]
      wait(pid ? ` (pid ${pid})` : '')
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(200, delay * 2)
    }
  }
}

/** Index-wide facts kept in `meta`. */
export interface IndexMeta {
  index_version?: string
  ledger_version?: string
  capture_dir?: string
  updated_at?: string
  /** Position of the last entry read from a record source (a Redis stream id). */
  cursor?: string
}

export async function readMeta(duck: Duck): Promise<IndexMeta> {
  const { rows } = await duck.select(`select key, value from meta`)
  return Object.fromEntries(rows.map((r) => [String(r.key), String(r.value)])) as IndexMeta
}

export async function writeMeta(duck: Duck, meta: IndexMeta): Promise<void> {
  for (const [k, v] of Object.entries(meta)) {
    if (v === undefined) continue
    await duck.run(`delete from meta where key = ${lit(k)}; insert into meta values (${lit(k)}, ${lit(String(v))})`)
  }
}

/**
 * Makes sure the tables exist and were built by this index and ledger version; otherwise
 * empties the index (the caller then reads the capture from the start).
 * @returns why the index was emptied, or undefined.
 */
export async function ensureSchema(duck: Duck, ledgerVersion: number): Promise<string | undefined> {
  await duck.run(schemaSql().join(';\n'))
  const meta = await readMeta(duck)
  let why: string | undefined
  if (meta.index_version === undefined) why = undefined
  else if (meta.index_version !== String(INDEX_VERSION)) why = `index layout ${meta.index_version} → ${INDEX_VERSION}`
  else if (meta.ledger_version !== String(ledgerVersion)) why = `ledger_version ${meta.ledger_version} → ${ledgerVersion}`
  if (why !== undefined || meta.index_version === undefined) {
    await clearIndex(duck)
    await writeMeta(duck, { index_version: String(INDEX_VERSION), ledger_version: String(ledgerVersion) })
  }
  return why
}

/** Drops every row (tables are recreated with the current layout). */
export async function clearIndex(duck: Duck): Promise<void> {
  await duck.run([...[...Object.keys(DATA_TABLES), 'meta', 'sources', 'pending_records', 'pending_flows', 'transcript_sources', 'cache_breaks', 'cache_done', 'session_chain'].map((t) => `drop table if exists ${t}`), ...schemaSql()].join(';\n'))
}

export async function readSources(duck: Duck): Promise<SourceState[]> {
  const { rows } = await duck.select(`select * from sources`)
  return rows.map((r) => ({
    kind: r.kind as SourceState['kind'],
    path: String(r.path),
    dev: String(r.dev),
    ino: String(r.ino),
    head: String(r.head ?? ''),
    head_len: Number(r.head_len ?? 0),
    offset: Number(r.offset ?? 0),
    lines: Number(r.lines ?? 0),
  }))
}

/** The session chain the last update left (least recently used first); empty when no flow needed one. */
export async function readSessionChain(duck: Duck): Promise<SessionChainEntry[]> {
  const { rows } = await duck.select(`select key, session_id, response, failed from session_chain order by ord`)
  return rows.map((r) => ({ key: String(r.key), session_id: String(r.session_id), response: r.response === true, ...(r.failed === true ? { failed: true } : {}) }))
}

export async function readPending(duck: Duck): Promise<PendingFlow[]> {
  const { rows: flows } = await duck.select(`select flow_id, last_seen_ms, held_since_ms from pending_flows`)
  if (flows.length === 0) return []
  const { rows } = await duck.select(`select flow_id, record, file, line, "offset" from pending_records order by flow_id, ord`)
  const byFlow = new Map<string, PendingFlow>()
  for (const f of flows) {
    byFlow.set(String(f.flow_id), { flow_id: String(f.flow_id), records: [], last_seen_ms: Number(f.last_seen_ms), held_since_ms: f.held_since_ms === null ? null : Number(f.held_since_ms) })
  }
  for (const r of rows) {
    byFlow.get(String(r.flow_id))?.records.push({
      flow_id: String(r.flow_id),
      record: String(r.record),
      file: r.file === null ? null : String(r.file),
      line: r.line === null ? null : Number(r.line),
      offset: r.offset === null ? null : Number(r.offset),
    })
  }
  return [...byFlow.values()]
}

/** Everything one update writes, committed in one transaction. */
export interface UpdateBatch {
  /** Row files by table (several per table: one per shard). */
  files: Partial<Record<DataTable, string[]>>
  /** Bytes of the largest row of those files, by table (absent: not known, DuckDB's cap is allowed). */
  largest?: Partial<Record<DataTable, number>>
  /** Flows fed again from pending records: their previous rows are replaced. */
  refed: string[]
  /** Flows that stay open, with their records. */
  pending: PendingFlow[]
  /** Row file of pending records and flows (written by the caller, NDJSON). */
  pendingFiles?: { records: string; flows: string }
  /** Flows some records were read for but no flow record. */
  orphans: { flow_id: string; records: number; file: string; line: number | null; offset: number | null }[]
  /** File offsets after the update (replace the table), or undefined to keep them. */
  sources?: SourceState[]
  /** The session chain after the update, as an NDJSON file of {ord, key, session_id, response, failed} (replaces the table), or undefined to keep it. */
  sessionChainFile?: string
  meta?: IndexMeta
}

const FLOW_TABLES: DataTable[] = ['flows', 'calls', 'tool_calls', 'tool_results']

/**
 * Applies one update atomically: a crash before COMMIT leaves the index as it was.
 * `beforeCommit` runs in its transaction, before the commit; `whileRunning` runs on this thread
 * while DuckDB runs the statements, `whileCommitting` while it writes the commit (neither may
 * touch the database; a throw fails the update, after DuckDB's part has ended).
 */
export async function commitUpdate(duck: Duck, b: UpdateBatch, beforeCommit?: () => Promise<void>, whileRunning?: () => void, whileCommitting?: () => void): Promise<{ orphanProblems: number }> {
  // One batch of statements, one round trip: an update of a few records is mostly fixed costs.
  const sql: string[] = ['begin transaction']
  if (b.refed.length > 0) {
    sql.push(`create or replace temp table refed as select unnest([${b.refed.map(lit).join(', ')}]::varchar[]) as flow_id`)
    for (const t of FLOW_TABLES) sql.push(`delete from ${t} where flow_id in (select flow_id from refed)`)
  }
  // Rows of flows the index already holds complete are duplicates (a line written twice, a
  // Redis entry delivered again): the first complete version stays.
  sql.push(`create or replace temp table known as select flow_id from flows`)
  // One statement per file (a shard's rows), in the shards' order: a scan of several files
  // inserts their rows in no fixed order, and the tables' order is what ties in the modes'
  // sorts fall back to (and what the wire facts of a build, made from the same files, assume).
  for (const t of FLOW_TABLES) {
    for (const f of b.files[t] ?? []) sql.push(`insert into ${t} (${columnList(t)}) select * from ${readRowsSql(t, [f], b.largest?.[t])} where flow_id not in (select flow_id from known)`)
  }
  const contents = b.files.contents ?? []
  if (contents.length > 0) {
    sql.push(`insert into contents (${columnList('contents')}) select * from ${readRowsSql('contents', contents, b.largest?.contents)}
      where hash not in (select hash from contents) qualify row_number() over (partition by hash) = 1`)
  }
  const problems = b.files.problems ?? []
  if (b.orphans.length > 0) {
    // Records without their flow record: their flow was assembled from them. A duplicate of an
    // indexed flow is dropped quietly (its rows above, its problems here); the others are reported.
    const vals = b.orphans.map((o) => `(${lit(o.flow_id)}, ${o.records}, ${lit(o.file)}, ${o.line ?? 'null'}::bigint, ${o.offset ?? 'null'}::bigint)`).join(', ')
    sql.push(`create or replace temp table orphans as select * from (values ${vals}) v(flow_id, records, file, line, "offset") where flow_id not in (select flow_id from known)`)
    sql.push(`insert into problems select 'NO_FLOW_RECORD', file, line, "offset", flow_id, null,
        records || ' record(s) of flow ' || flow_id || ' but no flow record: assembled from them (its start is its earliest record''s time; no prompt, model or session beyond what they say)' from orphans`)
  }
  if (problems.length > 0) {
    const dupes = b.orphans.length > 0 ? ` where flow_id is null or flow_id not in (select flow_id from known where flow_id in (${b.orphans.map((o) => lit(o.flow_id)).join(', ')}))` : ''
    sql.push(`insert into problems (${columnList('problems')}) select * from ${readRowsSql('problems', problems, b.largest?.problems)}${dupes}`)
  }
  sql.push(`delete from pending_records`, `delete from pending_flows`)
  if (b.pendingFiles !== undefined && b.pending.length > 0) {
    sql.push(`insert into pending_records select * from read_ndjson(${fileLit(b.pendingFiles.records)}, columns = {'flow_id': 'VARCHAR', 'ord': 'BIGINT', 'file': 'VARCHAR', 'line': 'BIGINT', 'offset': 'BIGINT', 'record': 'VARCHAR'}, format = 'newline_delimited', maximum_object_size = 1073741823)`)
    sql.push(`insert into pending_flows select * from read_ndjson(${fileLit(b.pendingFiles.flows)}, columns = {'flow_id': 'VARCHAR', 'last_seen_ms': 'BIGINT', 'held_since_ms': 'BIGINT'}, format = 'newline_delimited')`)
    // A pending flow the index already holds complete is a duplicate: it would be fed again forever.
    sql.push(`delete from pending_flows where flow_id in (select flow_id from known)`)
    sql.push(`delete from pending_records where flow_id not in (select flow_id from pending_flows)`)
  }
  for (const t of ['flows', 'calls'] as const) {
    sql.push(`update ${t} set pending = (flow_id in (select flow_id from pending_flows)) where pending or flow_id in (select flow_id from pending_flows)`)
  }
  if (b.sessionChainFile !== undefined) {
    sql.push(`delete from session_chain`)
    sql.push(`insert into session_chain select * from read_ndjson(${fileLit(b.sessionChainFile)}, columns = {'ord': 'BIGINT', 'key': 'VARCHAR', 'session_id': 'VARCHAR', 'response': 'BOOLEAN', 'failed': 'BOOLEAN'}, format = 'newline_delimited')`)
  }
  if (b.sources !== undefined) {
    sql.push(`delete from sources`)
    if (b.sources.length > 0) {
      sql.push(`insert into sources values ${b.sources.map((s) => `(${lit(s.kind)}, ${lit(s.path)}, ${lit(s.dev)}, ${lit(s.ino)}, ${lit(s.head)}, ${s.head_len}, ${s.offset}, ${s.lines})`).join(', ')}`)
    }
  }
  for (const [k, v] of Object.entries({ ...b.meta, updated_at: new Date().toISOString() })) {
    if (v !== undefined) sql.push(`delete from meta where key = ${lit(k)}`, `insert into meta values (${lit(k)}, ${lit(String(v))})`)
  }
  // `whileRunning` takes a core of its own: DuckDB gets one thread fewer meanwhile, so that the
  // two together use each core once. (Measured on the build of a 1 GiB capture on 2 cores: the
  // same wall time or less, ~1 CPU-s less, since DuckDB's two threads and the facts' one took
  // turns on two cores.)
  let threads: number | undefined
  if (whileRunning !== undefined) {
    threads = Number((await duck.select(`select current_setting('threads') as n`)).rows[0]?.n)
    if (Number.isInteger(threads) && threads > 1) sql.unshift(`set threads = ${threads - 1}`)
    else threads = undefined
  }
  try {
    // The statements run on DuckDB's threads: `whileRunning` (work of this thread that does not
    // touch the database, such as the wire facts of a build) goes meanwhile.
    const ran = duck.run(sql.join(';\n'))
    try {
      whileRunning?.()
    } finally {
      await ran
    }
    const orphanProblems = b.orphans.length > 0 ? Number((await duck.select(`select count(*) as n from orphans`)).rows[0]?.n ?? 0) : 0
    if (beforeCommit !== undefined) await beforeCommit()
    const committed = duck.run('commit')
    try {
      whileCommitting?.()
    } finally {
      await committed
    }
    if (threads !== undefined) await duck.run(`set threads = ${threads}`)
    return { orphanProblems }
  } catch (e) {
    try {
      await duck.run('rollback')
    } catch {
      // the transaction is already gone
    }
    if (threads !== undefined) await duck.run(`set threads = ${threads}`).catch(() => undefined)
    throw new ExtractError('INDEX_FAILED', `updating the index failed (nothing was changed): ${(e as Error).message}`, { cause: e })
  }
}

/** The quick "is anything new?" state, written after each commit. */
export interface IndexState {
  index_version: number
  ledger_version: number
  /** The ledger module's file (path, size, mtime): a run can tell the ledger did not change without loading it. */
  ledger_build: string
  files: { path: string; dev: string; ino: string; offset: number }[]
  /** Wall clock (ms) when a pending flow may have to be ended even with no new bytes. */
  deadline_ms: number | null
  /** Names this state: the prompt cache written after it carries the same stamp. */
  stamp: string
  /** The transcript files as the last update saw them (an index with transcripts). */
  transcripts?: { files: { path: string; dev: string; ino: string; size: number; mtime: string }[] }
  /**
   * Rows of the largest table after the last update (DuckDB's estimate): a run on the current
   * index picks its threads from this without a query. Absent in older states: then it asks DuckDB.
   */
  table_rows?: number
  /** The capture files as the last update left them (as DuckDB's `sources`): an append can be planned without DuckDB. */
  sources?: SourceState[]
  /** Entries of the session chain after the last update (see readSessionChain). */
  chain?: number
  /**
   * Appends read but not committed to DuckDB yet, oldest first (dirs under the index dir, see
   * wire-append.ts): the wire facts hold them; DuckDB gets them before its next use.
   */
  deferred?: string[]
}

export function readState(paths: IndexPaths): IndexState | undefined {
  try {
    return JSON.parse(readFileSync(paths.state, 'utf8')) as IndexState
  } catch {
    return undefined
  }
}

export function writeState(paths: IndexPaths, state: IndexState): void {
  const tmp = `${paths.state}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 })
  renameSync(tmp, paths.state)
}

/** The earliest wall clock (ms) at which an open flow may have to be ended with no new record (the state's `deadline_ms`). */
export function pendingDeadline(pending: readonly PendingFlow[], holdEndMs = 60_000, staleMs = 3_600_000): number | null {
  let min: number | null = null
  for (const p of pending) {
    const d = p.held_since_ms !== null ? p.held_since_ms + holdEndMs : p.last_seen_ms + staleMs
    if (min === null || d < min) min = d
  }
  return min
}

/**
 * The open flows of the state a stamp names, kept beside DuckDB's `pending_records` /
 * `pending_flows` (`pending.json`: `{stamp, flows}`): an append read without DuckDB feeds them
 * again with the new bytes (wire-append.ts). Written before the state that names the stamp (the
 * commit point), removed when no flow is open.
 */
const PENDING_FILE = 'pending.json'

export function writePendingFlows(paths: IndexPaths, stamp: string, flows: readonly PendingFlow[]): void {
  const path = join(paths.dir, PENDING_FILE)
  if (flows.length === 0) {
    rmSync(path, { force: true })
    return
  }
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify({ stamp, flows }), { mode: 0o600 })
  renameSync(tmp, path)
}

/** The open flows `pending.json` holds for `stamp`; undefined when it holds another state's (or none, or cannot be read). */
export function readPendingFlows(paths: IndexPaths, stamp: string): PendingFlow[] | undefined {
  try {
    const doc = JSON.parse(readFileSync(join(paths.dir, PENDING_FILE), 'utf8')) as { stamp?: unknown; flows?: unknown }
    return doc.stamp === stamp && Array.isArray(doc.flows) ? (doc.flows as PendingFlow[]) : undefined
  } catch {
    return undefined
  }
}

/** Writes the NDJSON files `commitUpdate` loads the open flows from (`pendingFiles`), in `dir`; undefined when none is open. */
export function writePendingFiles(dir: string, flows: readonly PendingFlow[]): { records: string; flows: string } | undefined {
  if (flows.length === 0) return undefined
  const files = { records: join(dir, 'pending-records.ndjson'), flows: join(dir, 'pending-flows.ndjson') }
  let ord = 0
  writeFileSync(files.records, flows.flatMap((p) => p.records.map((r) => JSON.stringify({ flow_id: p.flow_id, ord: ord++, file: r.file, line: r.line, offset: r.offset, record: r.record }) + '\n')).join(''), { mode: 0o600 })
  writeFileSync(files.flows, flows.map((p) => JSON.stringify({ flow_id: p.flow_id, last_seen_ms: p.last_seen_ms, held_since_ms: p.held_since_ms }) + '\n').join(''), { mode: 0o600 })
  return files
}

/** The latest prompts of the index (`user_prompts` rows, oldest first), written after each update. */
export interface PromptCache {
  /** The `stamp` of the state it was made for: another stamp means it is stale (a run died between the two). */
  stamp: string
  /** Every prompt of the index is here (it has fewer than the cache holds). */
  complete: boolean
  rows: Record<string, string | number | boolean | null>[]
}

export function readPromptCache(paths: IndexPaths): PromptCache | undefined {
  try {
    return JSON.parse(readFileSync(paths.prompts, 'utf8')) as PromptCache
  } catch {
    return undefined
  }
}

export function writePromptCache(paths: IndexPaths, cache: PromptCache): void {
  const tmp = `${paths.prompts}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(cache), { mode: 0o600 })
  renameSync(tmp, paths.prompts)
}

/** Whether the index can live in (or under) a dir: it is writable, or can be created. */
export function writableOrCreatable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return statSync(dir).isDirectory()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      return true
    } catch {
      return false
    }
  }
}
