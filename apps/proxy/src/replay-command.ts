import { readFileSync } from 'node:fs'
import { EXIT, stopSignal } from '@agenttap/cli-kit'
import { Command, Option } from 'commander'
import { AgenttapError } from '@agenttap/jsonl-io'
import { defaultCaDir, ensureCa, ensureRedactionKey } from '@agenttap/proxy-capture'
import type { ReplayServer } from '@agenttap/replay'
import { createLogger } from './logger.js'


interface ReplayFlags {
  session?: string
  speed?: string
  asFast?: boolean
  host: string
  port: string
  caDir?: string
  tls: boolean
  fallthrough?: string
  fallthroughCa?: string
  divergenceStatus: string
  report?: string
  quiet?: boolean
  jsonLogs?: boolean
  verbose?: boolean
}

/** A usage error: printed on one line by the CLI and mapped to exit code 2. */
const usage = (message: string): AgenttapError => new AgenttapError('INVALID_OPTION', message)

function number(name: string, v: string, ok: (n: number) => boolean, expected: string): number {
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw usage(`${name} must be ${expected}, got ${v}`)
  return n
}

/**
 * `agenttap-proxy replay <capture>`: serves a capture back as the upstream of a real agent (the
 * work is `@agenttap/replay`'s; this is flags, wiring and exit codes).
 */
export function replayCommand(run: (p: Promise<number>) => void): Command {
  return new Command('replay')
    .description('serve a captured session back to an agent as its upstream (HTTP and HTTPS on one port): same requests, same responses, at the recorded pace')
    .argument('<capture>', 'a log root, an all-mitm-sse/ directory, a per-agent view or a .jsonl capture file')
    .option('--session <id>', 'serve only this session\'s calls')
    .option('--speed <x>', 'recorded pace times x (2 = twice as fast)')
    .option('--as-fast', 'send every event as fast as the client reads')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port (0 picks a free one)', '0')
    .option('--ca-dir <dir>', 'agenttap CA for the HTTPS certificates and the redaction key (default: ~/.agenttap/ca)')
    .addOption(new Option('--no-tls', 'plain HTTP only'))
    .option('--fallthrough <url>', 'send requests the capture has no call for to this upstream (e.g. https://api.anthropic.com)')
    .option('--fallthrough-ca <file>', 'extra PEM roots to trust for the fall-through upstream')
    .option('--divergence-status <n>', 'HTTP status of the error answering a request the capture has no call for', '400')
    .option('--report <file>', 'divergence report, JSONL (default: beside the capture)')
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--json-logs', 'diagnostics as pino NDJSON on stderr')
    .option('-v, --verbose', 'debug diagnostics')
    .action((capture: string, o: ReplayFlags) => run(runReplay(capture, o)))
}

async function runReplay(path: string, o: ReplayFlags): Promise<number> {
  // Ctrl-C is listened for before the server starts: during start-up it stops it cleanly.
  const stopped = stopSignal()
  if (o.speed !== undefined && o.asFast) throw usage('--speed and --as-fast exclude each other')
  const speed = o.asFast ? Infinity : o.speed === undefined ? 1 : number('--speed', o.speed, (n) => n > 0, 'a number > 0')
  const port = number('--port', o.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'an integer 0-65535')
  const divergenceStatus = number('--divergence-status', o.divergenceStatus, (n) => Number.isInteger(n) && n >= 400 && n <= 599, 'an HTTP error status 400-599')
  let fallthroughCa: string | undefined
  if (o.fallthroughCa !== undefined) {
    try {
      fallthroughCa = readFileSync(o.fallthroughCa, 'utf8')
    } catch (err) {
      throw usage(`--fallthrough-ca ${o.fallthroughCa}: ${(err as Error).message}`)
    }
    if (!fallthroughCa.includes('-----BEGIN CERTIFICATE-----')) throw usage(`--fallthrough-ca ${o.fallthroughCa} holds no PEM certificate`)
  }
  // Loaded here: the other commands don't pay for it.
  const { createReplayServer, loadReplayCapture, ReplayError } = await import('@agenttap/replay')
  const log = createLogger({ ...(o.quiet ? { quiet: true } : {}), ...(o.jsonLogs ? { json: true } : {}), ...(o.verbose ? { verbose: true } : {}) })
  let capture
  try {
    capture = await loadReplayCapture(path, { ...(o.session !== undefined ? { session: o.session } : {}), onError: (e) => log.warn({ code: e.code, file: e.file, line: e.line, flow: e.flow_id }, e.message) })
  } catch (err) {
    // A path with no capture, or a session it does not have: the user's to fix (exit 2).
    if (err instanceof ReplayError && (err.code === 'NO_CAPTURE' || err.code === 'NOTHING_TO_SERVE')) throw usage(err.message)
    throw err
  }
  const caDir = o.caDir ?? defaultCaDir()
  const ca = o.tls ? ensureCa(caDir) : undefined
  const server: ReplayServer = createReplayServer({
    capture,
    host: o.host,
    port,
    speed,
    caDir: o.tls ? caDir : false,
    // The capture's markers are keyed with this install's key when it made the capture.
    redactionKey: ensureRedactionKey(caDir).key,
    divergenceStatus,
    ...(o.fallthrough !== undefined ? { fallthrough: o.fallthrough } : {}),
    ...(fallthroughCa !== undefined ? { fallthroughCa } : {}),
    ...(o.report !== undefined ? { report: o.report } : {}),
    onServe: (ex, at) => log.info({ call: ex.key, transport: at.transport, events: ex.eventCount, ...(at.reused ? { reused: true } : {}) }, `${at.method} ${at.path}`),
    onDivergence: (d) => log.warn({ closest: d.closest?.key, difference: d.difference.field, index: d.difference.index, action: d.action }, `diverged: ${d.method} ${d.path}`),
    onError: (e) => log.warn({ code: e.code }, e.message),
  })
  const { port: bound, url } = await server.start()
  const counts = { sse: 0, ws: 0, http: 0 }
  for (const e of capture.exchanges) counts[e.transport]++
  const target = `127.0.0.1:${bound}`
  process.stdout.write(
    `# agenttap replay of ${capture.file ?? capture.dir}: ${capture.exchanges.length} calls (${counts.sse} SSE, ${counts.ws} WebSocket, ${counts.http} plain), ${Number.isFinite(speed) ? `recorded pace${speed === 1 ? '' : ` ×${speed}`}` : 'as fast as possible'}\n` +
      `# listening on ${url}${ca ? ' (HTTP and HTTPS)' : ''}; divergence report: ${server.reportPath}\n` +
      `# directly:  ANTHROPIC_BASE_URL=${url}  OPENAI_BASE_URL=${url}/v1\n` +
      (ca
        ? `# through the proxy (the replayed run is captured again):\n#   agenttap-proxy start --connect-to api.anthropic.com:443:${target} --connect-to api.openai.com:443:${target} --connect-to chatgpt.com:443:${target} --upstream-ca ${ca.certPath}\n`
        : ''),
  )
  await stopped
  const s = await server.close()
  process.stderr.write(`agenttap replay: served ${s.served}, diverged ${s.divergences}${s.fallthroughs > 0 ? ` (${s.fallthroughs} sent to ${o.fallthrough})` : ''}${s.aux > 0 ? `, ${s.aux} aux request(s) answered again` : ''}, ${s.unused.length} captured call(s) never asked for; report ${server.reportPath}\n`)
  return EXIT.OK
}
