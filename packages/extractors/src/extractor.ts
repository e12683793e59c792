import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { availableParallelism, tmpdir } from 'node:os'
import { ExtractError } from './errors.js'
import { isLockConflict, lit, openDuck } from './duck.js'
import type { Duck } from './duck.js'
import { DEFAULT_LEDGER, ledgerBuild, loadLedgerModule } from './ledger-module.js'
import { ensureSchema, indexPaths, lockIndexSync, openIndex, readPromptCache, readState, writableOrCreatable, writeState } from './index-store.js'
import { cachePrompts, currentPromptCache } from './prompt-cache.js'
import type { IndexPaths } from './index-store.js'
import { updateIndex } from './indexer.js'
import { updateFromSource } from './source-update.js'
import { listTranscripts, updateTranscripts } from './transcript-update.js'
import type { IndexUpdate, IndexUpdateResult } from './indexer.js'
import { LATEST_BY, MODES } from './modes.js'
import { BUNDLED_PRICES, cacheWrite1h } from './prices.js'
import { MODE_SQL, TOOL_ROW_SQL, viewSql } from './queries.js'
import { latestPrompts } from './reverse.js'
import { INDEX_VERSION } from './schema.js'
import { filesCurrent, promptCacheRows, stateCurrent } from './index-fresh.js'
import { findCaptureFiles } from './sources.js'
import type { CaptureFiles } from './sources.js'
import { fileEdits, filesRead, mcpCalls, rateLimits, subagents, webAccess } from './derived.js'
import { CACHE_CANDIDATES, INSIGHT_COLUMNS, cacheBreaksAroundCommit, cacheRows, contextRows, quotaRows, updateCacheBreaks } from './cache-modes.js'
import { explainBreak } from './cache-explain.js'
import { toNdjson } from './output.js'
import { applyDeferred, appendWithoutDuck, viewAppend } from './wire-append.js'
import { maintainInBackground } from './index-maintain.js'
import { FACTS_MODES, currentFactsTail, factsReader, factsResult, factsRows, factsSections, wholeLinesAnswer, compactWireFactsUnlocked, writeWireFacts } from './wire-facts.js'
import type { EngineName, ExtractorOptions, ModeName, ModeResult, PriceTable, Row, RunOptions } from './types.js'

/** Input the index could not use, summed up. */
export interface ProblemSummary {
  total: number
  /** Count per problem code. */
  byCode: Record<string, number>
  /** The first few, in capture order. */
  first: { code: string; file: string | null; line: number | null; offset: number | null; flow_id: string | null; message: string }[]
}

/** An open capture: run modes against it, then `close()`. */
export interface Extractor {
  /** The capture files found (undefined when reading a record source). */
  readonly files: CaptureFiles | undefined
  /** The price table `cost` and `sessions` use. */
  readonly prices: PriceTable
  /** Where the index is (undefined: in memory). Known after the first `refresh`. */
  readonly indexDir: string | undefined
  /** Brings the index up to date with the capture (done once, before the first mode that needs it). */
  refresh(): Promise<IndexUpdate>
  /** The update this extractor made, once a mode opened the index (undefined before, or when none needed it). */
  readonly lastUpdate: IndexUpdate | undefined
  /** Runs one mode. Calls are serialized. */
  run(mode: ModeName, options?: RunOptions): Promise<ModeResult>
  /** Input the index skipped (malformed lines, unknown types, flows without an end, …), with locations. */
  problems(max?: number): Promise<ProblemSummary>
  /**
   * `cache --explain <flow>`: the flow's cache break (the `cache` row) and its divergence from the
   * call it is compared with, as diff lines read again from the capture. `undefined` break: the
   * flow is not a break (the lines say so).
   */
  explainCache(flow: string): Promise<{ row: Row | undefined; lines: string[] }>
  /** Raw SQL over the index tables (flows, calls, tool_calls, tool_results, contents, problems). */
  query(sql: string): Promise<{ columns: string[]; rows: Row[] }>
  /** Closes the index; `exiting` (`process.exit` follows): a read-only one is left to the exit (`Duck.leave`). */
  close(options?: { exiting?: boolean }): void
}

/** How long an append read into a view waits at most for the other run's state and facts to agree (see `appendWithout`). */
const VIEW_WAIT_MS = 2_000
/** `compactIndex`: how long `close()` waits at most for the lock to put the compacted facts in place. */
const COMPACT_LOCK_WAIT_MS = 10_000

/** An update of fewer new bytes than this is small (one DuckDB thread, see `duckThreads`). */
const SMALL_UPDATE_BYTES = 16 * 1024 * 1024
/** Rows of one DuckDB row group: a table of fewer is scanned by one thread (see `duckThreads`). */
const ROW_GROUP_ROWS = 122_880

/**
 * Opens a capture for extraction. The index (`<capture dir>/.index/`) is opened and brought up to
 * date on the first mode that needs it; `prompts -n N` reads the flows file backwards instead.
 * @throws ExtractError `LOG_DIR_MISSING` / `NO_CAPTURES`
 * @example
 * ```ts
 * const x = await createExtractor({ logDir: '~/centralized-logs' })
 * const { rows } = await x.run('usage', { session: 'abc' })
 * x.close()
 * ```
 */
export async function createExtractor(options: ExtractorOptions): Promise<Extractor> {
  const source = options.source
  const transcripts = options.transcripts
  const files = source === undefined && options.wire !== false ? findCaptureFiles(options.logDir) : undefined
  if (files === undefined && source === undefined && transcripts === undefined) {
    throw new ExtractError('NO_CAPTURES', 'nothing to read: no capture files (wire: false), no record source and no transcript dirs')
  }
  const prices = options.prices ?? BUNDLED_PRICES
  const ledgerModule = options.ledgerModule ?? DEFAULT_LEDGER
  // Wire and transcripts together have an index of their own: a wire-only run keeps its own.
  const indexHome = files !== undefined && transcripts !== undefined ? join(files.dir, '.index-all') : files?.dir ?? options.indexDir
  const paths: IndexPaths | undefined = options.index !== false && indexHome !== undefined && writableOrCreatable(indexHome)
    ? indexPaths(indexHome, files === undefined || transcripts !== undefined)
    : undefined
  let duck: Duck | undefined
  /** `compactIndex`: the wire facts are to be written whole once the index is released (in close()). */
  let compactAfter = false
  let opening: Promise<Duck> | undefined
  let lastUpdate: IndexUpdate | undefined
  let scratch: string | undefined
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn)
    queue = p.catch(() => undefined)
    return p
  }

  /** The index keeps wire facts (wire-facts.ts): a capture's own index on disk. */
  const wireFacts = paths !== undefined && files !== undefined && transcripts === undefined && source === undefined
  /** Its facts, read once per state (the modes of a run share them). */
  const stateFacts = wireFacts ? factsReader(paths!) : () => undefined
  /**
   * An append this run read while another run held the index (wire-append.ts `viewAppend`):
   * the facts modes answer with its segment on top of the facts, until DuckDB is opened.
   */
  let view: ReturnType<typeof factsReader> | undefined
  const facts: typeof stateFacts = (sections) => (view !== undefined ? view(sections) : stateFacts(sections))
  /** The facts answer for the capture as it is now: the index is current, or this run read the rest into a view. */
  const factsCurrent = (): boolean => view !== undefined || upToDate()
  const build = transcripts !== undefined ? `${ledgerBuild(ledgerModule)}|${ledgerBuild('@agenttap/transcripts')}` : ledgerBuild(ledgerModule)
  let fresh: boolean | undefined
  /**
   * True when state.json says every file is read to its end, no open flow is due, and the ledger
   * is the build the index was made with.
   */
  /** The transcript files as the freshness check listed them (the update then need not list them again). */
  let listed: ReturnType<typeof listTranscripts> | undefined
  function upToDate(): boolean {
    if (fresh !== undefined) return fresh
    return (fresh = isUpToDate())
  }
  function isUpToDate(): boolean {
    if (paths === undefined || source !== undefined || options.rebuildIndex) return false
    const st = readState(paths)
    if (!stateCurrent(st, paths, build, options.now ?? Date.now())) return false
    if (transcripts !== undefined) {
      listed = listTranscripts(transcripts)
      const now = listed.listing.files
      const was = st.transcripts?.files
      if (was === undefined || was.length !== now.length || now.some((f, i) => f.path !== was[i]!.path || f.ino !== was[i]!.ino || f.size !== was[i]!.size || f.mtime !== was[i]!.mtime)) return false
    }
    return files === undefined || filesCurrent(st, files)
  }

  /** Capture bytes not read into the index yet, from state.json and the files' sizes (Infinity: unknown, or not a file capture). */
  function unreadBytes(): number {
    if (paths === undefined || files === undefined || options.rebuildIndex) return Infinity
    const st = readState(paths)
    if (st === undefined) return Infinity
    let n = 0
    for (const path of [...files.flows, ...files.lines, ...files.ends]) {
      const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0
      n += size - (st.files.find((f) => f.path === path)?.offset ?? 0)
    }
    return n
  }

  /**
   * DuckDB threads for this run. A table smaller than one DuckDB row group (122,880 rows; the
   * index of a few GiB of capture) is scanned by one thread whatever the setting, so a query on a
   * small index, or a small update of one, only pays for a second thread: two to three times the
   * CPU of the same query (measured on a 1 GiB capture's index: `usage` 330 vs 110 ms). Such runs
   * open with one thread and get every core back (`set threads`) once the tables turn out to be
   * large; a large update (or `threads`) sets them from the start.
   */
  function duckThreads(newBytes: number): number | undefined {
    if (options.threads !== undefined) return options.threads
    if (paths === undefined || newBytes >= SMALL_UPDATE_BYTES) return undefined
    return 1
  }

  /** Rows of the index's largest table (DuckDB's estimate). */
  async function largestTable(d: Duck): Promise<number> {
    return Number((await d.select(`select coalesce(max(estimated_size), 0) as n from duckdb_tables() where not temporary`)).rows[0]?.n ?? 0)
  }

  /** Every core again when a table of the index holds more than one row group (see {@link duckThreads}). */
  async function widenThreads(d: Duck, threads: number | undefined): Promise<void> {
    if (threads !== 1 || options.threads !== undefined) return
    if ((await largestTable(d)) >= ROW_GROUP_ROWS) await d.run(`set threads = ${availableParallelism()}`)
  }

  async function open(): Promise<Duck> {
    if (duck !== undefined) return duck
    // DuckDB answers from here on (a view's bytes are read into it below, as any update's).
    view = undefined
    // Appends the wire facts hold that DuckDB has not committed yet: it takes them first (read-write).
    const current = paths !== undefined && options.compactIndex !== true && upToDate() && (readState(paths)?.deferred?.length ?? 0) === 0
    const threads = duckThreads(current ? 0 : unreadBytes())
    const duckOpts = threads !== undefined ? { threads } : {}
    if (paths !== undefined && current) {
      // Nothing new: open for reading only, next to other readers. The state knows the tables'
      // size: the threads are set at open, without the query of `widenThreads`.
      const known = readState(paths)?.table_rows
      const readThreads = known === undefined || threads !== 1 || options.threads !== undefined ? duckOpts : known >= ROW_GROUP_ROWS ? {} : { threads: 1 }
      try {
        duck = await openIndex(paths, { ...readThreads, readOnly: true, ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}), ...(options.onWait ? { onWait: options.onWait } : {}) })
        lastUpdate = { bytes: 0, records: 0, shards: 0, pending: 0, problems: 0, ms: 0 }
        if (known === undefined) await widenThreads(duck, threads)
        await setup(duck)
        return duck
      } catch (e) {
        duck?.close()
        duck = undefined
        if (!(e instanceof ExtractError) || e.code !== 'INDEX_FAILED') throw e
        // unreadable read-only: the read-write path below repairs or rebuilds it
      }
    }
    const ledger = await loadLedgerModule(ledgerModule)
    const d = paths !== undefined
      ? await openIndex(paths, { ...duckOpts, ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}), ...(options.onWait ? { onWait: options.onWait } : {}) })
      : await openDuck(':memory:', duckOpts)
    try {
      await widenThreads(d, threads)
      const why = await ensureSchema(d, ledger.version)
      if (options.rebuildIndex) {
        const { clearIndex } = await import('./index-store.js')
        await clearIndex(d)
      }
      scratch = mkdtempSync(`${paths?.dir ?? options.tmpDir ?? tmpdir()}/.stage-`)
      // The transcript files as the last update saw them (the wire's update rewrites the state).
      const prior = paths !== undefined && why === undefined && !options.rebuildIndex ? readState(paths)?.transcripts : undefined
      // Appends read without DuckDB (wire-append.ts) are committed first, as updates of their own;
      // an index emptied above drops them (the update reads their bytes again).
      const deferred = wireFacts ? await applyDeferred(d, paths!, files!.dir, why === undefined && !options.rebuildIndex) : undefined
      // The prompt cache of the index before this update: the update merges its prompts into it
      // (and those of the appends just committed, when it is the one of the state before them).
      const promptBase = paths !== undefined && files !== undefined && transcripts === undefined && why === undefined && !options.rebuildIndex
        ? deferred !== undefined ? (((c) => (c?.stamp === deferred.base ? c : undefined))(readPromptCache(paths))) : currentPromptCache(paths)
        : undefined
      // Likewise the wire facts: an update appends what it changed to them.
      const factsBase = wireFacts && why === undefined && !options.rebuildIndex ? currentFactsTail(paths!) : undefined
      let flowChanges: IndexUpdateResult['flowChanges']
      let touched: string[] | undefined
      // The cache breaks of a build, around its commit (`aroundCommit`).
      const breaks = cacheBreaksAroundCommit(d)
      lastUpdate = files === undefined && source === undefined ? { bytes: 0, records: 0, shards: 0, pending: 0, problems: 0, ms: 0 } : source !== undefined ? await updateFromSource(d, {
        source,
        ledgerModule,
        stageDir: scratch,
        ...(paths === undefined ? { final: true } : {}),
        ...(options.now !== undefined ? { now: options.now } : {}),
        ...(options.holdEndMs !== undefined ? { holdEndMs: options.holdEndMs } : {}),
        ...(options.staleMs !== undefined ? { staleMs: options.staleMs } : {}),
      }) : await updateIndex(d, {
        captureDir: files!.dir,
        files: files!,
        ledgerModule,
        ledgerVersion: ledger.version,
        ledgerBuild: build,
        stageDir: scratch,
        ...(paths !== undefined ? { paths } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.now !== undefined ? { now: options.now } : {}),
        ...(options.holdEndMs !== undefined ? { holdEndMs: options.holdEndMs } : {}),
        ...(options.staleMs !== undefined ? { staleMs: options.staleMs } : {}),
        ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
        ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
        // The breaks of the new calls commit with them (one commit; none found later by a run
        // that finds them missing): a small update of the wire alone.
        ...(transcripts === undefined ? { beforeCommit: async (flows: string[]) => void (await updateCacheBreaks(d, flows)) } : {}),
        // A build of the wire alone: the breaks' pairs are selected before its commit and worked
        // out while DuckDB writes it (~0.8 s of a 1 GiB capture's build, when this thread waited).
        ...(transcripts === undefined ? { aroundCommit: breaks.around } : {}),
        ...(wireFacts ? { keepFacts: true } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      })
      let breaksDone = false
      let insight: Map<string, Row> | undefined
      let madeFacts: IndexUpdateResult['facts']
      if ('touched' in lastUpdate) {
        insight = (lastUpdate as IndexUpdateResult).insight
        delete (lastUpdate as Partial<IndexUpdateResult>).insight
        madeFacts = (lastUpdate as IndexUpdateResult).facts
        delete (lastUpdate as Partial<IndexUpdateResult>).facts
        breaksDone = (lastUpdate as IndexUpdateResult).hooked
        delete (lastUpdate as Partial<IndexUpdateResult>).hooked
        // Only the prompt cache needs them: not part of the update a caller is told about.
        touched = [...new Set([...(deferred?.touched ?? []), ...(lastUpdate as IndexUpdateResult).touched])]
        delete (lastUpdate as Partial<IndexUpdateResult>).touched
        flowChanges = (lastUpdate as IndexUpdateResult).flowChanges
        delete (lastUpdate as Partial<IndexUpdateResult>).flowChanges
      }
      if (transcripts !== undefined) {
        const t = await updateTranscripts(d, {
          ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
          dirs: transcripts,
          ...(prior !== undefined && lastUpdate.rebuilt === undefined ? { previous: prior } : {}),
          ...(listed !== undefined ? { now: listed } : {}),
          stageDir: scratch,
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...(options.workerMinBytes !== undefined ? { workerMinBytes: options.workerMinBytes } : {}),
        })
        lastUpdate = {
          ...lastUpdate,
          ...(lastUpdate.rebuilt === undefined && t.rebuilt !== undefined ? { rebuilt: t.rebuilt } : {}),
          bytes: lastUpdate.bytes + t.bytes,
          records: lastUpdate.records + t.records,
          problems: lastUpdate.problems + t.problems,
          ms: lastUpdate.ms + t.ms,
          transcriptMs: t.ms,
        }
        // A small update leaves its few changes in the WAL (replayed in milliseconds on the next
        // open) instead of a checkpoint on close, which rewrites whole row groups of the tables:
        // seconds on an index of a few hundred MB of transcripts. DuckDB still checkpoints once
        // the WAL passes its threshold (16 MiB). Not for the wire alone: there the replay costs every
        // later open, read-only included, more than the checkpoint saves (150 CPU ms per open for
        // the WAL of one 1 MiB append to a 1 GiB capture's index, against ~200 ms once).
        if (t.bytes < 16 * 1024 * 1024 && t.rebuilt === undefined) await d.run('pragma disable_checkpoint_on_shutdown')
        if (paths !== undefined) {
          const st = readState(paths)
          writeState(paths, {
            ...(st ?? { index_version: INDEX_VERSION, ledger_version: ledger.version, files: [], deadline_ms: null, stamp: `${process.pid}-${Date.now()}` }),
            ledger_build: build,
            transcripts: t.listing,
          })
        }
      }
      if (why !== undefined && lastUpdate.rebuilt === undefined) lastUpdate.rebuilt = why
      if (options.rebuildIndex && lastUpdate.rebuilt === undefined) lastUpdate.rebuilt = 'asked to (--rebuild-index)'
      // One commit for the breaks of the new calls (each statement alone would commit, and sync, on its own).
      if (!breaksDone) {
        await d.run('begin transaction')
        try {
          // Worked out around the update's commit: stored now (else found and stored here).
          await breaks.store(insight)
          await d.run('commit')
        } catch (e) {
          await d.run('rollback').catch(() => undefined)
          throw e
        }
      }
      if (paths !== undefined) {
        // The next runs on this (current) index take their threads from here.
        const st = readState(paths)
        if (st !== undefined) writeState(paths, { ...st, table_rows: await largestTable(d) })
      }
      await setup(d)
      fresh = undefined
      if (paths !== undefined && files !== undefined && transcripts === undefined && (lastUpdate.records > 0 || lastUpdate.rebuilt !== undefined || readPromptCache(paths)?.stamp !== readState(paths)?.stamp)) {
        await cachePrompts(d, paths, lastUpdate.rebuilt === undefined ? promptBase : undefined, touched)
      }
      // Every update names a new state: the facts follow it (a segment, or the file whole).
      if (wireFacts && paths !== undefined) {
        await writeWireFacts(d, paths, lastUpdate.rebuilt === undefined ? factsBase : undefined, lastUpdate.rebuilt === undefined && flowChanges !== undefined ? { ...flowChanges, problems: lastUpdate.problems } : undefined, madeFacts)
        // Compacting (the background maintenance): written whole from their own segments, not
        // from the tables (seconds of DuckDB), whatever started it — one maintenance then leaves
        // nothing for another soon after. Done in close(), once the lock is released (see there).
        if (options.compactIndex === true && (currentFactsTail(paths)?.segments ?? 0) > 1) compactAfter = true
      }
    } catch (e) {
      d.close()
      throw e
    } finally {
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
      scratch = undefined
    }
    duck = d
    return d
  }

  /** The index's lock when it is free now (undefined: another run holds it, or there is no index dir to lock yet). */
  function takeLockNow(p: IndexPaths): (() => void) | undefined {
    try {
      return lockIndexSync(p, 0)
    } catch {
      return undefined
    }
  }

  /**
   * Reads an append to a current index into the wire facts without DuckDB (wire-append.ts); false
   * when it cannot. While another run holds the index (the background maintenance committing to
   * DuckDB, most often: ~1 s), the append is read into a view instead of waiting: nothing is
   * written, the next run writes it. A view waits only while that run is between writing the
   * state and the facts (they must name the same state): a few looks 25 ms apart, taking the lock
   * as soon as it is free, or answering from the facts once that run has read the new bytes itself.
   */
  async function appendWithout(): Promise<boolean> {
    if (!wireFacts || options.rebuildIndex || duck !== undefined || opening !== undefined) return false
    const { now, holdEndMs, staleMs, maxLineBytes, lockTimeoutMs, onWait } = options
    const o = { paths: paths!, files: files!, ledgerModule, build, now, holdEndMs, staleMs, maxLineBytes, lockTimeoutMs, onWait }
    const deadline = Date.now() + Math.min(lockTimeoutMs ?? 120_000, VIEW_WAIT_MS)
    // The lock when it is free, kept for the append (no other run can take it in between).
    let held = takeLockNow(paths!)
    while (held === undefined) {
      // The other run may have read the new bytes itself: the facts then answer as they are,
      // once it has written them too.
      fresh = undefined
      const v = !upToDate() ? await viewAppend(o) : currentFactsTail(paths!) !== undefined ? 'current' : 'moved'
      if (v === 'current') return true
      if (v === undefined) break
      if (v !== 'moved') {
        view = factsReader(paths!, v)
        lastUpdate = v.update
        return true
      }
      // The other run's state and facts are not one state's yet.
      if (Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 25))
      held = takeLockNow(paths!)
    }
    const u = await appendWithoutDuck(o, held)
    if (u === undefined) return false
    lastUpdate = u
    fresh = undefined
    return true
  }

  /** `prompts -n N` from the prompt cache of an up-to-date index, when it holds the answer. */
  function cachedPrompts(limit: number, run: RunOptions): Row[] | undefined {
    if (paths === undefined || options.includeAux || !upToDate()) return undefined
    return promptCacheRows(readPromptCache(paths), readState(paths)?.stamp, limit, run)
  }

  /** Per-connection tables: the price table of this run. */
  async function setup(d: Duck): Promise<void> {
    const entries = Object.entries(prices.models)
    await d.run([
      `create or replace temp table prices (prefix varchar, input double, output double, cache_read double, cache_write double, cache_write_1h double)`,
      ...(entries.length > 0 ? [`insert into prices values ${entries.map(([k, p]) => `(${lit(k)}, ${p.input}, ${p.output}, ${p.cache_read}, ${p.cache_write}, ${cacheWrite1h(p)})`).join(', ')}`] : []),
      `create or replace temp table price_version as select ${lit(prices.version)} as version`,
    ].join(';\n'))
  }

  const db = (): Promise<Duck> => (opening ??= open())

  async function select(sql: string, raw = false): Promise<{ columns: string[]; rows: Row[]; json?: string[] }> {
    try {
      return await (await db()).select(sql, raw)
    } catch (e) {
      if (e instanceof ExtractError) throw e
      throw new ExtractError('QUERY_FAILED', `DuckDB query failed: ${(e as Error).message}`, { cause: e })
    }
  }

  async function copyTo(sql: string, path: string): Promise<number> {
    try {
      const n = await (await db()).copyNdjson(sql, path)
      if (!path.startsWith('/dev/')) chmodSync(path, 0o600)
      return n
    } catch (e) {
      if (e instanceof ExtractError) throw e
      throw new ExtractError('OUTPUT_FAILED', `could not write ${path}: ${(e as Error).message}`, { cause: e })
    }
  }

  function pickEngine(mode: ModeName, run: RunOptions): Exclude<EngineName, 'auto'> {
    const e = (run.engine ?? options.engine ?? 'auto') as string
    if (e === 'reverse') {
      if (mode !== 'user_prompts' || run.limit === undefined) {
        throw new ExtractError('ENGINE_UNSUPPORTED', `--engine reverse answers "latest N" questions only (user_prompts with -n N), not ${mode}${run.limit === undefined ? ' without -n' : ''}; use --engine index`)
      }
      return 'reverse'
    }
    if (e === 'auto') return mode === 'user_prompts' && run.limit !== undefined && files !== undefined ? 'reverse' : 'index'
    if (e === 'index' || e === 'duckdb') return 'index'
    throw new ExtractError('ENGINE_UNSUPPORTED', `unknown engine ${JSON.stringify(e)}: expected auto, index or reverse (the rg engine is gone: the index reads each byte once, so a prefilter no longer pays)`)
  }

  /** A result computed without DuckDB, written to `ndjsonTo` when asked. */
  function rowsOut(r: ModeResult, run: RunOptions): ModeResult {
    if (run.ndjsonTo === undefined) return r
    try {
      writeFileSync(run.ndjsonTo, toNdjson(r.columns, r.rows), { mode: 0o600 })
    } catch (e) {
      throw new ExtractError('OUTPUT_FAILED', `could not write ${run.ndjsonTo}: ${(e as Error).message}`, { cause: e })
    }
    return { ...r, rows: [], written: r.rows.length }
  }

  async function runMode(mode: ModeName, run: RunOptions): Promise<ModeResult> {
    if (closed) throw new ExtractError('QUERY_FAILED', 'extractor is closed')
    if (MODES[mode] === undefined) throw new ExtractError('UNKNOWN_MODE', `unknown mode ${JSON.stringify(mode)}`)
    const engine = pickEngine(mode, run)
    const filters = { ...(run.since !== undefined ? { since: run.since } : {}), ...(run.until !== undefined ? { until: run.until } : {}),
      ...(run.session !== undefined ? { session: run.session } : {}), ...(run.client !== undefined ? { client: run.client } : {}) }
    const warnings: string[] = []
    if (engine === 'reverse' && (run.engine ?? options.engine ?? 'auto') === 'auto') {
      // An up-to-date index holds the exact answer next to it; else read the flows backwards.
      const cached = cachedPrompts(run.limit!, run)
      if (cached !== undefined) return rowsOut({ mode, engine: 'index', rows: cached, columns: MODES.user_prompts.columns, warnings }, run)
    }
    if (engine === 'reverse') {
      if (files === undefined) throw new ExtractError('ENGINE_UNSUPPORTED', '--engine reverse reads capture files; with a record source (Redis) use --engine index')
      const rows = await latestPrompts(files.flows, run.limit!, filters, files.dir, { lineFiles: files.lines })
      return rowsOut({ mode, engine, rows, columns: MODES.user_prompts.columns, warnings }, run)
    }
    if (FACTS_MODES.includes(mode) && wireFacts && run.limit === undefined && Object.keys(filters).length === 0 && !options.includeAux && !options.rebuildIndex) {
      // An index brought up to date (or current already) has its facts: no DuckDB for these.
      if (!factsCurrent()) {
        if (!(await appendWithout())) await db()
        // This run updated the index: past half a cap, the rest is committed in the background.
        // (Not after a view: another run holds the index, and this one wrote nothing.)
        if (options.maintainInBackground === true && view === undefined) maintainInBackground(paths!, files!.dir)
      }
      // NDJSON of usage, tool_calls, cost and sessions: the lines the facts keep (sessions' rows too, from its few lines).
      const lines = run.ndjsonTo !== undefined || run.ndjson === true
      const whole = factsCurrent() && (lines || mode === 'sessions') ? wholeLinesAnswer(mode, facts, prices, lines) : undefined
      const answer = whole === undefined && factsCurrent() ? facts(factsSections(mode, lines, prices)) : undefined
      const a = whole ?? (answer === undefined ? undefined : factsRows(mode, answer, prices))
      if (a !== undefined) {
        lastUpdate ??= { bytes: 0, records: 0, shards: 0, pending: 0, problems: 0, ms: 0 }
        return factsResult(mode, a, run, warnings)
      }
    }
    const views = viewSql(filters, { includeAux: options.includeAux ?? false })
    const d = await db()
    await d.run(views.join(';\n'))
    const n = run.limit === undefined ? undefined : Math.max(0, Math.floor(run.limit))
    const latest = (sql: string, col = 'ts'): string =>
      n === undefined ? sql : col === '' ? `select * from (${sql}) limit ${n}` : `select * from (select * from (${sql}) order by ${col} desc nulls last limit ${n}) order by ${col}`
    const tail = (rows: Row[]): Row[] => (n === undefined ? rows : rows.slice(Math.max(0, rows.length - n)))
    const derived = async (fn: (rows: Row[]) => Row[]): Promise<{ columns: string[]; rows: Row[] }> => {
      const rows = tail(fn((await select(TOOL_ROW_SQL)).rows))
      return { columns: rows[0] ? Object.keys(rows[0]) : [], rows }
    }
    let result: { columns: string[]; rows: Row[]; json?: string[] }
    switch (mode) {
      case 'file_edits':
        result = await derived(fileEdits)
        break
      case 'files_read':
        result = await derived(filesRead)
        break
      case 'web_access':
        result = await derived(webAccess)
        break
      case 'mcp_calls':
        result = await derived(mcpCalls)
        break
      case 'subagents': {
        const flows = (await select(MODE_SQL.subagent_flows!)).rows
        result = await derived((calls) => subagents(calls, flows))
        break
      }
      case 'rate_limits': {
        const rows = rateLimits((await select(latest(MODE_SQL.rate_limits!))).rows)
        result = { columns: rows[0] ? Object.keys(rows[0]) : [], rows }
        break
      }
      case 'context': {
        // The segments of the calls with a compaction summary: a new summary after an earlier one is told by its hash.
        const rows = (await select(`select ${INSIGHT_COLUMNS}, has_summary, case when has_summary then segments end as segments from c where has_usage and kind <> 'aux' and agent is null order by ts, key`)).rows
        result = { columns: MODES.context.columns, rows: tail(await contextRows(rows)) }
        break
      }
      case 'quota': {
        const rows = (await select(`select ${INSIGHT_COLUMNS} from c where rate_limits is not null and rate_limits <> '{}' order by coalesce(ended_at, ts), key`)).rows
        result = { columns: MODES.quota.columns, rows: tail(await quotaRows(rows)) }
        break
      }
      case 'turns': {
        const sql = latest(MODE_SQL.turns!)
        result = run.mode === 'paired' ? await select(`select ts, session_id, turn, prompt, response from (${sql})`) : await select(sql)
        break
      }
      default: {
        const sql = MODE_SQL[mode]
        if (sql === undefined) throw new ExtractError('UNKNOWN_MODE', `mode ${mode} has no query`)
        const q = latest(sql, LATEST_BY[mode] ?? 'ts')
        if (run.ndjsonTo !== undefined) {
          try {
            return { mode, engine, rows: [], columns: MODES[mode].columns, warnings, written: await copyTo(q, run.ndjsonTo) }
          } catch (e) {
            // DuckDB locks the file it writes; a device (/dev/null, a terminal) is one file for the
            // whole machine, so another run may hold it. Nothing was written: lines for the caller.
            if (!run.ndjsonTo.startsWith('/dev/') || !isLockConflict((e as Error).cause ?? e)) throw e
            const lines = await select(q, true)
            return { mode, engine, rows: [], columns: lines.columns, warnings, ndjson: lines.json ?? [] }
          }
        }
        result = await select(q, run.ndjson === true)
      }
    }
    if (result.columns.length === 0) result.columns = MODES[mode].columns
    // Computed in TypeScript (or asked for as rows): written from the rows when a file is asked for.
    return rowsOut({ mode, engine, rows: result.rows, columns: result.columns, warnings, ...(result.json !== undefined ? { ndjson: result.json } : {}) }, run)
  }

  return {
    files,
    prices,
    get indexDir() {
      return paths?.dir
    },
    get lastUpdate() {
      return lastUpdate
    },
    refresh: () => serial(async () => {
      await db()
      return lastUpdate!
    }),
    run: (mode, run = {}) => serial(() => runMode(mode, run)),
    problems: (max = 5) =>
      serial(async () => {
        // Before DuckDB is opened: the summary the facts keep, when it holds the answer.
        const pf = duck === undefined && opening === undefined && wireFacts && max <= 5 && factsCurrent() ? facts([])?.problems : undefined
        if (pf !== undefined) return { total: Object.values(pf.byCode).reduce((a, b) => a + b, 0), byCode: pf.byCode, first: pf.first.slice(0, Math.max(0, Math.floor(max))) }
        const { rows } = await select(`select code, count(*) as n from problems group by code order by n desc, code`)
        const byCode = Object.fromEntries(rows.map((r) => [String(r.code), Number(r.n)]))
        const first = (await select(`select code, file, line, "offset", flow_id, message from problems order by file nulls last, "offset" nulls last, line limit ${Math.max(0, Math.floor(max))}`)).rows
        return {
          total: Object.values(byCode).reduce((a, b) => a + b, 0),
          byCode,
          first: first.map((r) => ({
            code: String(r.code),
            file: r.file === null ? null : String(r.file),
            line: r.line === null ? null : Number(r.line),
            offset: r.offset === null ? null : Number(r.offset),
            flow_id: r.flow_id === null ? null : String(r.flow_id),
            message: String(r.message),
          })),
        }
      }),
    explainCache: (flow) =>
      serial(async () => {
        await (await db()).run(viewSql({}, { includeAux: options.includeAux ?? false }).join(';\n'))
        const pairs = (await select(`select p.key, p.prev from (${CACHE_CANDIDATES}) p join calls k on k.key = p.key where k.flow_id = ${lit(flow)}`)).rows.map((r) => ({ key: String(r.key), prev: String(r.prev) }))
        if (pairs.length === 0) {
          const known = (await select(`select count(*) as n from calls where flow_id = ${lit(flow)}`)).rows[0]?.n
          return { row: undefined, lines: [Number(known ?? 0) === 0 ? `no model call of flow ${flow} in the index` : `flow ${flow} is no cache break: it read what its lane had cached`] }
        }
        const calls = new Map<string, Row>()
        for (const r of (await select(`select ${INSIGHT_COLUMNS}, segments from calls where key in (${[...new Set(pairs.flatMap((p) => [p.key, p.prev]))].map(lit).join(', ')})`)).rows) calls.set(String(r.key), r)
        const { rows, breaks } = await cacheRows(pairs, calls, prices)
        const b = breaks[0]
        if (b === undefined) return { row: undefined, lines: [`flow ${flow} is no cache break: it read what its lane had cached`] }
        const head = `${b.flow_id} ← ${b.prev_flow_id}: ${b.cause}${b.change ? ` (${b.change})` : ''} — ${b.detail}; ${b.lost_tokens} tokens rewritten, $${b.wasted_usd}`
        if (b.offset === null) return { row: rows[0], lines: [head, `prefix intact: the ${b.cached_bytes} bytes ${b.prev_flow_id} cached were sent again unchanged; nothing diverged`] }
        if (files === undefined) return { row: rows[0], lines: [head, '(the requests are not at hand: the index was built from a record source)'] }
        const e = await explainBreak(files, { key: b.prev_key, flow_id: b.prev_flow_id }, { key: b.key, flow_id: b.flow_id })
        return { row: rows[0], lines: [head, ...(e?.lines ?? ['(the requests could not be read again from the capture)'])] }
      }),
    query: (sql) => serial(() => select(sql)),
    close: (how = {}) => {
      if (closed) return
      closed = true
      if (how.exiting) duck?.leave()
      else duck?.close()
      duck = undefined
      // The facts written whole after the lock is released (half the maintenance's work on a big
      // capture): a run that comes meanwhile waits for the commit only. They are put in place
      // under the lock (waited for 10 s at most: this thread sleeps meanwhile; a later
      // maintenance compacts what is left), with what runs appended in between (compactWireFactsUnlocked).
      if (compactAfter && paths !== undefined) compactWireFactsUnlocked(paths, () => lockIndexSync(paths, Math.min(options.lockTimeoutMs ?? 120_000, COMPACT_LOCK_WAIT_MS)))
    },
  }
}
