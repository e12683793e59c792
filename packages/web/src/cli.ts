import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { WebError } from './errors.js'
import { createWebServer, type WebServer } from './server.js'

/** The port of the web view unless told otherwise (the proxy listens on 9110). */
export const DEFAULT_WEB_PORT = 9115

/** Options parsed from the command line of `agenttap-web` / `agenttap-proxy web`. */
export interface WebCliOptions {
  logDir: string
  host: string
  port: number
  token?: string
  allowHosts: string[]
  follow: boolean
  help: boolean
}

/** Usage text of the standalone command. */
export const WEB_USAGE = `usage: agenttap-web [--log-dir <dir>] [--host 127.0.0.1] [--port ${DEFAULT_WEB_PORT}] [--token <t>] [--allow-host <h>]... [--no-follow]

Serves the live web view of a capture log dir (<dir>/all-mitm-sse/*.jsonl) and prints the URL to
open; it carries a random access token (like Jupyter). Past captures can be browsed without
capturing; new flows appear as the proxy writes them.

  --log-dir <dir>     log root (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)
  --host <addr>       interface to bind (default 127.0.0.1; others need --allow-host)
  --port <n>          port (default ${DEFAULT_WEB_PORT}; 0 picks a free one)
  --token <t>         access token (default: random; env AGENTTAP_WEB_TOKEN)
  --allow-host <h>    extra accepted Host header (name or name:port), repeatable
  --no-follow         index the files once, do not follow them
`

/**
 * Parses `agenttap-web` arguments. Throws {@link WebError} `INVALID_OPTION` with a message that
 * says what was expected.
 */
export function parseWebArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): WebCliOptions {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        'log-dir': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        token: { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        'no-follow': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    })
  } catch (err) {
    throw new WebError('INVALID_OPTION', `${(err as Error).message}\n\n${WEB_USAGE}`)
  }
  const v = parsed.values
  const portText = v.port ?? String(DEFAULT_WEB_PORT)
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) throw new WebError('INVALID_OPTION', `--port: expected an integer 0-65535, received ${JSON.stringify(portText)}`)
  const token = v.token ?? env['AGENTTAP_WEB_TOKEN']
  return {
    logDir: v['log-dir'] ?? env['AGENTTAP_LOG_DIR'] ?? join(homedir(), 'centralized-logs'),
    host: v.host ?? '127.0.0.1',
    port,
    ...(token !== undefined && token !== '' ? { token } : {}),
    allowHosts: v['allow-host'] ?? [],
    follow: v['no-follow'] !== true,
    help: v.help === true,
  }
}

/**
 * Runs the standalone web view until SIGINT/SIGTERM. Prints the URL (with its token) on stdout,
 * malformed-line reports on stderr. Resolves with the exit code: 0 after a clean stop, 2 for bad
 * arguments, 1 when the port cannot be bound.
 */
export async function runWebCli(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let o: WebCliOptions
  try {
    o = parseWebArgs(argv)
  } catch (err) {
    io.stderr.write(`agenttap-web: ${(err as Error).message}\n`)
    return 2
  }
  if (o.help) {
    io.stdout.write(WEB_USAGE)
    return 0
  }
  let reported = 0
  let web: WebServer
  try {
    web = createWebServer({
      logDir: o.logDir,
      host: o.host,
      port: o.port,
      allowHosts: o.allowHosts,
      follow: o.follow,
      ...(o.token !== undefined ? { token: o.token } : {}),
      onError: (err) => {
        // Bounded: a capture full of junk must not flood the terminal.
        if (++reported <= 20) io.stderr.write(`agenttap-web: ${err.message}\n`)
        else if (reported === 21) io.stderr.write('agenttap-web: more malformed lines; see the status bar of the page\n')
      },
    })
  } catch (err) {
    io.stderr.write(`agenttap-web: ${(err as Error).message}\n`)
    return 2
  }
  try {
    const url = await web.start()
    io.stdout.write(`agenttap web view of ${o.logDir}\n  ${url}\n`)
    if (!/^(127\.|::1$|localhost$)/.test(o.host) && o.allowHosts.length === 0) {
      io.stderr.write(`agenttap-web: bound to ${o.host}, but only loopback Host headers are accepted; add --allow-host <name> for the names you browse it by\n`)
    }
  } catch (err) {
    io.stderr.write(`agenttap-web: ${(err as Error).message}\n`)
    return 1
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  await web.stop()
  return 0
}
