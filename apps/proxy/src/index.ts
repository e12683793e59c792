import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { CliError, EXIT, errorLine, exitCodeOf, fileArg, intArg, packageVersion, portArg, setupProgram, stopSignal } from '@agenttap/cli-kit'
import { resolveCapture, resolveLoopback } from '@agenttap/jsonl-io'
import { Command, CommanderError, Option } from 'commander'
import type { Logger } from 'pino'
import {
  agentEnv,
  createCaptureProxy,
  createRedisSink,
  defaultCaDir,
  defaultLogDir,
  DEFAULT_PORT,
  ensureCa,
  ensureRedactionKey,
  exportLines,
  HEALTH_PATH,
  ProxyCaptureError,
  type CaptureProxy,
  type CaptureProxyOptions,
  type CaptureSink,
} from '@agenttap/proxy-capture'
import { createWebServer, DEFAULT_WEB_PORT, type WebServer } from '@agenttap/web'
import { createLogger } from './logger.js'
import { demoCommand } from './demo-command.js'
import { replayCommand } from './replay-command.js'
import { webCommand } from './web-command.js'

/** Exit codes (cli-kit's, shared by every agenttap command): 0 ok, 1 runtime, 2 usage. */
export { EXIT }

const BIN = 'agenttap-proxy'

interface CommonOpts {
  port: number
  host: string
  allowRemote?: boolean
  logDir?: string
  caDir?: string
  includeHost?: string[]
  excludeHost?: string[]
  upstreamCa?: string
  connectTo?: string[]
  insecureUpstream?: boolean
  rawBodies?: string
  redis?: string
  stream?: string
  maxlen?: number
  quiet?: boolean
  jsonLogs?: boolean
  verbose?: boolean
  otlp?: string
  otlpContent?: boolean
  otlpReceiver?: string
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)]
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-p, --port <port>', 'port to listen on (0: a free port)', portArg('--port'), DEFAULT_PORT)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--allow-remote', 'allow listening on a non-loopback address (anyone reaching it can read the traffic)')
    .option('--log-dir <dir>', 'log root (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .option('--ca-dir <dir>', 'CA directory (default: ~/.agenttap/ca)')
    .option('--include-host <host>', 'capture only these hosts (repeatable, comma-separated, *.suffix allowed)', collect)
    .option('--exclude-host <host>', 'never capture these hosts (repeatable)', collect)
    .option('--upstream-ca <file>', 'extra PEM roots to trust for upstream TLS', fileArg('--upstream-ca'))
    .option(
      '--connect-to <HOST1:PORT1:HOST2:PORT2>',
      'send requests for HOST1:PORT1 to HOST2:PORT2 instead, like curl (repeatable; empty HOST1 or PORT1 = any); URL, Host, SNI and the certificate name stay HOST1\'s',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--insecure-upstream', 'do not verify upstream certificates (debugging only)')
    .addOption(
      new Option('--raw-bodies <mode>', 'response bodies in sse_logs/: a redacted decoded copy, exact wire bytes (NOT redacted: secrets may reach disk), or none')
        .choices(['redacted', 'exact', 'off'])
        .default('redacted'),
    )
    .option('--redis <url>', 'also write every record to a Redis stream (e.g. redis://127.0.0.1:6379); Redis down never stalls the traffic')
    .option('--stream <key>', 'Redis stream key', 'agenttap:events')
    .option('--maxlen <n>', 'trim the Redis stream to about N entries (XADD MAXLEN ~ N)', intArg('--maxlen', 1))
    .option('--otlp <endpoint>', 'also export the model calls live as OpenTelemetry GenAI spans and metrics (OTLP/HTTP, e.g. http://127.0.0.1:4318); a slow endpoint never stalls the traffic (bounded queue, drops counted)')
    .option('--otlp-content', 'with --otlp: record prompts, answers and tool input/output on the spans (redacted as on disk)')
    .option('--otlp-receiver <port>', 'receive the agents\' own OpenTelemetry (Claude Code CLAUDE_CODE_ENABLE_TELEMETRY, Codex [otel]) on 127.0.0.1:<port> and store it beside the capture')
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--json-logs', 'diagnostics as pino NDJSON on stderr')
    .option('-v, --verbose', 'debug diagnostics')
}

/**
 * The proxy with its sinks: the capture files always (the proxy writes them on its capture
 * thread); with --redis also the stream, whose drops become a `sink_gap` record in the files.
 */
async function createProxy(o: CommonOpts, opts: CaptureProxyOptions, log: Logger): Promise<CaptureProxy> {
  const otlp = await otlpSink(o, log)
  if (otlp) opts = { ...opts, sinks: [...(opts.sinks ?? []), otlp] }
  if (!o.redis) return createCaptureProxy(opts)
  const maxlen = o.maxlen
  let proxy: CaptureProxy | undefined
  const redis = await createRedisSink({
    redis: o.redis,
    ...(o.stream ? { stream: o.stream } : {}),
    ...(maxlen !== undefined ? { maxlen } : {}),
    onGap: (gap) => {
      log.warn({ dropped: gap.dropped, from: gap.from, to: gap.to }, 'Redis was unavailable: records dropped from the stream (all of them are in the files)')
      proxy?.write(gap)
    },
    onError: (err) => log.debug({ err }, 'Redis write failed; retrying'),
  })
  log.info({ redis: o.redis, stream: o.stream }, 'writing records to the Redis stream too')
  proxy = createCaptureProxy({ ...opts, sinks: [...(opts.sinks ?? []), redis] })
  return proxy
}

/** With --otlp: the live OTLP export, a sink of the proxy (loaded lazily: the other runs don't pay for it). */
async function otlpSink(o: CommonOpts, log: Logger): Promise<CaptureSink | undefined> {
  if (!o.otlp) return undefined
  const { createOtlpLiveExport, signalUrls } = await import('@agenttap/otel')
  try {
    signalUrls(o.otlp)
  } catch (err) {
    throw new CommanderError(EXIT.USAGE, 'agenttap.otlp', `--otlp: ${(err as Error).message}`)
  }
  let warned = 0
  const sink = createOtlpLiveExport({
    endpoint: o.otlp,
    ...(o.otlpContent ? { content: true } : {}),
    onError: (err) => {
      // The first failures, then every 100th: a down endpoint must not flood the terminal.
      if (warned++ < 3 || warned % 100 === 0) log.warn({ code: err.code, err: err.message }, 'OTLP export: spans not delivered (the capture continues)')
    },
  })
  log.info({ endpoint: o.otlp, content: Boolean(o.otlpContent), thread: sink.mode === 'thread' }, 'exporting model calls as OpenTelemetry GenAI spans')
  return {
    write: (r) => sink.write(r),
    // On its own thread, the export takes the records from the capture thread directly.
    ...(sink.recordPort ? { recordPort: () => sink.recordPort?.() } : {}),
    flush: () => sink.flush(),
    async close() {
      await sink.close()
      const s = sink.stats
      log.info({ calls: s.calls, spans: s.spans, exported: s.exported, failed: s.failed, dropped: s.dropped, droppedRecords: s.droppedRecords }, 'OTLP export closed')
    },
  }
}

/**
 * With --otlp-receiver: an OTLP/HTTP receiver on loopback whose telemetry records go into the
 * capture (sse_flow_ends.jsonl) through the proxy, redacted with the capture's key.
 */
async function startReceiver(o: CommonOpts, proxy: CaptureProxy, log: Logger, print: boolean): Promise<{ close(): Promise<void>; env: Record<string, string> } | undefined> {
  if (o.otlpReceiver === undefined) return undefined
  const port = Number(o.otlpReceiver)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommanderError(EXIT.USAGE, 'agenttap.otlpReceiver', `--otlp-receiver must be a port 0-65535, got ${o.otlpReceiver}`)
  const { createOtlpReceiver } = await import('@agenttap/otel')
  const { createRedactor } = await import('@agenttap/session-extractor')
  const receiver = createOtlpReceiver({
    port,
    onRecord: (r) => proxy.write(r),
    redactor: createRedactor({ hashKey: ensureRedactionKey(o.caDir ?? defaultCaDir()).key }),
    onError: (err) => log.warn({ code: err.code, err: err.message }, 'OTLP receiver: request refused'),
  })
  const url = await receiver.start()
  // Claude Code's telemetry settings (its monitoring docs); Codex reads its own [otel] config instead.
  const env = { CLAUDE_CODE_ENABLE_TELEMETRY: '1', OTEL_LOGS_EXPORTER: 'otlp', OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: url }
  log.info({ receiver: url, capture: proxy.captureDir }, 'receiving the agents\' own telemetry (stored as telemetry records in sse_flow_ends.jsonl)')
  if (print) {
    process.stdout.write(`# agents' own telemetry → ${url} (Claude Code; Codex: [otel] in config.toml, below):\n${Object.entries(env).map(([k, v]) => `export ${k}=${v}\n`).join('')}`)
    process.stdout.write(`${codexOtelToml(url).map((l) => `# ${l}\n`).join('')}`)
  }
  return {
    env,
    async close() {
      await receiver.close()
      log.info({ ...receiver.stats }, 'OTLP receiver closed')
    },
  }
}

/**
 * Codex's `[otel]` table for the receiver at `url` (openai/codex docs/config.md): each signal's
 * full URL (Codex appends no `/v1/<signal>`), protocol spelled `binary`; `metrics_exporter` is
 * set explicitly because its default sends the metrics to OpenAI's statsig.
 */
function codexOtelToml(url: string): string[] {
  const exp = (signal: string): string => `{ otlp-http = { endpoint = "${url}/v1/${signal}", protocol = "binary" } }`
  return ['Codex (~/.codex/config.toml):', '[otel]', `exporter = ${exp('logs')}`, `trace_exporter = ${exp('traces')}`, `metrics_exporter = ${exp('metrics')}`]
}

/** The --upstream-ca file's text; whether it holds certificates is proxy-capture's check. */
function readUpstreamCa(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new CliError('USAGE', `--upstream-ca ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: path, cause: e })
  }
}

/** A busy or refused port as the one line a user needs (proxy-capture's LISTEN_FAILED). */
function listenError(err: unknown, what: string, flag: string): unknown {
  const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code
  if (code === 'EADDRINUSE') return new CliError('RUNTIME', `${what}: the port is already in use; pick another with ${flag} (0: any free port)`, { cause: err })
  if (code === 'EACCES') return new CliError('RUNTIME', `${what}: not allowed to listen on that port; pick one above 1023 with ${flag}`, { cause: err })
  return err
}

function proxyOptions(o: CommonOpts, log: Logger): CaptureProxyOptions {
  return {
    port: o.port,
    host: o.host,
    logger: log,
    ...(o.allowRemote ? { allowNonLoopback: true } : {}),
    ...(o.logDir ? { logDir: o.logDir } : {}),
    ...(o.caDir ? { caDir: o.caDir } : {}),
    ...(o.includeHost ? { includeHosts: o.includeHost } : {}),
    ...(o.excludeHost ? { excludeHosts: o.excludeHost } : {}),
    ...(o.upstreamCa ? { upstreamCa: readUpstreamCa(o.upstreamCa) } : {}),
    ...(o.connectTo ? { connectTo: o.connectTo } : {}),
    ...(o.insecureUpstream ? { rejectUnauthorized: false } : {}),
    ...(o.rawBodies ? { rawBodies: o.rawBodies as 'exact' | 'redacted' | 'off' } : {}),
  }
}

/**
 * Feeds the proxy's live records in-process to the live terminal view (`proxy.records()` is
 * bounded and drops the oldest when the terminal can't keep up, so it never slows the proxy
 * down). Loaded lazily: the other commands don't pay for it. The view never throws into the
 * proxy: an input it fails on is logged and skipped, and the capture goes on.
 */
async function attachLiveMonitor(proxy: CaptureProxy, signal: AbortSignal, log: Logger, alerts: { alerts?: boolean; alertCmd?: string } = {}): Promise<{ done: Promise<unknown> }> {
  const { attachTerminalView, createAlertCommand } = await import('@agenttap/terminal-view')
  const hook = alerts.alertCmd !== undefined ? createAlertCommand(alerts.alertCmd, { onError: (err) => log.warn({ code: err.code }, err.message) }) : undefined
  const view = attachTerminalView(proxy.records({ signal }), {
    output: process.stdout,
    signal,
    ...(alerts.alerts || hook ? { alerts: true } : {}),
    ...(hook ? { onAlert: hook.run } : {}),
    onDiagnostic: (err) => {
      if ((err as { code?: string }).code === 'VIEW_FAILED') log.error({ err }, 'the live monitor failed on a record; the capture continues')
      else log.debug({ err: err.message }, 'live monitor diagnostic')
    },
  })
  // Wrapped: an async function returning the bare promise would make callers await the view's end.
  return { done: hook ? view.done.then(() => hook.close()) : view.done }
}

function printExports(proxy: CaptureProxy): void {
  const lines = exportLines({ url: proxy.url, caCertPath: proxy.caCertPath, caBundlePath: proxy.caBundlePath })
  process.stdout.write(
    `# agenttap proxy on ${proxy.url}, capture in ${proxy.captureDir}\n` +
      `# paste into the agent's shell (Claude Code uses NODE_EXTRA_CA_CERTS; Codex SSL_CERT_FILE / CODEX_CA_CERTIFICATE):\n` +
      `${lines.join('\n')}\n`,
  )
}

async function cmdStart(o: CommonOpts & { monitor: boolean; web: boolean; webPort: number; alerts?: boolean; alertCmd?: string }): Promise<number> {
  const log = createLogger({ ...(o.quiet ? { quiet: true } : {}), ...(o.jsonLogs ? { json: true } : {}), ...(o.verbose ? { verbose: true } : {}) })
  // Listen for Ctrl-C / SIGTERM from the first moment: a signal during start-up (the CA, the
  // capture thread, the web view) is then a clean stop once start-up is done, not a kill that
  // loses what the capture holds.
  const signalled = stopSignal()
  // jsonl-io's one loopback rule (127.0.0.0/8, ::1, any spelling, names by what they resolve to), as the bind check uses.
  if (o.allowRemote && !(await resolveLoopback(o.host)).loopback) log.warn({ host: o.host }, 'listening on a non-loopback address: anyone who can reach it can read your agents\' traffic')
  const proxy = await createProxy(o, proxyOptions(o, log), log)
  // proxy.start() checks the log dir and opens the capture before it listens: a capture that
  // cannot be written fails here, before the lines to paste are printed.
  try {
    await proxy.start()
  } catch (err) {
    await proxy.stop()
    throw listenError(err, `cannot listen on ${o.host}:${o.port}`, '--port')
  }
  // The live web view follows the capture files (memory stays flat; ~20 ms to the page). Started
  // before anything is printed: a busy web port ends the run instead of a capture without a view.
  let web: WebServer | undefined
  let webUrl: string | undefined
  if (o.web) {
    // The web view reads a log root: the one above the capture directory the proxy writes.
    web = createWebServer({ logDir: resolveCapture(proxy.captureDir).root ?? dirname(proxy.captureDir), port: o.webPort })
    try {
      webUrl = await web.start()
    } catch (err) {
      await proxy.stop()
      throw listenError(err, `live web view: cannot listen on 127.0.0.1:${o.webPort}`, '--web-port (or --no-web)')
    }
  }
  printExports(proxy)
  if (webUrl !== undefined) process.stdout.write(`# live web view: ${webUrl}\n`)
  const receiver = await startReceiver(o, proxy, log, true)
  const ac = new AbortController()
  const monitor = o.monitor ? await attachLiveMonitor(proxy, ac.signal, log, { ...(o.alerts ? { alerts: true } : {}), ...(o.alertCmd !== undefined ? { alertCmd: o.alertCmd } : {}) }) : undefined
  const sig = await signalled
  log.info({ signal: sig }, 'shutting down: ending open flows and flushing the capture')
  // The receiver first: what it still gets goes into the capture before the proxy closes it.
  await receiver?.close()
  await proxy.stop()
  ac.abort()
  await Promise.all([monitor?.done, web?.close()])
  return EXIT.OK
}

async function cmdCa(o: { caDir?: string; path?: boolean; bundlePath?: boolean; pem?: boolean }): Promise<number> {
  const picked = (['path', 'bundlePath', 'pem'] as const).filter((k) => o[k])
  if (picked.length > 1) throw new CliError('USAGE', `ca: --path, --bundle-path and --pem each print one thing; give one of them, not ${picked.map((k) => `--${k === 'bundlePath' ? 'bundle-path' : k}`).join(' and ')}`)
  const ca = ensureCa(o.caDir ?? defaultCaDir())
  // The proxy keys redaction markers with it; made here too so `ca` shows everything the CA dir holds.
  const redaction = ensureRedactionKey(ca.dir)
  if (o.path) process.stdout.write(`${ca.certPath}\n`)
  else if (o.bundlePath) process.stdout.write(`${ca.bundlePath}\n`)
  else if (o.pem) process.stdout.write(ca.certPem.endsWith('\n') ? ca.certPem : `${ca.certPem}\n`)
  else {
    process.stdout.write(
      `${ca.created ? 'created' : 'using'} agenttap CA in ${ca.dir}\n` +
        `certificate: ${ca.certPath}\n` +
        `bundle (system roots + agenttap CA): ${ca.bundlePath}\n` +
        `Claude Code / Node: export NODE_EXTRA_CA_CERTS=${ca.certPath}\n` +
        `Codex / OpenSSL:    export SSL_CERT_FILE=${ca.bundlePath} CODEX_CA_CERTIFICATE=${ca.bundlePath}\n` +
        `redaction key (keys the [REDACTED:…] markers of captures): ${redaction.path}\n` +
        `The private keys (${ca.keyPath}, ${redaction.path}) never leave this machine; delete ${ca.dir} to rotate (new markers will not match older captures).\n`,
    )
  }
  return EXIT.OK
}

/**
 * Asks host:port whether an agenttap proxy is there. Nothing listening answers at once (refused);
 * the wait only matters for a proxy that is busy, which must still be found (800 ms was missed
 * by a proxy under load, and `run` then captured into a second proxy of its own).
 */
async function probe(host: string, port: number): Promise<{ caCertPath?: string } | undefined> {
  try {
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}${HEALTH_PATH}`, { signal: AbortSignal.timeout(3000) })
    const body = (await res.json()) as { agenttap?: string; caCertPath?: string }
    return body.agenttap === 'proxy' ? body : undefined
  } catch {
    return undefined
  }
}

async function cmdRun(cmd: string[], o: CommonOpts): Promise<number> {
  const log = createLogger({ ...(o.quiet ? { quiet: true } : {}), ...(o.jsonLogs ? { json: true } : {}), ...(o.verbose ? { verbose: true } : {}) })
  const [bin, ...args] = cmd
  if (!bin) throw new CliError('USAGE', 'usage: agenttap-proxy run -- <command> [args…]')
  const opts = proxyOptions(o, log)
  let own: CaptureProxy | undefined
  let receiver: { close(): Promise<void>; env: Record<string, string> } | undefined
  let env: Record<string, string>
  const existing = await probe(o.host, opts.port ?? DEFAULT_PORT)
  if (existing) {
    const ca = ensureCa(o.caDir ?? defaultCaDir())
    env = agentEnv({ url: `http://${o.host}:${opts.port}`, caCertPath: existing.caCertPath ?? ca.certPath, caBundlePath: ca.bundlePath })
    log.info({ port: opts.port }, 'using the agenttap proxy already running')
  } else {
    own = await createProxy(o, opts, log)
    try {
      await own.start()
    } catch (err) {
      if (!(err instanceof ProxyCaptureError && err.code === 'LISTEN_FAILED')) throw err
      log.warn({ port: opts.port }, 'port busy (not an agenttap proxy): using a free port for this run')
      await own.stop()
      own = await createProxy(o, { ...opts, port: 0 }, log)
      await own.start()
    }
    env = agentEnv({ url: own.url, caCertPath: own.caCertPath, caBundlePath: own.caBundlePath })
    log.info({ proxy: own.url, capture: own.captureDir }, 'capturing')
    receiver = await startReceiver(o, own, log, false)
    if (receiver) env = { ...env, ...receiver.env }
  }
  // The terminal's Ctrl-C reaches the agent (same process group); the wrapper just waits for it.
  const ignore = (): void => {}
  process.on('SIGINT', ignore)
  const forwardTerm = (): void => {
    child.kill('SIGTERM')
  }
  process.on('SIGTERM', forwardTerm)
  const child = spawn(bin, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  const code = await new Promise<number>((resolve) => {
    child.on('error', (err) => {
      log.error({ err: err.message, command: bin }, 'could not start the command')
      resolve(127)
    })
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1) : 1)))
  })
  process.off('SIGINT', ignore)
  process.off('SIGTERM', forwardTerm)
  await receiver?.close()
  if (own) await own.stop()
  return code
}

/** The command table; each action hands its run to `setResult`. */
function buildProgram(setResult: (p: Promise<number>) => void): Command {
  const program = setupProgram(new Command(BIN), { bin: BIN, version: packageVersion(import.meta.url) })
    .description('Local MITM capture proxy for AI coding agents (Claude Code, Codex CLI, any SSE/WebSocket LLM client).')
    .enablePositionalOptions()
  const set = setResult

  addCommon(program.command('start').description('run the proxy (and the live monitor when available) and print the lines to paste into the agent\'s shell'))
    .addOption(new Option('--no-monitor', 'do not attach the live monitor'))
    .option('--alerts', 'monitor: one line per alert (cache break with cause and cost, context ≥ 80 %, quota ≥ 80 %, model switch)')
    .option('--alert-cmd <command>', 'monitor: run this shell command for each alert, the alert as JSON on stdin (implies --alerts)')
    .option('--web-port <port>', 'port of the live web view (127.0.0.1)', portArg('--web-port'), DEFAULT_WEB_PORT)
    .addOption(new Option('--no-web', 'do not serve the live web view'))
    .action((o: CommonOpts & { monitor: boolean; web: boolean; webPort: number; alerts?: boolean; alertCmd?: string }) => {
      set(cmdStart(o))
    })

  program.addCommand(webCommand(set).copyInheritedSettings(program))

  program.addCommand(demoCommand(set).copyInheritedSettings(program))

  program.addCommand(replayCommand(set).copyInheritedSettings(program))

  program
    .command('ca')
    .description('create (first run) or show agenttap\'s CA')
    .option('--ca-dir <dir>', 'CA directory (default: ~/.agenttap/ca)')
    .option('--path', 'print only the CA certificate path')
    .option('--bundle-path', 'print only the path of system roots + agenttap CA')
    .option('--pem', 'print the CA certificate')
    .action((o: { caDir?: string; path?: boolean; bundlePath?: boolean; pem?: boolean }) => {
      set(cmdCa(o))
    })

  addCommon(program.command('run').description('run a command (e.g. `claude`, `codex`) through the proxy, starting one if none is running').argument('<command...>', 'the command and its arguments, after --'))
    .passThroughOptions()
    .action((command: string[], o: CommonOpts) => {
      set(cmdRun(command, o))
    })
  return program
}

/** The names of `agenttap-proxy`'s commands (the `agenttap` distribution asks before delegating). */
export function commandNames(): string[] {
  return buildProgram(() => {}).commands.map((c) => c.name())
}

/**
 * Runs the `agenttap-proxy` CLI with `argv` (without node and script) and resolves with the
 * exit code. Commands: `start`, `web`, `demo`, `replay <capture>`, `ca`, `run -- <cmd>`. Every failure is one line on
 * stderr: exit 2 for a usage mistake, 1 for a runtime failure.
 */
export async function main(argv: string[]): Promise<number> {
  let result: Promise<number> = Promise.resolve(EXIT.OK)
  const program = buildProgram((p) => {
    result = p
  })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return await result
  } catch (err) {
    // commander printed its own parse errors (one line, cli-kit's setupProgram).
    if (!(err instanceof CommanderError)) process.stderr.write(errorLine(BIN, err))
    return exitCodeOf(err)
  }
}

export { defaultLogDir }
