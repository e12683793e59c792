import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import {
  BUNDLED_PRICES,
  MODES,
  MODE_NAMES,
  createExtractor,
  formatTable,
  isoInstant,
  parseModes,
  parsePriceTable,
  toCsv,
  toNdjson,
  writeResult,
} from '@agenttap/extractors'
import type { EngineName, Extractor, ModeName, ModeResult, OutputFormat, PriceTable, RunOptions } from '@agenttap/extractors'
import { EXIT, UsageError, exitCodeOf, messageOf } from './errors.js'
import { createProgress } from './progress.js'
import { dumpToNdjson, importToDir, type StreamRange } from './redis.js'

/** Where the CLI writes; real process streams in the bin, buffers in tests. */
export interface CliIo {
  stdout: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number }
  stderr: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number }
  env: Record<string, string | undefined>
}

interface CommonOpts {
  logDir?: string
  engine: EngineName
  format?: OutputFormat
  outDir?: string
  since?: string
  until?: string
  session?: string
  client?: string
  limit?: string
  prices?: string
  quiet?: boolean
  malformedCount: boolean
  verbose?: boolean
  mode?: string
  extract?: string
  redis?: string
  stream?: string
  from?: string
  to?: string
  follow?: boolean
}

const EXT: Record<OutputFormat, string> = { ndjson: 'ndjson', csv: 'csv', parquet: 'parquet', table: 'txt' }

function addCommon(cmd: Command): Command {
  return cmd
    .option('--log-dir <dir>', 'log root or capture dir (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .addOption(new Option('--engine <engine>', 'query engine').choices(['auto', 'duckdb', 'rg', 'reverse']).default('auto'))
    .addOption(new Option('-f, --format <format>', 'output format (default: table on a TTY, else ndjson)').choices(['ndjson', 'csv', 'parquet', 'table']))
    .option('-o, --out-dir <dir>', 'write one file per mode (<mode>.<format>) instead of stdout')
    .option('--since <when>', 'flows that started at/after (ISO date or age: 30m, 2h, 7d)')
    .option('--until <when>', 'flows that started before (ISO date or age)')
    .option('--session <id>', 'only this session id')
    .option('--client <client>', 'only this client (claude-code, codex, unknown)')
    .option('-n, --limit <n>', 'only the latest N rows')
    .option('--prices <file>', 'price table JSON overriding the bundled one')
    .option('-q, --quiet', 'no progress bar and no warnings on stderr')
    .option('--no-malformed-count', 'skip the extra scan that counts malformed lines')
    .option('-v, --verbose', 'diagnostics (timings) on stderr')
    .option('--redis <url>', 'read the capture from a Redis stream (agenttap-proxy --redis) instead of files')
    .option('--stream <key>', 'Redis stream key', 'agenttap:events')
    .option('--from <id>', 'Redis: start after this stream id (default: the beginning)')
    .option('--to <id>', 'Redis: stop after this stream id (inclusive)')
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

/** Runs modes and writes their rows; returns the exit code. */
async function runModes(modes: ModeName[], o: CommonOpts, io: CliIo): Promise<number> {
  if (o.redis === undefined) return runModesOnFiles(modes, o, io)
  // Import the stream range into a private capture dir, then every mode works as on files.
  const tmp = mkdtempSync(join(tmpdir(), 'agenttap-analyze-redis-'))
  try {
    const n = await importToDir(rangeOf(o, io), tmp)
    if (!o.quiet) io.stderr.write(`read ${n} record(s) from ${o.redis} ${o.stream ?? 'agenttap:events'}\n`)
    return await runModesOnFiles(modes, { ...o, logDir: tmp }, io)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

async function runModesOnFiles(modes: ModeName[], o: CommonOpts, io: CliIo): Promise<number> {
  // pino only loads with --verbose: the common path (`prompts -n 5`) stays fast to start.
  const log = o.verbose
    ? (await import('pino')).default({ level: 'debug', base: null }, (await import('pino')).default.destination({ fd: 2, sync: true }))
    : { debug: () => {} }
  const limit = parseLimit(o.limit)
  if (o.since !== undefined) isoInstant(o.since, '--since')
  if (o.until !== undefined) isoInstant(o.until, '--until')
  const format: OutputFormat = o.format ?? (io.stdout.isTTY ? 'table' : 'ndjson')
  if (format === 'parquet' && o.outDir === undefined) throw new UsageError('--format parquet writes files: add --out-dir <dir>')
  if (o.mode !== undefined && !['paired', 'full'].includes(o.mode)) throw new UsageError(`--mode expects paired or full, got ${JSON.stringify(o.mode)}`)
  const prices = loadPrices(o.prices)
  const logDir = resolve(o.logDir ?? io.env.AGENTTAP_LOG_DIR ?? join(homedir(), 'centralized-logs'))
  const x: Extractor = await createExtractor({ logDir, prices, engine: o.engine })
  // Ctrl-C mid-scan: remove the rg prefilter temp files before exiting.
  const onSigint = (): void => {
    try {
      x.close()
    } finally {
      process.exit(130)
    }
  }
  process.once('SIGINT', onSigint)
  try {
    if (o.outDir !== undefined) mkdirSync(o.outDir, { recursive: true })
    const progress = createProgress(io.stderr as NodeJS.WriteStream, { enabled: !o.quiet, total: modes.length + (o.malformedCount ? 1 : 0), bytes: x.files.bytes })
    const warn = (s: string): void => {
      if (!o.quiet) progress.log(`warning: ${s}\n`)
    }
    const run: RunOptions = {
      ...(o.since !== undefined ? { since: o.since } : {}),
      ...(o.until !== undefined ? { until: o.until } : {}),
      ...(o.session !== undefined ? { session: o.session } : {}),
      ...(o.client !== undefined ? { client: o.client } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(o.mode !== undefined ? { mode: o.mode } : {}),
    }
    const read = new Set<'flows' | 'lines' | 'ends'>()
    let scanned = false
    const results: ModeResult[] = []
    try {
      for (const mode of modes) {
        progress.step(mode)
        const t0 = performance.now()
        const r = await x.run(mode, run)
        log.debug({ mode, engine: r.engine, rows: r.rows.length, ms: Math.round(performance.now() - t0) }, 'mode done')
        if (r.engine !== 'reverse') {
          scanned = true
          for (const k of MODES[mode].reads) read.add(k)
        }
        for (const w of r.warnings) warn(w)
        if (o.outDir !== undefined) {
          const path = join(o.outDir, `${mode}.${EXT[format]}`)
          await writeResult(r, format, path)
          if (!o.quiet) progress.log(`${mode}: ${r.rows.length} row(s) → ${path}\n`)
        } else {
          results.push(r)
          writeStdout(r, format, modes.length > 1, io)
        }
      }
      if (scanned && o.malformedCount && !o.quiet) {
        progress.step('counting malformed lines')
        const counts = await x.countMalformed([...read])
        for (const [file, n] of Object.entries(counts)) {
          if (n > 0) warn(`${file}: ${n} malformed line(s) skipped (agenttap-analyze check --log-dir … shows where)`)
        }
      }
    } finally {
      progress.done()
    }
    return EXIT.OK
  } finally {
    process.removeListener('SIGINT', onSigint)
    x.close()
  }
}

function writeStdout(r: ModeResult, format: OutputFormat, multi: boolean, io: CliIo): void {
  if (format === 'ndjson') {
    io.stdout.write(multi ? toNdjson(['mode', ...r.columns], r.rows.map((row) => ({ mode: r.mode, ...row }))) : toNdjson(r.columns, r.rows))
  } else if (format === 'csv') {
    io.stdout.write((multi ? `# ${r.mode}\n` : '') + toCsv(r.columns, r.rows) + (multi ? '\n' : ''))
  } else {
    if (multi) io.stdout.write(`── ${r.mode} · ${r.rows.length} row(s) ──\n`)
    io.stdout.write(r.rows.length === 0 ? '(no rows)\n' : formatTable(r.columns, r.rows, { width: io.stdout.isTTY ? (io.stdout.columns ?? 120) : 200 }))
    if (multi) io.stdout.write('\n')
  }
}

async function check(o: CommonOpts, io: CliIo): Promise<number> {
  const logDir = resolve(o.logDir ?? io.env.AGENTTAP_LOG_DIR ?? join(homedir(), 'centralized-logs'))
  const x = await createExtractor({ logDir })
  try {
    const counts = await x.countMalformed()
    let bad = 0
    for (const [file, n] of Object.entries(counts)) {
      io.stdout.write(`${file}: ${n} malformed line(s)\n`)
      if (n > 0) {
        bad += n
        for (const m of await x.locateMalformed(file, 10)) io.stdout.write(`  ${m.message}\n`)
      }
    }
    return bad > 0 ? EXIT.RUNTIME : EXIT.OK
  } finally {
    x.close()
  }
}

/** Builds the command table. Every action stores its exit code in `state`. */
function buildProgram(io: CliIo, state: { code: number }): Command {
  const program = new Command('agenttap-analyze')
    .description('Answers about everything the agenttap proxy captured: prompts, tool calls, tokens, cost, errors, latency.')
    .showHelpAfterError('(run agenttap-analyze --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })

  addCommon(program.command('extract').description('run one or more modes: --extract config,tool_calls,tool_results (or all)'))
    .requiredOption('-e, --extract <modes>', `comma-separated modes: ${MODE_NAMES.join(', ')}, or all`)
    .addOption(new Option('--mode <mode>', 'turns variant').choices(['paired', 'full']))
    .action(async (o: CommonOpts) => {
      state.code = await runModes(parseModes(o.extract ?? ''), o, io)
    })

  addCommon(program.command('prompts').description('user prompts; -n N reads the latest N backwards (cost independent of log size)'))
    .action(async (o: CommonOpts) => {
      state.code = await runModes(['user_prompts'], o, io)
    })

  addCommon(program.command('turns').description(MODES.turns.description))
    .addOption(new Option('--mode <mode>', 'paired: only prompt ↔ final answer').choices(['paired', 'full']))
    .action(async (o: CommonOpts) => {
      state.code = await runModes(['turns'], o, io)
    })

  for (const m of MODE_NAMES) {
    if (m === 'turns') continue
    const cmd = addCommon(program.command(m).description(MODES[m].description))
    if (m.includes('_')) cmd.alias(m.replace(/_/g, '-'))
    cmd.action(async (o: CommonOpts) => {
      state.code = await runModes([m], o, io)
    })
  }

  program
    .command('modes')
    .description('list the extraction modes')
    .action(() => {
      for (const m of MODE_NAMES) io.stdout.write(`${m.padEnd(18)} ${MODES[m].description}\n`)
      state.code = EXIT.OK
    })

  program
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
        if (!o.quiet) io.stderr.write(`${n} record(s) → ${join(resolve(o.outDir), 'all-mitm-sse')}\n`)
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

  addCommon(program.command('check').description('count malformed lines per capture file and show where the first ones are'))
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
  const state = { code: EXIT.OK as number }
  const program = buildProgram(io, state)
  if (argv.length === 0) {
    program.outputHelp()
    return EXIT.USAGE
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
    return state.code
  } catch (err) {
    if (err instanceof CommanderError) {
      // help / version print and exit 0; parse errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    }
    io.stderr.write(`agenttap-analyze: ${messageOf(err)}\n`)
    return exitCodeOf(err)
  }
}
