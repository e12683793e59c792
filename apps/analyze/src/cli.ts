import { existsSync, fstatSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
// commander through cli-kit: required, not imported (an ESM import of it costs ~8 CPU ms more).
import { commander, errorLine, packageVersion, setupProgram } from '@agenttap/cli-kit'
import { CAPTURE_DIR, CLIENT_DIRS, defaultLogRoot } from '@agenttap/jsonl-io'
import {
  BUNDLED_PRICES,
  MODES,
  MODE_NAMES,
  ExtractError,
  createExtractor,
  createTranscriptExtractor,
  formatTable,
  isoInstant,
  parseModes,
  parsePriceTable,
  toCsv,
  toNdjson,
  writeResult,
} from '@agenttap/extractors'
import type { EngineName, Extractor, ExtractorOptions, IndexProgress, TranscriptDirs, ModeName, ModeResult, OutputFormat, PriceTable, RunOptions } from '@agenttap/extractors'
import { EXIT, UsageError, exitCodeOf, messageOf } from './errors.js'
import { createProgress } from './progress.js'
import { dumpToNdjson, importToDir, redisIndexDir, redisSource, type StreamRange } from './redis.js'
import { addOtelCommands } from './otel-commands.js'
import { isSingleInput, singleInput, type SingleInput } from './single-input.js'
import { fastOptions } from './fast-args.js'
import { COMMON_OPTIONS } from './options.js'
import { problemLine } from './problem-line.js'
import { missingDir, transcriptDirsFrom } from './transcript-dirs.js'

export { COMMON_OPTIONS }

const BIN = 'agenttap-analyze'
// The client vocabulary of a capture (jsonl-io's per-agent views), plus flows no agent claimed.
const CLIENTS = [...Object.keys(CLIENT_DIRS), 'unknown']

/** Where the CLI writes; real process streams in the bin, buffers in tests. */
export interface CliIo {
  stdout: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number }
  stderr: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number }
  env: Record<string, string | undefined>
  /** What `--log-dir -` reads. @defaultValue process.stdin */
  stdin?: AsyncIterable<Uint8Array>
  /**
   * The process exits (`process.exit`) as soon as `runCli` returns: an index opened read-only
   * is then left for the exit to release instead of closed (DuckDB's teardown, ~20 CPU ms).
   */
  exiting?: boolean
}

interface CommonOpts {
  logDir?: string
  engine: string
  index: boolean
  rebuildIndex?: boolean
  includeAux?: boolean
  indexDir?: string
  format?: OutputFormat
  outDir?: string
  since?: string
  until?: string
  session?: string
  client?: string
  limit?: string
  prices?: string
  quiet?: boolean
  verbose?: boolean
  mode?: string
  extract?: string
  redis?: string
  stream?: string
  from?: string
  to?: string
  follow?: boolean
  source?: string
  claudeDir?: string[]
  codexDir?: string[]
}

const EXT: Record<OutputFormat, string> = { ndjson: 'ndjson', csv: 'csv', parquet: 'parquet', table: 'txt' }

/**
 * Whether DuckDB can write this process's stdout itself by opening `/dev/stdout` (Linux, macOS):
 * a pipe or a terminal can be opened again. Not a socket (Node's own child-process stdio), and
 * not a regular file: opening it again truncates it and writes from its start, over what the
 * shell or an earlier command wrote (`(echo header; agenttap-analyze usage) > out`, `>> log`).
 */
function devStdout(): boolean {
  if (process.platform === 'win32' || !existsSync('/dev/stdout')) return false
  try {
    const st = fstatSync(1)
    return !st.isSocket() && !st.isFile()
  } catch {
    return false
  }
}

export function addCommon(cmd: Command): Command {
  for (const o of COMMON_OPTIONS) {
    if (o.choices === undefined) {
      if (o.default === undefined) cmd.option(o.flags, o.help)
      else cmd.option(o.flags, o.help, o.default)
    } else {
      const opt = new commander.Option(o.flags, o.help).choices(o.choices)
      cmd.addOption(o.default !== undefined ? opt.default(o.default) : opt)
    }
  }
  return cmd
}

function loadPrices(path: string | undefined): PriceTable {
  if (path === undefined) return BUNDLED_PRICES
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`--prices ${path}: cannot read the file (${messageOf(e)})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`--prices ${path}: not valid JSON (${messageOf(e)})`)
  }
  return parsePriceTable(json, `--prices ${path}`)
}

function parseLimit(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`-n/--limit expects a whole number ≥ 0, got ${JSON.stringify(v)}`)
  return Number(v)
}

function parseEngine(v: string): EngineName {
  if (v === 'auto' || v === 'index' || v === 'reverse') return v
  if (v === 'duckdb') return 'index'
  if (v === 'rg') throw new UsageError('--engine rg is gone: the index reads each captured byte once, so a ripgrep prefilter no longer pays; use --engine index (or auto)')
  throw new UsageError(`--engine expects auto, index or reverse, got ${JSON.stringify(v)}`)
}

function rangeOf(o: CommonOpts, io: CliIo): StreamRange {
  if (o.redis === undefined) throw new UsageError('--redis <url> is required')
  return {
    url: o.redis,
    ...(o.stream !== undefined ? { stream: o.stream } : {}),
    ...(o.from !== undefined ? { from: o.from } : {}),
    ...(o.to !== undefined ? { to: o.to } : {}),
    ...(o.follow ? { follow: true } : {}),
    onError: (m) => {
      if (!o.quiet) io.stderr.write(`warning: ${m}\n`)
    },
  }
}

/** The log root the user means. */
const logRootOf = (o: CommonOpts, io: CliIo): string => resolve(o.logDir ?? defaultLogRoot(io.env))

/** The transcript dirs of `--source transcripts|all`: the flags, else the agents' default dirs. */
function transcriptDirsOf(o: CommonOpts, io: CliIo): TranscriptDirs | undefined {
  if (o.source === undefined || o.source === 'wire') {
    if (o.claudeDir !== undefined || o.codexDir !== undefined) throw new UsageError('--claude-dir / --codex-dir read transcripts: add --source transcripts (or all)')
    return undefined
  }
  const dirs: TranscriptDirs = transcriptDirsFrom(o.claudeDir, o.codexDir, io.env)
  const missing = missingDir(dirs)
  if (missing !== undefined) throw new UsageError(`transcript dir ${missing} does not exist`)
  if (dirs.claude.length + dirs.codex.length === 0) {
    throw new UsageError('no transcripts found: none of ~/.claude/projects, ~/.config/claude/projects, $CLAUDE_CONFIG_DIR, ~/.codex/sessions, $CODEX_HOME exists; pass --claude-dir / --codex-dir')
  }
  return dirs
}

/** Opens the extractor: over the capture files, or over the Redis stream (`--redis`). */
async function openExtractor(o: CommonOpts, io: CliIo, prices: PriceTable | undefined, warn: (s: string) => void, onProgress?: (p: IndexProgress) => void): Promise<Extractor> {
  const common: Omit<ExtractorOptions, 'logDir'> = {
    engine: parseEngine(o.engine),
    index: o.index !== false,
    ...(prices ? { prices } : {}),
    ...(o.rebuildIndex ? { rebuildIndex: true } : {}),
    ...(o.includeAux ? { includeAux: true } : {}),
    onWait: (m) => warn(m),
    ...(onProgress !== undefined ? { onProgress } : {}),
    // Deferred appends and facts segments past half their caps: committed by a detached process
    // (as `git gc --auto`), not by a later run. AGENTTAP_INDEX_BACKGROUND=0 leaves them to the runs.
    maintainInBackground: process.env.AGENTTAP_INDEX_BACKGROUND !== '0',
  }
  if (o.redis === undefined) {
    const transcripts = transcriptDirsOf(o, io)
    if (transcripts === undefined) return createExtractor({ logDir: logRootOf(o, io), ...common })
    const alone = { logDir: '', wire: false, transcripts, indexDir: resolve(o.indexDir ?? join(logRootOf(o, io), 'transcripts-index')), ...common }
    // daily / usage / cost from the usage summary (no DuckDB); other modes open the index.
    if (o.source === 'transcripts') return createTranscriptExtractor(alone)
    try {
      return await createExtractor({ logDir: logRootOf(o, io), transcripts, ...common })
    } catch (e) {
      // --source all without a capture: the transcripts are all there is.
      if (!(e instanceof ExtractError) || (e.code !== 'NO_CAPTURES' && e.code !== 'LOG_DIR_MISSING')) throw e
      warn(`no capture under ${logRootOf(o, io)}: reading the transcripts only`)
      return createTranscriptExtractor(alone)
    }
  }
  if (o.source !== undefined && o.source !== 'wire') throw new UsageError('--redis reads the wire capture only; drop --source or --redis')
  const range = rangeOf(o, io)
  // An ad hoc range is its own in-memory index; the whole stream keeps one on disk.
  const adHoc = o.from !== undefined || o.to !== undefined
  const indexDir = adHoc ? undefined : resolve(o.indexDir ?? (await redisIndexDir(logRootOf(o, io), range)))
  return createExtractor({ logDir: indexDir ?? '', source: await redisSource(range), ...(indexDir ? { indexDir } : { index: false }), ...common })
}

/**
 * `--log-dir` naming one capture file or `-`: its records laid out as a capture in a temporary
 * directory, indexed in memory for this run. Undefined for a log root or capture dir.
 */
async function openSingleInput(o: CommonOpts, io: CliIo, warn: (s: string) => void): Promise<{ o: CommonOpts; input?: SingleInput }> {
  if (o.redis !== undefined || !isSingleInput(o.logDir)) return { o }
  if (o.logDir === '-' && io.stdin === undefined && process.stdin.isTTY) throw new UsageError('--log-dir - reads a capture from stdin, but stdin is a terminal: pipe one in (cat sse_lines.jsonl | agenttap-analyze usage --log-dir -)')
  const input = await singleInput(o.logDir, io.stdin ?? (process.stdin as AsyncIterable<Uint8Array>), warn)
  return { o: { ...o, logDir: input.root, index: false, rebuildIndex: false }, input }
}

/** Flags that can be checked before anything is read. */
function checkFilters(o: CommonOpts): void {
  if (o.client !== undefined && !CLIENTS.includes(o.client)) throw new UsageError(`--client: expected one of ${CLIENTS.join(', ')}, received ${JSON.stringify(o.client)}`)
}

/** Runs modes and writes their rows; returns the exit code. */
async function runModes(modes: ModeName[], given: CommonOpts, io: CliIo): Promise<number> {
  checkFilters(given)
  const single = await openSingleInput(given, io, (s) => {
    if (!given.quiet) io.stderr.write(`warning: ${s}\n`)
  })
  try {
    return await runModesOn(modes, single.o, io)
  } finally {
    single.input?.cleanup()
  }
}

async function runModesOn(modes: ModeName[], o: CommonOpts, io: CliIo): Promise<number> {
  // pino only loads with --verbose: the common path (`prompts -n 5`) stays fast to start.
  const log = o.verbose
    ? (await import('pino')).default({ level: 'debug', base: null }, (await import('pino')).default.destination({ fd: 2, sync: true }))
    : { debug: () => {} }
  const limit = parseLimit(o.limit)
  if (o.since !== undefined) isoInstant(o.since, '--since')
  if (o.until !== undefined) isoInstant(o.until, '--until')
  // Files under --out-dir do not depend on where stdout goes: NDJSON unless --format says otherwise.
  const format: OutputFormat = o.format ?? (o.outDir === undefined && io.stdout.isTTY ? 'table' : 'ndjson')
  if (format === 'parquet' && o.outDir === undefined) throw new UsageError('--format parquet writes files: add --out-dir <dir>')
  // One CSV stream has one header: several modes (different columns) cannot share stdout.
  if (format === 'csv' && modes.length > 1 && o.outDir === undefined) throw new UsageError('--format csv with several modes needs --out-dir <dir> (one file per mode): their columns differ, and one CSV stream has one header')
  if (o.mode !== undefined && !['paired', 'full'].includes(o.mode)) throw new UsageError(`--mode expects paired or full, got ${JSON.stringify(o.mode)}`)
  const prices = loadPrices(o.prices)
  const progress = createProgress(io.stderr as NodeJS.WriteStream, { enabled: !o.quiet, total: modes.length, bytes: 0 })
  const warn = (s: string): void => {
    if (!o.quiet) progress.log(`warning: ${s}\n`)
  }
  const x: Extractor = await openExtractor(o, io, prices, warn, (p) => progress.index(p))
  const onSigint = (): void => {
    try {
      x.close()
    } finally {
      process.exit(130)
    }
  }
  process.once('SIGINT', onSigint)
  try {
    if (o.outDir !== undefined) mkdirSync(o.outDir, { recursive: true, mode: 0o700 })
    const run: RunOptions = {
      ...(o.since !== undefined ? { since: o.since } : {}),
      ...(o.until !== undefined ? { until: o.until } : {}),
      ...(o.session !== undefined ? { session: o.session } : {}),
      ...(o.client !== undefined ? { client: o.client } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(o.mode !== undefined ? { mode: o.mode } : {}),
    }
    let indexed = false
    try {
      for (const mode of modes) {
        progress.step(mode)
        // Timed for --verbose only: the first `performance` access loads perf_hooks (~5 CPU ms).
        const t0 = o.verbose ? performance.now() : 0
        // NDJSON of one mode: DuckDB writes the file (or this process's stdout) itself, or hands
        // over its lines; no row objects in between.
        const direct = format === 'ndjson' && modes.length === 1
        const path = o.outDir !== undefined ? join(o.outDir, `${mode}.${EXT[format]}`) : undefined
        const target = !direct ? undefined : path ?? (io.stdout === process.stdout && devStdout() ? '/dev/stdout' : undefined)
        const r = await x.run(mode, target !== undefined ? { ...run, ndjsonTo: target } : direct ? { ...run, ndjson: true, ndjsonBytes: true } : run)
        const count = r.written ?? r.ndjson?.length ?? r.ndjsonBytes?.rows ?? r.rows.length
        log.debug({ mode, engine: r.engine, rows: count, ms: o.verbose ? Math.round(performance.now() - t0) : 0 }, 'mode done')
        // Only a mode that opened the index has an update to tell about (prompts -n may not).
        const u = x.lastUpdate
        if (u !== undefined && !indexed) {
          indexed = true
          log.debug({ ...u }, 'index update')
          if (u.rebuilt !== undefined && !o.quiet) progress.log(`note: the index was rebuilt (${u.rebuilt})\n`)
        }
        for (const w of r.warnings) warn(w)
        if (path !== undefined) {
          if (r.written === undefined) await writeResult(r, format, path)
          if (!o.quiet) progress.log(`${mode}: ${count} row(s) → ${path}\n`)
        } else if (r.written === undefined) {
          writeStdout(r, format, modes.length > 1, io)
        }
      }
      if (indexed && !o.quiet) {
        const line = problemLine(await x.problems(1))
        if (line !== undefined) warn(line)
      }
    } finally {
      progress.done()
    }
    return EXIT.OK
  } finally {
    process.removeListener('SIGINT', onSigint)
    x.close({ exiting: io.exiting === true })
  }
}

function writeStdout(r: ModeResult, format: OutputFormat, multi: boolean, io: CliIo): void {
  if (format === 'ndjson') {
    if (r.ndjsonBytes !== undefined) {
      for (const b of r.ndjsonBytes.chunks) io.stdout.write(b)
      return
    }
    if (r.ndjson !== undefined) {
      // In pieces: one string of every row would be built and copied again by the stream.
      for (let i = 0; i < r.ndjson.length; i += 4096) io.stdout.write(r.ndjson.slice(i, i + 4096).join('\n') + '\n')
      return
    }
    io.stdout.write(multi ? toNdjson(['mode', ...r.columns], r.rows.map((row) => ({ mode: r.mode, ...row }))) : toNdjson(r.columns, r.rows))
  } else if (format === 'csv') {
    io.stdout.write(toCsv(r.columns, r.rows))
  } else {
    if (multi) io.stdout.write(`── ${r.mode} · ${r.rows.length} row(s) ──\n`)
    io.stdout.write(r.rows.length === 0 ? '(no rows)\n' : formatTable(r.columns, r.rows, { width: io.stdout.isTTY ? (io.stdout.columns ?? 120) : 200 }))
    if (multi) io.stdout.write('\n')
  }
}

/** `cache --explain <flow>`: the break line and the diff, or why there is none. */
async function explain(flow: string, o: CommonOpts, io: CliIo): Promise<number> {
  const x = await openExtractor(o, io, loadPrices(o.prices), (m) => void (o.quiet ? undefined : io.stderr.write(`warning: ${m}\n`)))
  try {
    const { row, lines } = await x.explainCache(flow)
    // Lines quote captured text: control characters are shown escaped, never sent to the terminal.
    for (const l of lines) io.stdout.write(`${l.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}\n`)
    return row === undefined ? EXIT.RUNTIME : EXIT.OK
  } finally {
    x.close()
  }
}

async function check(given: CommonOpts, io: CliIo): Promise<number> {
  const single = await openSingleInput(given, io, (m) => void io.stderr.write(`warning: ${m}\n`))
  const o = single.o
  const x = await openExtractor(o, io, undefined, (m) => void io.stderr.write(`warning: ${m}\n`))
  try {
    await x.refresh()
    const p = await x.problems(50)
    if (p.total === 0) {
      io.stdout.write('no input problems: every line was indexed\n')
      return EXIT.OK
    }
    io.stdout.write(`${p.total} input problem(s): ${Object.entries(p.byCode).map(([k, n]) => `${k} ${n}`).join(', ')}\n`)
    for (const f of p.first) {
      const where = f.file ? `${f.file}${f.line !== null ? `:${f.line}` : ''}${f.offset !== null ? ` (byte ${f.offset})` : ''}` : '(no location)'
      // Messages quote captured text: control characters are shown escaped, never sent to the terminal.
      io.stdout.write(`  ${where}: ${f.code}${f.flow_id ? ` [flow ${f.flow_id}]` : ''}: ${f.message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}\n`)
    }
    if (p.total > p.first.length) io.stdout.write(`  … and ${p.total - p.first.length} more\n`)
    return EXIT.RUNTIME
  } finally {
    x.close()
    single.input?.cleanup()
  }
}

/** The commands `buildProgram` defines itself (modes with `_` also answer to their `-` alias). */
const OWN_COMMANDS = new Set(['extract', 'prompts', 'modes', 'redis-dump', 'check', ...MODE_NAMES, ...MODE_NAMES.filter((m) => m.includes('_')).map((m) => m.replace(/_/g, '-'))])

/**
 * Builds the command table. Every action stores its exit code in `state`. `only` (the first
 * argument, when it names one of the commands defined here) defines that command alone, and `-V` /
 * `--version` first none: commander builds ~40 commands of ~25 options each in tens of CPU ms,
 * more than a small mode's whole query.
 * A command's help, options and errors do not depend on its siblings; everything else
 * (`--help`, `help <cmd>`, a mistyped command) gets the whole table.
 */
function buildProgram(io: CliIo, state: { code: number }, only?: string): Command {
  const one = only !== undefined && OWN_COMMANDS.has(only) ? only : undefined
  // `--version` first: commander prints it and stops before any command is looked at.
  const versionOnly = only === '-V' || only === '--version'
  const want = (name: string): boolean => !versionOnly && (one === undefined || one === name || one === name.replace(/_/g, '-'))
  const program = setupProgram(new commander.Command(BIN), { bin: BIN, version: packageVersion(import.meta.url), stdout: io.stdout, stderr: io.stderr })
    .description('Answers about everything the agenttap proxy captured: prompts, tool calls, tokens, cost, errors, latency.')

  if (want('extract')) addCommon(program.command('extract').description('run one or more modes: --extract config,tool_calls,tool_results (or all)'))
    .requiredOption('-e, --extract <modes>', `comma-separated modes: ${MODE_NAMES.join(', ')}, or all`)
    .addOption(new commander.Option('--mode <mode>', 'turns variant').choices(['paired', 'full']))
    .action(async (o: CommonOpts) => {
      state.code = await runModes(parseModes(o.extract ?? ''), o, io)
    })

  if (want('prompts')) addCommon(program.command('prompts').description('user prompts; -n N reads the latest N backwards (cost independent of log size)'))
    .action(async (o: CommonOpts) => {
      state.code = await runModes(['user_prompts'], o, io)
    })

  if (want('turns')) addCommon(program.command('turns').description(MODES.turns.description))
    .addOption(new commander.Option('--mode <mode>', 'paired: only prompt ↔ final answer').choices(['paired', 'full']))
    .action(async (o: CommonOpts) => {
      state.code = await runModes(['turns'], o, io)
    })

  if (want('cache')) addCommon(program.command('cache').description(MODES.cache.description))
    .option('--explain <flow>', 'show how the flow\'s request diverged from the one its lane cached, as a short diff')
    .action(async (o: CommonOpts & { explain?: string }) => {
      state.code = o.explain === undefined ? await runModes(['cache'], o, io) : await explain(o.explain, o, io)
    })

  for (const m of MODE_NAMES) {
    if (m === 'turns' || m === 'cache' || !want(m)) continue
    const cmd = addCommon(program.command(m).description(MODES[m].description))
    if (m.includes('_')) cmd.alias(m.replace(/_/g, '-'))
    cmd.action(async (o: CommonOpts) => {
      state.code = await runModes([m], o, io)
    })
  }

  if (want('modes')) program
    .command('modes')
    .description('list the extraction modes')
    .action(() => {
      for (const m of MODE_NAMES) io.stdout.write(`${m.padEnd(18)} ${MODES[m].description}\n`)
      state.code = EXIT.OK
    })

  if (want('redis-dump')) program
    .command('redis-dump')
    .description('write a Redis stream (agenttap-proxy --redis) as NDJSON records to stdout, or import it into a capture dir with --out-dir')
    .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option('--stream <key>', 'stream key', 'agenttap:events')
    .option('--from <id>', 'start after this stream id (default: the beginning)')
    .option('--to <id>', 'stop after this stream id (inclusive)')
    .option('--follow', 'keep writing new entries as they arrive (NDJSON only)')
    .option('-o, --out-dir <dir>', 'append to <dir>/all-mitm-sse/{sse_flows,sse_lines,sse_flow_ends}.jsonl instead of stdout')
    .option('-q, --quiet', 'no summary or warnings on stderr')
    .addHelpText('after', '\nExample: agenttap-analyze redis-dump --redis redis://127.0.0.1:6379 --follow | agenttap-monitor -')
    .action(async (o: CommonOpts) => {
      const range = rangeOf(o, io)
      if (o.outDir !== undefined) {
        if (o.follow) throw new UsageError('--follow writes to stdout; drop --out-dir (or --follow)')
        const n = await importToDir(range, resolve(o.outDir))
        if (!o.quiet) io.stderr.write(`${n} record(s) → ${join(resolve(o.outDir), CAPTURE_DIR)}\n`)
      } else {
        const ac = new AbortController()
        const stop = (): void => ac.abort()
        process.once('SIGINT', stop)
        try {
          const n = await dumpToNdjson({ ...range, signal: ac.signal }, io.stdout)
          if (!o.quiet) io.stderr.write(`${n} record(s)\n`)
        } finally {
          process.off('SIGINT', stop)
        }
      }
      state.code = EXIT.OK
    })

  if (one === undefined && !versionOnly) addOtelCommands(program, io, state, (o) => logRootOf(o as CommonOpts, io))

  if (want('check')) addCommon(program.command('check').description('list the input the index skipped or repaired (malformed lines, unknown types, flows without an end, …) with file:line:offset'))
    .action(async (o: CommonOpts) => {
      state.code = await check(o, io)
    })
  return program
}

/**
 * Runs `agenttap-analyze` with `argv` (without node and script) and returns the exit code.
 * Errors become one line on stderr.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const fast = fastModeLine(argv)
  if (fast !== undefined) {
    try {
      return await runModes([fast.mode], fast.o, io)
    } catch (err) {
      return failed(err, io)
    }
  }
  const state = { code: EXIT.OK as number }
  const program = buildProgram(io, state, argv[0])
  if (argv.length === 0) {
    // Nothing asked: the help is the error message, so it goes to stderr.
    program.outputHelp({ error: true })
    return EXIT.USAGE
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
    return state.code
  } catch (err) {
    if (err instanceof commander.CommanderError) {
      // help / version print and exit 0; parse errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    }
    return failed(err, io)
  }
}

/**
 * A mode command (`usage`, `daily`, `tool-calls`, `prompts`, … — the commands whose options are
 * {@link COMMON_OPTIONS} alone) on a plain command line, read without commander (fast-args.ts);
 * undefined for anything else, which commander reads.
 */
export function fastModeLine(argv: readonly string[]): { mode: ModeName; o: CommonOpts } | undefined {
  const name = argv[0]
  // `prompts` is `user_prompts` under the name people type (`prompts -n 5`), with the same options.
  const mode = name === 'prompts' ? 'user_prompts' : MODE_NAMES.find((m) => m !== 'turns' && m !== 'cache' && (m === name || m.replace(/_/g, '-') === name))
  if (mode === undefined) return undefined
  const o = fastOptions(argv.slice(1), COMMON_OPTIONS)
  return o === undefined ? undefined : { mode, o: o as unknown as CommonOpts }
}

/** An error of a run as one line on stderr, and its exit code. */
function failed(err: unknown, io: CliIo): number {
  // `usage | head`: the reader went away (DuckDB writing stdout says so as an IO error): not a failure.
  if (/Broken pipe|EPIPE/.test(messageOf(err))) return EXIT.OK
  io.stderr.write(errorLine(BIN, err))
  return exitCodeOf(err)
}
