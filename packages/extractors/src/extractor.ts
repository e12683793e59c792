import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import { CAPTURE_FILES, readJsonl } from '@agenttap/jsonl-io'
import { ExtractError } from './errors.js'
import { MODES } from './modes.js'
import { BUNDLED_PRICES } from './prices.js'
import { latestPrompts } from './reverse.js'
import { findCaptureFiles, readSql, refsSql, viewSql } from './sources.js'
import type { CaptureFiles, RefBody, SourceKind } from './sources.js'
import { MODE_SQL, TOOL_CALLS_CTE, USER_PROMPTS_CTE, lit } from './sql.js'
import { fileEdits, filesRead, mcpCalls, rateLimits, shellCommands, subagents, webAccess } from './derived.js'
import { runCallValidation } from './call-validation.js'
import type { EngineName, ExtractFilters, ExtractorOptions, ModeName, ModeResult, PriceTable, Row, RunOptions } from './types.js'

/** Where one malformed line is. */
export interface MalformedLine {
  file: string
  line: number
  offset: number
  message: string
}

/** An open capture: run modes against it, then `close()`. */
export interface Extractor {
  /** The capture files found. */
  readonly files: CaptureFiles
  /** The price table `cost` and `sessions` use. */
  readonly prices: PriceTable
  /** Runs one mode. Calls are serialized (one DuckDB connection). */
  run(mode: ModeName, options?: RunOptions): Promise<ModeResult>
  /** Counts the malformed lines (skipped by every mode) of the given files; one scan per file kind. */
  countMalformed(kinds?: SourceKind[]): Promise<Record<string, number>>
  /** Line numbers of the first `max` malformed lines of a file (a line-by-line pass). */
  locateMalformed(file: string, max?: number): Promise<MalformedLine[]>
  /** Runs raw SQL over the (unfiltered) views `flows`, `lines`, `ends`. */
  query(sql: string): Promise<{ columns: string[]; rows: Row[] }>
  /** Frees DuckDB and removes temp files. */
  close(): void
}

/** Whether ripgrep is on PATH. */
export function hasRipgrep(): boolean {
  const r = spawnSync('rg', ['--version'], { stdio: 'ignore' })
  return r.status === 0
}

function toRow(o: Record<string, unknown>): Row {
  const out: Row = {}
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'bigint') out[k] = Number(v)
    else if (v === undefined || v === null) out[k] = null
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v
    else if (v instanceof Date) out[k] = v.toISOString()
    else out[k] = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x))
  }
  return out
}

/** Column that orders rows in time for `limit` (default `ts`); '' for aggregate modes with no time order. */
const LATEST_BY: Partial<Record<ModeName, string>> = {
  system_prompts: 'last_seen',
  tool_definitions: 'last_seen',
  models: 'last_seen',
  sessions: 'last_seen',
  clients: 'last_seen',
  stop_reasons: '',
  cache: '',
  latency: '',
}

/** Below this many bytes of SSE lines, DuckDB alone is fast enough that a prefilter pass does not pay. */
const RG_AUTO_BYTES = 64 * 1024 * 1024

const START_MAX_OBJECT = 16 * 1024 * 1024
const MAX_OBJECT_CAP = 1024 * 1024 * 1024 - 1

/**
 * Opens a capture for extraction: finds the files, starts an in-process DuckDB.
 * @throws ExtractError `LOG_DIR_MISSING` / `NO_CAPTURES`
 * @example
 * ```ts
 * const x = await createExtractor({ logDir: '~/centralized-logs' })
 * const { rows } = await x.run('usage', { session: 'abc' })
 * x.close()
 * ```
 */
export async function createExtractor(options: ExtractorOptions): Promise<Extractor> {
  const files = findCaptureFiles(options.logDir)
  const prices = options.prices ?? BUNDLED_PRICES
  // DuckDB sizes its read buffers from maximum_object_size, so a huge value slows every scan
  // (measured ~3× on 100 MB). Start at DuckDB's 16 MiB and grow only when a longer line shows up.
  let maxObject = Math.min(START_MAX_OBJECT, options.maxObjectBytes ?? MAX_OBJECT_CAP)
  const maxObjectCap = options.maxObjectBytes ?? MAX_OBJECT_CAP
  let views: { files: { flows: string[]; lines: string[]; ends: string[] }; filters: ExtractFilters; linesFrom?: string } | undefined
  let refs: RefBody[] | undefined
  const makeViews = async (): Promise<void> => {
    if (views === undefined) return
    const conn = await db()
    for (const stmt of viewSql(views.files, views.filters, maxObject, refs ?? [], views.linesFrom)) await conn.run(stmt)
  }
  // Out-of-line request bodies can only exist when the proxy wrote sse_logs/; look them up once.
  const rawDir = join(files.dir, CAPTURE_FILES.rawDir)
  const loadRefs = async (): Promise<void> => {
    if (refs !== undefined) return
    refs = []
    if (files.flows.length === 0 || !existsSync(rawDir)) return
    const { rows } = await select(() => refsSql(files.flows, maxObject))
    refs = rows
      .filter((r) => typeof r.ref === 'string' && typeof r.flow_id === 'string')
      .map((r) => ({ flow_id: String(r.flow_id), path: resolve(files.dir, String(r.ref)) }))
      // a pointer outside the capture dir or to a missing file is skipped, not fatal
      .filter((r) => r.path.startsWith(files.dir) && existsSync(r.path))
  }
  // DuckDB (a native module) is loaded and started on first use: the reverse-scan path
  // (`prompts -n 5`) never pays for it.
  let instance: DuckDBInstance | undefined
  let live: DuckDBConnection | undefined
  let connP: Promise<DuckDBConnection> | undefined
  const db = (): Promise<DuckDBConnection> =>
    (connP ??= (async () => {
      const { DuckDBInstance: Instance } = await import('@duckdb/node-api')
      const dbOpts: Record<string, string> = {}
      if (options.threads !== undefined) dbOpts.threads = String(options.threads)
      instance = await Instance.create(':memory:', dbOpts)
      const c = await instance.connect()
      await c.run(`create temp table prices (prefix varchar, input double, output double, cache_read double, cache_write double)`)
      const entries = Object.entries(prices.models)
      if (entries.length > 0) {
        await c.run(`insert into prices values ${entries.map(([k, p]) => `(${lit(k)}, ${p.input}, ${p.output}, ${p.cache_read}, ${p.cache_write})`).join(', ')}`)
      }
      await c.run(`create temp table price_version as select ${lit(prices.version)} as version`)
      live = c
      return c
    })())

  const linesBytes = files.lines.reduce((n, f) => n + statSync(f).size, 0)
  let rg: boolean | undefined
  const rgAvailable = (): boolean => (rg ??= hasRipgrep())
  let tmp: string | undefined
  const rgCache = new Map<string, string>()
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn)
    queue = p.catch(() => undefined)
    return p
  }

  async function rgFilter(pattern: string): Promise<string> {
    const hit = rgCache.get(pattern)
    if (hit !== undefined) return hit
    if (!rgAvailable()) throw new ExtractError('ENGINE_UNAVAILABLE', '--engine rg needs ripgrep (`rg`) on PATH; install it (apt install ripgrep, brew install ripgrep) or use --engine duckdb')
    tmp ??= mkdtempSync(join(options.tmpDir ?? tmpdir(), 'agenttap-rg-'))
    const out = join(tmp, `lines-${rgCache.size}.jsonl`)
    if (files.lines.length === 0) {
      rgCache.set(pattern, '')
      return ''
    }
    // rg writes straight into the temp file (no pipe through Node).
    const fd = openSync(out, 'w')
    try {
      await new Promise<void>((resolve, reject) => {
        // -a: binary junk lines are still text to us; --no-filename/--no-line-number: raw lines only.
        const child = spawn('rg', ['-a', '--no-filename', '--no-line-number', '--no-config', '-e', pattern, ...files.lines], { stdio: ['ignore', fd, 'pipe'] })
        const err: Buffer[] = []
        child.stderr?.on('data', (b: Buffer) => err.push(b))
        child.on('error', (e) => reject(new ExtractError('ENGINE_UNAVAILABLE', `could not run rg: ${e.message}`, { cause: e })))
        child.on('close', (code) => {
          // rg exits 1 when nothing matched: an empty prefilter, not an error.
          if (code === 0 || code === 1) resolve()
          else reject(new ExtractError('QUERY_FAILED', `rg exited with ${code}: ${Buffer.concat(err).toString().trim()}`))
        })
      })
    } finally {
      closeSync(fd)
    }
    rgCache.set(pattern, out)
    return out
  }

  async function select(sql: string | (() => string)): Promise<{ columns: string[]; rows: Row[] }> {
    for (;;) {
      try {
        const reader = await (await db()).runAndReadAll(typeof sql === 'string' ? sql : sql())
        return { columns: reader.columnNames(), rows: reader.getRowObjectsJS().map(toRow) }
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e)
        if (/maximum_object_size/.test(msg) && maxObject < maxObjectCap) {
          // A line longer than the current limit: grow it and run again.
          maxObject = Math.min(maxObjectCap, maxObject * 8)
          await makeViews()
          continue
        }
        throw new ExtractError('QUERY_FAILED', /maximum_object_size/.test(msg)
          ? `a capture line is longer than ${maxObjectCap} bytes (maxObjectBytes); raise it or split the capture: ${msg}`
          : `DuckDB query failed: ${msg}`, { cause: e })
      }
    }
  }

  function pickEngine(mode: ModeName, run: RunOptions): Exclude<EngineName, 'auto'> {
    const e = run.engine ?? options.engine ?? 'auto'
    if (e === 'reverse') {
      if (mode !== 'user_prompts' || run.limit === undefined) {
        throw new ExtractError('ENGINE_UNSUPPORTED', `--engine reverse answers "latest N" questions only (user_prompts with -n N), not ${mode}${run.limit === undefined ? ' without -n' : ''}; use --engine duckdb`)
      }
      return 'reverse'
    }
    if (e === 'auto') {
      if (mode === 'user_prompts' && run.limit !== undefined) return 'reverse'
      if (MODES[mode].selective && linesBytes >= (options.rgAutoBytes ?? RG_AUTO_BYTES) && rgAvailable()) return 'rg'
      return 'duckdb'
    }
    return e
  }

  async function runMode(mode: ModeName, run: RunOptions): Promise<ModeResult> {
    if (closed) throw new ExtractError('QUERY_FAILED', 'extractor is closed')
    const spec = MODES[mode]
    if (spec === undefined) throw new ExtractError('UNKNOWN_MODE', `unknown mode ${JSON.stringify(mode)}`)
    const warnings: string[] = []
    let engine = pickEngine(mode, run)
    const filters = { ...(run.since !== undefined ? { since: run.since } : {}), ...(run.until !== undefined ? { until: run.until } : {}),
      ...(run.session !== undefined ? { session: run.session } : {}), ...(run.client !== undefined ? { client: run.client } : {}) }

    if (engine === 'reverse') {
      const rows = await latestPrompts(files.flows, run.limit!, filters, undefined, files.dir)
      return { mode, engine, rows, columns: ['ts', 'session_id', 'flow_id', 'client', 'text'], warnings }
    }

    let lines = files.lines
    if (engine === 'rg') {
      if (spec.linesPattern === undefined) {
        warnings.push(`${mode} reads no SSE lines, so the rg prefilter does not apply; answered with duckdb`)
        engine = 'duckdb'
      } else {
        const f = await rgFilter(spec.linesPattern)
        lines = f === '' ? [] : [f]
      }
    }
    if (spec.reads.includes('flows')) await loadRefs()
    views = { files: { flows: files.flows, lines, ends: files.ends }, filters }
    await makeViews()

    const limited = (sql: string, orderCol = 'ts'): string =>
      run.limit === undefined ? sql : `select * from (select * from (${sql}) order by ${orderCol} desc nulls last limit ${Math.max(0, Math.floor(run.limit))}) order by ${orderCol}`

    let result: { columns: string[]; rows: Row[] }
    const derivedCols = (rows: Row[], fallback: string[]): string[] => (rows[0] ? Object.keys(rows[0]) : fallback)
    const toolRows = async (): Promise<Row[]> =>
      (await select(`select ts, session_id, flow_id, idx as "index", call_id, name, kind, arguments, complete, server from ${TOOL_CALLS_CTE} order by ts, flow_id, idx`)).rows
    const derived = async (fn: (rows: Row[]) => Row[], cols: string[]): Promise<{ columns: string[]; rows: Row[] }> => {
      let rows = fn(await toolRows())
      if (run.limit !== undefined) rows = rows.slice(Math.max(0, rows.length - run.limit))
      return { columns: derivedCols(rows, cols), rows }
    }
    switch (mode) {
      case 'shell_commands':
        result = await derived(shellCommands, ['ts', 'session_id', 'flow_id', 'call_id', 'tool', 'command', 'workdir'])
        break
      case 'file_edits':
        result = await derived(fileEdits, ['ts', 'session_id', 'flow_id', 'call_id', 'tool', 'op', 'path'])
        break
      case 'files_read':
        result = await derived(filesRead, ['ts', 'session_id', 'flow_id', 'call_id', 'tool', 'path', 'via'])
        break
      case 'web_access':
        result = await derived(webAccess, ['ts', 'session_id', 'flow_id', 'call_id', 'tool', 'kind', 'target'])
        break
      case 'mcp_calls':
        result = await derived(mcpCalls, ['ts', 'session_id', 'flow_id', 'call_id', 'server', 'tool', 'arguments'])
        break
      case 'subagents': {
        const headers = (await select(MODE_SQL.subagent_headers!)).rows
        result = await derived((calls) => subagents(calls, headers), ['ts', 'session_id', 'flow_id', 'source', 'call_id', 'subagent', 'description'])
        break
      }
      case 'rate_limits': {
        const rows = rateLimits((await select(limited(MODE_SQL.rate_limits!))).rows)
        result = { columns: derivedCols(rows, ['ts', 'session_id', 'flow_id', 'client', 'status', 'retry_after', 'requests_remaining', 'tokens_remaining', 'used_percent', 'reset', 'headers']), rows }
        break
      }
      case 'call_validation': {
        const r = await runCallValidation(files, filters, run.limit)
        warnings.push(...r.warnings)
        result = r
        break
      }
      case 'turns': {
        if (run.limit !== undefined) {
          // The latest N turns start at or after the N-th latest prompt: rebuild only the flows
          // from there on (turn numbers still count every earlier prompt of the session).
          const { rows } = await select(`select min(ts) as cutoff from (select ts from ${USER_PROMPTS_CTE} order by ts desc limit ${Math.max(1, Math.floor(run.limit))})`)
          const cutoff = rows[0]?.cutoff
          if (typeof cutoff === 'string') {
            views = { ...views!, linesFrom: cutoff }
            await makeViews()
            // The few lines of those flows are read by four sub-queries: scan the file once.
            await select(`create or replace temp table lines_cut as select * from lines`)
            await (await db()).run(`create or replace temp view lines as select * from lines_cut`)
          }
        }
        const sql = limited(MODE_SQL.turns!)
        result = run.mode === 'paired' ? await select(`select ts, session_id, turn, prompt, response from (${sql})`) : await select(sql)
        break
      }
      default: {
        const sql = MODE_SQL[mode]
        if (sql === undefined) throw new ExtractError('UNKNOWN_MODE', `mode ${mode} has no query`)
        // "latest N": by time where rows have one, else the first N of the mode's own order.
        const timeCol = LATEST_BY[mode] ?? 'ts'
        result = await select(timeCol === '' ? (run.limit === undefined ? sql : `select * from (${sql}) limit ${Math.floor(run.limit)}`) : limited(sql, timeCol))
      }
    }
    return { mode, engine: mode === 'call_validation' ? 'node' : engine, rows: result.rows, columns: result.columns, warnings }
  }

  return {
    files,
    prices,
    run: (mode, run = {}) => serial(() => runMode(mode, run)),
    countMalformed: (kinds = ['flows', 'lines', 'ends']) =>
      serial(async () => {
        const out: Record<string, number> = {}
        for (const kind of kinds) {
          for (const f of files[kind]) {
            const { rows } = await select(() => `select count(*) filter (where type is null) as bad from ${readSql(kind, [f], maxObject)}`)
            out[f] = Number(rows[0]?.bad ?? 0)
          }
        }
        return out
      }),
    locateMalformed: async (file, max = 5) => {
      const found: MalformedLine[] = []
      const ac = new AbortController()
      try {
        for await (const item of readJsonl(file, {
          signal: ac.signal,
          onError: (e) => {
            if (found.length < max) found.push({ file, line: e.line, offset: e.offset, message: e.message })
            if (found.length >= max) ac.abort()
          },
        })) {
          const t = (item.value as { type?: unknown } | null)?.type
          if ((typeof item.value !== 'object' || item.value === null || typeof t !== 'string') && found.length < max) {
            found.push({ file, line: item.line, offset: item.offset, message: `${file}:${item.line}: not a canonical record (no "type")` })
          }
          if (found.length >= max) break
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e
      }
      return found
    },
    query: (sql) =>
      serial(async () => {
        await loadRefs()
        views = { files, filters: {} }
        await makeViews()
        return select(sql)
      }),
    close: () => {
      if (closed) return
      closed = true
      live?.closeSync()
      live = undefined
      instance?.closeSync()
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
    },
  }
}
