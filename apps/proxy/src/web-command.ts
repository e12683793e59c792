import { EXIT, portArg, stopSignal } from '@agenttap/cli-kit'
import { Command } from 'commander'
import { defaultLogRoot } from '@agenttap/jsonl-io'
import { createWebServer, DEFAULT_WEB_PORT, type WebServer } from '@agenttap/web'

interface WebFlags {
  logDir?: string
  host: string
  port: number
  token?: string
  allowHost?: string[]
  allowRemote?: boolean
  follow: boolean
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/**
 * `agenttap-proxy web`: serves the live web view of a capture log dir without capturing. The same
 * loopback rule as the proxy: a host that is not loopback (resolved, every address checked) is
 * refused without `--allow-remote`.
 */
export function webCommand(run: (p: Promise<number>) => void): Command {
  return new Command('web')
    .description('browse a capture log dir in the browser without capturing; prints the URL to open (with its access token)')
    .option('--log-dir <dir>', 'log root (default: $AGENTTAP_LOG_DIR or ~/centralized-logs)')
    .option('--host <addr>', 'interface to bind', '127.0.0.1')
    .option('-p, --port <n>', `port (0 picks a free one)`, portArg('--port'), DEFAULT_WEB_PORT)
    .option('--token <t>', 'access token (default: random; env AGENTTAP_WEB_TOKEN)')
    .option('--allow-host <h>', 'extra accepted Host header (name or name:port), repeatable', collect)
    .option('--allow-remote', 'allow binding an address that is not loopback (anyone reaching it with the token can read the traffic)')
    .option('--no-follow', 'index the files once, do not follow them')
    .action((o: WebFlags) => run(runWeb(o)))
}

async function runWeb(o: WebFlags): Promise<number> {
  // Ctrl-C is listened for before the view starts: during start-up it stops it cleanly.
  const stopped = stopSignal()
  const env = process.env
  const logDir = o.logDir ?? defaultLogRoot()
  const token = o.token ?? (env['AGENTTAP_WEB_TOKEN'] || undefined)
  let reported = 0
  // A bad option or a refused bind throws a WebError: the CLI prints it and maps it to exit 2.
  const web: WebServer = createWebServer({
    logDir,
    host: o.host,
    port: o.port,
    allowHosts: o.allowHost ?? [],
    follow: o.follow,
    ...(o.allowRemote ? { allowRemote: true } : {}),
    ...(token !== undefined ? { token } : {}),
    onError: (err) => {
      // Bounded: a capture full of junk must not flood the terminal.
      if (++reported <= 20) process.stderr.write(`agenttap-proxy web: ${err.message}\n`)
      else if (reported === 21) process.stderr.write('agenttap-proxy web: more malformed lines; see the status bar of the page\n')
    },
  })
  const url = await web.start()
  process.stdout.write(`agenttap web view of ${logDir}\n  ${url}\n`)
  if (o.allowRemote && (o.allowHost ?? []).length === 0) {
    process.stderr.write(`agenttap-proxy web: bound to ${o.host}, but only loopback Host headers are accepted; add --allow-host <name> for the names you browse it by\n`)
  }
  await stopped
  await web.close()
  return EXIT.OK
}
