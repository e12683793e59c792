import { errorLine, intArg, packageVersion, positiveNumberArg, setupProgram } from '@agenttap/cli-kit'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { hostname } from 'node:os'
import { redisSource } from '@agenttap/capture-sources'
import { CLIENT_DIRS, defaultLogRoot } from '@agenttap/jsonl-io'
import { createAlertCommand, runTerminalView, type RunTerminalViewOptions } from '@agenttap/terminal-view'
import { EXIT, exitCodeOf } from './errors.js'
import { disablePretenuring } from './v8-flags.js'

const numArg = positiveNumberArg
const BIN = 'agenttap-monitor'

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), ...v.split(',').filter((s) => s !== '')]

// The client vocabulary of the capture (jsonl-io's per-agent views), plus flows no agent claimed.
const CLIENTS = [...Object.keys(CLIENT_DIRS), 'unknown']
function clientArg(v: string, prev: string[] | undefined): string[] {
  const list = collect(v, prev)
  const bad = list.find((c) => !CLIENTS.includes(c))
  if (bad !== undefined) throw new InvalidArgumentError(`--client: expected one of ${CLIENTS.join(', ')}, received "${bad}"`)
  return list
}

/** The command table of `agenttap-monitor`. */
export function buildCommand(): Command {
  return new Command('agenttap-monitor')
    .description(
      'Live multi-flow view of captured AI-agent traffic: assistant text, thinking, tool calls ($ commands), errors, usage and one line per flow end.',
    )
    .argument('[source]', 'capture file, log directory, or - for stdin (default: <log dir>/all-mitm-sse/sse_lines.jsonl)')
    .option('--log-dir <dir>', 'log root (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .option('--from-start', 'follow: start at the beginning of the file instead of its end')
    .option('--no-siblings', 'read only the given sse_lines.jsonl, not sse_flows.jsonl / sse_flow_ends.jsonl beside it')
    .option('--replay', 'read a finished capture from the start at its recorded pace, then exit')
    .option('--delay-ms <n>', 'replay with a fixed delay per record (0: as fast as possible); implies --replay', intArg('--delay-ms', 0))
    .option('--speed <x>', 'replay at recorded pace: speed factor; implies --replay', numArg('--speed'))
    .option('--max-gap-ms <n>', 'replay at recorded pace: longest pause; implies --replay', intArg('--max-gap-ms', 0), 2000)
    .option('--show-time', 'prefix lines with the record time (UTC)')
    .option('--show-flow-id', 'show flow ids (headers and a short prefix per line)')
    .option('--function-only', 'show only tool calls (function-call arguments)')
    .option('--session-guard <ms>', 'the flow on screen keeps it until silent this long', intArg('--session-guard', 0), 2000)
    .option('--args-sub-deltas <n>', 'argument deltas within which a shell command is detected (min 8)', intArg('--args-sub-deltas', 8), 8)
    .option('--session <id>', 'only sessions whose id starts with this (repeatable, or comma-separated)', collect)
    .option('--client <name>', 'only this client: claude-code, codex, unknown (repeatable, or comma-separated)', clientArg)
    .option('--json', 'print unified events as NDJSON (for jq) instead of the view')
    .option('--alerts', 'one line per alert: cache break with cause and cost, context ≥ 80 %, quota ≥ 80 %, model switch mid-session')
    .option('--alert-cmd <command>', 'run this shell command for each alert, the alert as JSON on stdin (implies --alerts)')
    .addOption(new Option('--color <when>', 'colours').choices(['auto', 'always', 'never']).default('auto'))
    .option('--idle-ms <ms>', 'a silent flow is shown as dead after this long', intArg('--idle-ms', 1), 120000)
    .option('--poll-ms <ms>', 'poll interval of followed files', intArg('--poll-ms', 10), 250)
    .option('--redis <url>', 'read records from a Redis stream (agenttap-proxy --redis) instead of files')
    .option('--stream <key>', 'Redis stream key', 'agenttap:events')
    .option('--group <name>', 'Redis consumer group: restarts resume where they left off', 'agenttap-monitor')
    .option('--consumer <name>', 'this consumer in the group (keep it stable across restarts)', hostname())
    .option('--no-group', 'read the Redis stream with plain XREAD (nothing acknowledged)')
    .option('--verbose', 'log diagnostics (malformed stream data, lifecycle defects) to stderr as JSON (pino)')
    .addHelpText(
      'after',
      `
Examples:
  agenttap-monitor                                   follow the default capture (and its flow / flow-end files)
  agenttap-monitor ~/centralized-logs/claude/sse_lines.jsonl
  tail -f sse_lines.jsonl | agenttap-monitor -
  agenttap-monitor --replay --speed 4 fixtures/capture/    replay a finished capture (here: the repo's fixtures)
  agenttap-monitor --json --from-start | jq 'select(.type=="tool_call_end")'

Colours only on a terminal and never with NO_COLOR. Exit codes: 0 ok, 1 source error, 2 usage.`,
    )
}

interface CliFlags {
  logDir?: string
  fromStart?: boolean
  siblings: boolean
  replay?: boolean
  delayMs?: number
  speed?: number
  maxGapMs: number
  showTime?: boolean
  showFlowId?: boolean
  functionOnly?: boolean
  sessionGuard: number
  argsSubDeltas: number
  session?: string[]
  client?: string[]
  json?: boolean
  alerts?: boolean
  alertCmd?: string
  color: 'auto' | 'always' | 'never'
  idleMs: number
  pollMs: number
  redis?: string
  stream: string
  group: string | false
  consumer: string
  verbose?: boolean
}

/** I/O of {@link main}, injectable for tests. */
export interface MainIo {
  stdout?: NodeJS.WriteStream | NodeJS.WritableStream
  stderr?: NodeJS.WriteStream | NodeJS.WritableStream
  env?: NodeJS.ProcessEnv
  signal?: AbortSignal
  /** Whether stdin is a terminal. @defaultValue process.stdin.isTTY */
  stdinIsTTY?: boolean
}

/**
 * Runs `agenttap-monitor` with the given arguments (without `node` and the script) and returns
 * the exit code. Stops cleanly on SIGINT / SIGTERM and when stdout closes (`| head`). Turns off
 * V8's allocation-site pretenuring for the process ({@link disablePretenuring}).
 */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  // Every run promotes the same bytes, whatever V8 would have pretenured (see disablePretenuring).
  disablePretenuring()
  const stdout = (io.stdout ?? process.stdout) as NodeJS.WriteStream
  const stderr = (io.stderr ?? process.stderr) as NodeJS.WriteStream
  const env = io.env ?? process.env
  const cmd = setupProgram(buildCommand(), { bin: BIN, version: packageVersion(import.meta.url), stdout, stderr })
  let flags: CliFlags
  let sourceArg: string | undefined
  try {
    cmd.parse(argv, { from: 'user' })
    flags = cmd.opts<CliFlags>()
    sourceArg = cmd.args[0]
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    stderr.write(errorLine(BIN, err))
    return exitCodeOf(err)
  }
  if (flags.redis !== undefined && sourceArg !== undefined) {
    stderr.write('agenttap-monitor: give either a source file or --redis, not both\n')
    return EXIT.USAGE
  }

  if (sourceArg === '-' && (io.stdinIsTTY ?? process.stdin.isTTY) === true) {
    stderr.write('agenttap-monitor: - reads records from stdin, but stdin is a terminal: pipe a capture in (tail -f sse_lines.jsonl | agenttap-monitor -)\n')
    return EXIT.USAGE
  }

  const ac = new AbortController()
  const stop = () => ac.abort()
  io.signal?.addEventListener('abort', stop, { once: true })
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  // `| head` closes the pipe: stop reading instead of dying on EPIPE.
  const onOutError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stop()
  }
  stdout.on('error', onOutError)

  // Pacing options only mean something for a replay: giving one asks for it.
  const replay = flags.replay === true || flags.delayMs !== undefined || flags.speed !== undefined || cmd.getOptionValueSource('maxGapMs') === 'cli'
  const source =
    flags.redis !== undefined
      ? redisSource(flags.redis, {
          stream: flags.stream,
          ...(flags.group !== false ? { group: flags.group, consumer: flags.consumer } : {}),
          ...(flags.fromStart ? { fromStart: true } : {}),
          signal: ac.signal,
        })
      : (sourceArg ?? flags.logDir ?? defaultLogRoot(env))
  const isTty = stdout.isTTY === true
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== ''
  const opts: RunTerminalViewOptions = {
    source,
    output: stdout,
    errorOutput: stderr,
    env,
    color: flags.color === 'always' ? true : flags.color === 'never' ? false : isTty && !noColor,
    ansi: isTty,
    replay,
    sessionGuardMs: flags.sessionGuard,
    argsSubDeltas: flags.argsSubDeltas,
    maxGapMs: flags.maxGapMs,
    idleMs: flags.idleMs,
    pollMs: flags.pollMs,
    siblings: flags.siblings,
    signal: ac.signal,
    banner: isTty && flags.json !== true,
    // Into a pipe or a file, stdout carries only the view: warnings about the input go to stderr.
    warnings: isTty ? 'view' : 'stderr',
  }
  if (flags.fromStart) opts.fromStart = true
  if (flags.delayMs !== undefined) opts.delayMs = flags.delayMs
  if (flags.speed !== undefined) opts.speed = flags.speed
  if (flags.showTime) opts.showTime = true
  if (flags.showFlowId) opts.showFlowId = true
  if (flags.functionOnly) opts.functionOnly = true
  if (flags.session) opts.sessions = flags.session
  if (flags.client) opts.clients = flags.client
  if (flags.json) opts.json = true
  const hook = flags.alertCmd !== undefined ? createAlertCommand(flags.alertCmd, { onError: (e) => void stderr.write(`agenttap-monitor: ${e.message}\n`) }) : undefined
  if (flags.alerts || hook) opts.alerts = true
  if (hook) opts.onAlert = hook.run
  if (flags.verbose) {
    // stdout is the view (or NDJSON); diagnostics go to stderr so pipes stay clean. pino is
    // loaded only here: most runs log nothing, and loading it costs more CPU than a small capture.
    const { default: pino } = await import('pino')
    const log = pino({ name: 'agenttap-monitor', base: null }, pino.destination({ fd: 2, sync: true }))
    opts.onDiagnostic = (e) => {
      // NormalizerError / FlowFsmError carry code, flow_id, seq (and more) as own fields.
      const { code, flow_id, seq, event, excerpt } = e as { code?: string; flow_id?: string; seq?: number; event?: string; excerpt?: string }
      log.warn({ err: e.name, code, flow_id, seq, event, excerpt }, e.message)
    }
  }
  try {
    await runTerminalView(opts)
    await hook?.close()
    return EXIT.OK
  } catch (err) {
    stderr.write(errorLine(BIN, err))
    return exitCodeOf(err)
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    stdout.off('error', onOutError)
  }
}
