import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import type { Logger } from 'pino'
import {
  agentEnv,
  createCaptureProxy,
  defaultCaDir,
  defaultLogDir,
  DEFAULT_PORT,
  ensureCa,
  exportLines,
  HEALTH_PATH,
  ProxyCaptureError,
  type CaptureProxy,
  type CaptureProxyOptions,
} from '@agenttap/proxy-capture'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import { createLogger } from './logger.js'

/** Exit codes: one place maps failures to them. */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2 } as const

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
  if (err instanceof ProxyCaptureError) return err.code === 'NON_LOOPBACK_BIND' ? EXIT.USAGE : EXIT.RUNTIME
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
  insecureUpstream?: boolean
  rawBodies?: string
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
    .option('--insecure-upstream', 'do not verify upstream certificates (debugging only)')
    .addOption(
      new Option('--raw-bodies <mode>', 'response bodies in sse_logs/: exact wire bytes (not redacted), a redacted decoded copy, or none')
        .choices(['exact', 'redacted', 'off'])
        .default('exact'),
    )
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--json-logs', 'diagnostics as pino NDJSON on stderr')
    .option('-v, --verbose', 'debug diagnostics')
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
    ...(o.insecureUpstream ? { rejectUnauthorized: false } : {}),
    ...(o.rawBodies ? { rawBodies: o.rawBodies as 'exact' | 'redacted' | 'off' } : {}),
  }
}

/**
 * MONITOR HOOK: `@agenttap/monitor`'s
 * `attachMonitor(records: AsyncIterable<CaptureRecord>, { output, signal }) → { done, stop }`
 * is fed the proxy's live records in-process (`proxy.records()`: bounded, drops the oldest
 * when the terminal can't keep up, never slows the proxy down). Returns the handle, or
 * undefined when the monitor isn't available in this build (the proxy then runs standalone).
 */
async function attachMonitorIfAvailable(proxy: CaptureProxy, signal: AbortSignal, log: Logger): Promise<{ done: Promise<unknown> } | undefined> {
  let mod: Record<string, unknown>
  try {
    mod = (await import('@agenttap/monitor')) as unknown as Record<string, unknown>
  } catch (err) {
    log.debug({ err }, 'live monitor not loadable')
    return undefined
  }
  const attach = mod['attachMonitor']
  if (typeof attach !== 'function') return undefined
  type Attach = (records: AsyncIterable<CaptureRecord>, opts: { output: NodeJS.WritableStream; signal: AbortSignal }) => { done: Promise<unknown>; stop(): void }
  try {
    const handle = (attach as Attach)(proxy.records({ signal }), { output: process.stdout, signal })
    const done = Promise.resolve(handle.done).catch((err: unknown) => log.error({ err }, 'live monitor failed; the capture continues'))
    return { done }
  } catch (err) {
    log.error({ err }, 'could not attach the live monitor; the capture continues')
    return undefined
  }
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

async function cmdStart(o: CommonOpts & { monitor: boolean }): Promise<number> {
  const log = createLogger({ ...(o.quiet ? { quiet: true } : {}), ...(o.jsonLogs ? { json: true } : {}), ...(o.verbose ? { verbose: true } : {}) })
  if (o.allowRemote && !['127.0.0.1', 'localhost', '::1'].includes(o.host)) log.warn({ host: o.host }, 'listening on a non-loopback address: anyone who can reach it can read your agents\' traffic')
  const proxy = createCaptureProxy(proxyOptions(o, log))
  await proxy.start()
  printExports(proxy)
  const ac = new AbortController()
  let monitor: { done: Promise<unknown> } | undefined
  if (o.monitor) {
    monitor = await attachMonitorIfAvailable(proxy, ac.signal, log)
    if (!monitor) log.info('live monitor not available in this build: run `agenttap-monitor` in another terminal to watch the capture')
  }
  const sig = await waitForSignal()
  log.info({ signal: sig }, 'shutting down: ending open flows and flushing the capture')
  await proxy.stop()
  ac.abort()
  await monitor?.done
  return EXIT.OK
}

async function cmdCa(o: { caDir?: string; path?: boolean; bundlePath?: boolean; pem?: boolean }): Promise<number> {
  const ca = ensureCa(o.caDir ?? defaultCaDir())
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
        `The private key (${ca.keyPath}) never leaves this machine; delete ${ca.dir} to rotate.\n`,
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
    own = createCaptureProxy(opts)
    try {
      await own.start()
    } catch (err) {
      if (!(err instanceof ProxyCaptureError && err.code === 'LISTEN_FAILED')) throw err
      log.warn({ port: opts.port }, 'port busy (not an agenttap proxy): using a free port for this run')
      own = createCaptureProxy({ ...opts, port: 0 })
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
 * exit code. Commands: `start`, `ca`, `run -- <cmd>`.
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
    .action((o: CommonOpts & { monitor: boolean }) => {
      result = cmdStart(o)
    })

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
