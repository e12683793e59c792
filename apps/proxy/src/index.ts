import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { AgenttapError, resolveCapture } from '@agenttap/jsonl-io'
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
  resolveLoopback,
  type CaptureProxy,
  type CaptureProxyOptions,
} from '@agenttap/proxy-capture'
import { createWebServer, DEFAULT_WEB_PORT, type WebServer } from '@agenttap/web'
import { createLogger } from './logger.js'
import { demoCommand } from './demo-command.js'
import { replayCommand } from './replay-command.js'
import { webCommand } from './web-command.js'

/** Exit codes: one place maps failures to them. */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2 } as const

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
  if (err instanceof ProxyCaptureError) return err.code === 'NON_LOOPBACK_BIND' || err.code === 'INVALID_OPTION' ? EXIT.USAGE : EXIT.RUNTIME
  // The web view's errors (an AgenttapError): a refused bind or a bad option is a usage error.
  if (AgenttapError.isInstance(err)) return err.code === 'NON_LOOPBACK_BIND' || err.code === 'INVALID_OPTION' ? EXIT.USAGE : EXIT.RUNTIME
  return EXIT.RUNTIME
}

interface CommonOpts {
  port: string
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
  maxlen?: string
  quiet?: boolean
  jsonLogs?: boolean
  verbose?: boolean
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)]
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-p, --port <port>', 'port to listen on', String(DEFAULT_PORT))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--allow-remote', 'allow listening on a non-loopback address (anyone reaching it can read the traffic)')
    .option('--log-dir <dir>', 'log root (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .option('--ca-dir <dir>', 'CA directory (default: ~/.agenttap/ca)')
    .option('--include-host <host>', 'capture only these hosts (repeatable, comma-separated, *.suffix allowed)', collect)
    .option('--exclude-host <host>', 'never capture these hosts (repeatable)', collect)
    .option('--upstream-ca <file>', 'extra PEM roots to trust for upstream TLS')
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
    .option('--maxlen <n>', 'trim the Redis stream to about N entries (XADD MAXLEN ~ N)')
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--json-logs', 'diagnostics as pino NDJSON on stderr')
    .option('-v, --verbose', 'debug diagnostics')
}

/**
 * The proxy with its sinks: the capture files always (the proxy writes them on its capture
 * thread); with --redis also the stream, whose drops become a `sink_gap` record in the files.
 */
async function createProxy(o: CommonOpts, opts: CaptureProxyOptions, log: Logger): Promise<CaptureProxy> {
  if (!o.redis) return createCaptureProxy(opts)
  const maxlen = o.maxlen === undefined ? undefined : Number(o.maxlen)
  if (maxlen !== undefined && (!Number.isInteger(maxlen) || maxlen <= 0)) throw new CommanderError(EXIT.USAGE, 'agenttap.maxlen', `--maxlen must be a positive integer, got ${o.maxlen}`)
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
  proxy = createCaptureProxy({ ...opts, sinks: [redis] })
  return proxy
}

function proxyOptions(o: CommonOpts, log: Logger): CaptureProxyOptions {
  const port = Number(o.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommanderError(EXIT.USAGE, 'agenttap.port', `--port must be 0-65535, got ${o.port}`)
  return {
    port,
    host: o.host,
    logger: log,
    ...(o.allowRemote ? { allowNonLoopback: true } : {}),
    ...(o.logDir ? { logDir: o.logDir } : {}),
    ...(o.caDir ? { caDir: o.caDir } : {}),
    ...(o.includeHost ? { includeHosts: o.includeHost } : {}),
    ...(o.excludeHost ? { excludeHosts: o.excludeHost } : {}),
    ...(o.upstreamCa ? { upstreamCa: readFileSync(o.upstreamCa, 'utf8') } : {}),
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

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(s)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

async function cmdStart(o: CommonOpts & { monitor: boolean; web: boolean; webPort: string; alerts?: boolean; alertCmd?: string }): Promise<number> {
  const log = createLogger({ ...(o.quiet ? { quiet: true } : {}), ...(o.jsonLogs ? { json: true } : {}), ...(o.verbose ? { verbose: true } : {}) })
  if (o.allowRemote && !['127.0.0.1', 'localhost', '::1'].includes(o.host)) log.warn({ host: o.host }, 'listening on a non-loopback address: anyone who can reach it can read your agents\' traffic')
  const proxy = await createProxy(o, proxyOptions(o, log), log)
  await proxy.start()
  printExports(proxy)
  // The live web view follows the capture files (memory stays flat; ~20 ms to the page).
  let web: WebServer | undefined
  if (o.web) {
    const webPort = Number(o.webPort)
    if (!Number.isInteger(webPort) || webPort < 0 || webPort > 65535) throw new CommanderError(EXIT.USAGE, 'agenttap.webPort', `--web-port must be 0-65535, got ${o.webPort}`)
    // The web view reads a log root: the one above the capture directory the proxy writes.
    web = createWebServer({ logDir: resolveCapture(proxy.captureDir).root ?? dirname(proxy.captureDir), port: webPort, loopbackRule: resolveLoopback })
    try {
      process.stdout.write(`# live web view: ${await web.start()}\n`)
    } catch (err) {
      log.error({ err }, 'web view not started (use --web-port or --no-web); the capture continues')
      web = undefined
    }
  }
  const ac = new AbortController()
  const monitor = o.monitor ? await attachLiveMonitor(proxy, ac.signal, log, { ...(o.alerts ? { alerts: true } : {}), ...(o.alertCmd !== undefined ? { alertCmd: o.alertCmd } : {}) }) : undefined
  const sig = await waitForSignal()
  log.info({ signal: sig }, 'shutting down: ending open flows and flushing the capture')
  await proxy.stop()
  ac.abort()
  await Promise.all([monitor?.done, web?.close()])
  return EXIT.OK
}

async function cmdCa(o: { caDir?: string; path?: boolean; bundlePath?: boolean; pem?: boolean }): Promise<number> {
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

/** Asks host:port whether an agenttap proxy is there. */
async function probe(host: string, port: number): Promise<{ caCertPath?: string } | undefined> {
  try {
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}${HEALTH_PATH}`, { signal: AbortSignal.timeout(800) })
    const body = (await res.json()) as { agenttap?: string; caCertPath?: string }
    return body.agenttap === 'proxy' ? body : undefined
  } catch {
    return undefined
  }
}

async function cmdRun(cmd: string[], o: CommonOpts): Promise<number> {
  const log = createLogger({ ...(o.quiet ? { quiet: true } : {}), ...(o.jsonLogs ? { json: true } : {}), ...(o.verbose ? { verbose: true } : {}) })
  const [bin, ...args] = cmd
  if (!bin) throw new CommanderError(EXIT.USAGE, 'agenttap.run', 'usage: agenttap-proxy run -- <command> [args…]')
  const opts = proxyOptions(o, log)
  let own: CaptureProxy | undefined
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
  if (own) await own.stop()
  return code
}

/**
 * Runs the `agenttap-proxy` CLI with `argv` (without node and script) and resolves with the
 * exit code. Commands: `start`, `web`, `demo`, `replay <capture>`, `ca`, `run -- <cmd>`.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('agenttap-proxy')
    .description('Local MITM capture proxy for AI coding agents (Claude Code, Codex CLI, any SSE/WebSocket LLM client).')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  let result: Promise<number> = Promise.resolve(EXIT.OK)

  addCommon(program.command('start').description('run the proxy (and the live monitor when available) and print the lines to paste into the agent\'s shell'))
    .addOption(new Option('--no-monitor', 'do not attach the live monitor'))
    .option('--alerts', 'monitor: one line per alert (cache break with cause and cost, context ≥ 80 %, quota ≥ 80 %, model switch)')
    .option('--alert-cmd <command>', 'monitor: run this shell command for each alert, the alert as JSON on stdin (implies --alerts)')
    .option('--web-port <port>', 'port of the live web view (127.0.0.1)', String(DEFAULT_WEB_PORT))
    .addOption(new Option('--no-web', 'do not serve the live web view'))
    .action((o: CommonOpts & { monitor: boolean; web: boolean; webPort: string; alerts?: boolean; alertCmd?: string }) => {
      result = cmdStart(o)
    })

  program.addCommand(
    webCommand((p) => {
      result = p
    }).copyInheritedSettings(program),
  )

  program.addCommand(
    demoCommand((p) => {
      result = p
    }).copyInheritedSettings(program),
  )

  program.addCommand(
    replayCommand((p) => {
      result = p
    }).copyInheritedSettings(program),
  )

  program
    .command('ca')
    .description('create (first run) or show agenttap\'s CA')
    .option('--ca-dir <dir>', 'CA directory (default: ~/.agenttap/ca)')
    .option('--path', 'print only the CA certificate path')
    .option('--bundle-path', 'print only the path of system roots + agenttap CA')
    .option('--pem', 'print the CA certificate')
    .action((o: { caDir?: string; path?: boolean; bundlePath?: boolean; pem?: boolean }) => {
      result = cmdCa(o)
    })

  addCommon(program.command('run').description('run a command (e.g. `claude`, `codex`) through the proxy, starting one if none is running').argument('<command...>', 'the command and its arguments, after --'))
    .passThroughOptions()
    .action((command: string[], o: CommonOpts) => {
      result = cmdRun(command, o)
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
    return await result
  } catch (err) {
    if (err instanceof CommanderError) return exitCodeOf(err)
    process.stderr.write(`agenttap-proxy: ${err instanceof Error ? err.message : String(err)}\n`)
    return exitCodeOf(err)
  }
}

export { defaultLogDir }
