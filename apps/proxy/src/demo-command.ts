import { EXIT, stopSignal } from '@agenttap/cli-kit'
import { Command, Option } from 'commander'
import { AgenttapError } from '@agenttap/jsonl-io'


interface DemoFlags {
  logDir?: string
  caDir?: string
  port: string
  webPort: string
  web: boolean
  monitor: boolean
  asFast?: boolean
  exit?: boolean
}

function port(name: string, v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > 65535) throw new AgenttapError('INVALID_OPTION', `${name} must be an integer 0-65535, got ${v}`)
  return n
}

/**
 * `agenttap-proxy demo`: agenttap without an agent, a login or a network (the work is
 * `@agenttap/demo`'s `runDemo`; this is flags, wiring and exit codes).
 */
export function demoCommand(run: (p: Promise<number>) => void): Command {
  return new Command('demo')
    .description('see a live capture in seconds without an agent or a network: the proxy, a replay upstream over a bundled capture and a scripted client')
    .option('--log-dir <dir>', 'capture the demo into this log root (default: a new temporary directory)')
    .option('--ca-dir <dir>', 'CA directory (default: ~/.agenttap/ca)')
    .option('-p, --port <port>', 'port of the capture proxy (0 picks a free one)', '0')
    .option('--web-port <port>', 'port of the live web view (0 picks a free one)', '0')
    .addOption(new Option('--no-web', 'do not serve the live web view'))
    .addOption(new Option('--no-monitor', 'do not attach the live monitor (it is attached when stdout is a terminal)'))
    .option('--as-fast', 'replay the responses as fast as possible instead of at their recorded pace')
    .option('--exit', 'exit once the scripted client is done (default: keep the proxy and the web view up until Ctrl-C)')
    .action((o: DemoFlags) => run(runDemoCommand(o)))
}

async function runDemoCommand(o: DemoFlags): Promise<number> {
  const proxyPort = port('--port', o.port)
  const webPort = o.web ? port('--web-port', o.webPort) : false
  // Loaded here: the other commands don't pay for it.
  const { nextSteps, runDemo } = await import('@agenttap/demo')
  let failures = 0
  // Ctrl-C is listened for before anything starts: during start-up it stops the demo cleanly.
  const stop = stopSignal()
  const demo = await runDemo({
    ...(o.logDir !== undefined ? { logDir: o.logDir } : {}),
    ...(o.caDir !== undefined ? { caDir: o.caDir } : {}),
    port: proxyPort,
    webPort,
    monitor: o.monitor && process.stdout.isTTY ? process.stdout : false,
    speed: o.asFast ? Infinity : 1,
    onError: (e) => {
      if (e.code === 'CLIENT_FAILED') failures++
      process.stderr.write(`agenttap demo: ${e.message}\n`)
    },
  })
  const result = await Promise.race([demo.finished, stop.then(() => undefined)])
  if (result !== undefined) {
    process.stdout.write(
      `\n# agenttap demo: ${result.requests} requests replayed through the proxy (${result.events} events), captured in ${demo.logDir}\n` +
        `# try next:\n${nextSteps(demo).map((s) => `#   ${s}`).join('\n')}\n` +
        (o.exit ? '' : `# the proxy${demo.webUrl ? ' and the web view' : ''} stay up until Ctrl-C\n`),
    )
    if (!o.exit) await stop
  }
  await demo.close()
  return failures > 0 ? EXIT.RUNTIME : EXIT.OK
}
