/**
 * The zero-setup demo: the capture proxy, a replay upstream over the bundled capture (Claude Code
 * with a tool call, Codex over a WebSocket, an error in a stream, an HTTP 429), and a scripted
 * client through the proxy, so the live monitor and the web view fill within seconds without an
 * agent, a login or a network.
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readJsonl, resolveCapture } from '@agenttap/jsonl-io'
import { createCaptureProxy, defaultCaDir, ensureCa, ensureRedactionKey, resolveLoopback } from '@agenttap/proxy-capture'
import { createReplayServer, loadReplayCapture } from '@agenttap/replay'
import { attachTerminalView } from '@agenttap/terminal-view'
import { createWebServer, type WebServer } from '@agenttap/web'
import { runScript, scriptOf } from './client.js'
import { DemoError } from './errors.js'
import type { Demo, DemoOptions, DemoResult } from './types.js'

/** The capture shipped with this package (`capture/demo.jsonl`). */
export function demoCapturePath(): string {
  return fileURLToPath(new URL('../capture/demo.jsonl', import.meta.url))
}

/** Hosts the demo's requests go to; the proxy sends them all to the replay upstream. */
const HOSTS = ['api.anthropic.com', 'api.openai.com', 'chatgpt.com']

/**
 * Starts the demo: the replay upstream over the bundled capture, the capture proxy in front of it
 * (writing a new capture to `logDir`), the web view and the live monitor when asked, then the
 * scripted client through the proxy. Resolves once everything listens; `finished` resolves when
 * the client is done. The capture stays browsable until `close()`.
 *
 * @example
 * const demo = await runDemo({ monitor: process.stdout })
 * await demo.finished
 * console.log(`agenttap-analyze usage --log-dir ${demo.logDir}`)
 * process.on('SIGINT', () => demo.close())
 */
export async function runDemo(opts: DemoOptions = {}): Promise<Demo> {
  const out = opts.output ?? process.stdout
  const say = (s: string): void => {
    out.write(`${s}\n`)
  }
  const onError = (e: DemoError): void => opts.onError?.(e)
  const capturePath = opts.capture ?? demoCapturePath()
  if (!existsSync(capturePath)) throw new DemoError('NO_DEMO_CAPTURE', `the demo capture ${capturePath} is missing: reinstall @agenttap/demo`)
  const speed = opts.speed ?? 1
  if (!(speed > 0)) throw new DemoError('INVALID_OPTION', `runDemo: expected speed > 0, received ${String(opts.speed)}`)
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'agenttap-demo-'))
  const caDir = opts.caDir ?? defaultCaDir()
  const ca = ensureCa(caDir)

  const capture = await loadReplayCapture(capturePath)
  const records: Record<string, unknown>[] = []
  for (const file of resolveCapture(capturePath).all) for await (const r of readJsonl(file)) records.push(r.value as Record<string, unknown>)
  const steps = scriptOf(records, capture)

  const replay = createReplayServer({
    capture,
    speed,
    caDir,
    redactionKey: ensureRedactionKey(caDir).key,
    report: join(resolveCapture(logDir).dir, 'replay-divergences.jsonl'),
    onError: (e) => onError(new DemoError('VIEW', `replay: ${e.message}`, { cause: e })),
  })
  const { port: replayPort, url: replayUrl } = await replay.start()
  const proxy = createCaptureProxy({ port: opts.port ?? 0, caDir, logDir, upstreamCa: ca.certPem, connectTo: HOSTS.map((h) => `${h}:443:127.0.0.1:${replayPort}`) })
  const closers: (() => Promise<unknown>)[] = [() => replay.close()]
  try {
    await proxy.start()
  } catch (err) {
    await replay.close()
    throw err
  }
  closers.unshift(() => proxy.stop())
  const ac = new AbortController()
  let web: WebServer | undefined
  let webUrl: string | undefined
  if (opts.webPort !== false) {
    web = createWebServer({ logDir: resolveCapture(proxy.captureDir).root ?? logDir, port: opts.webPort ?? 0, loopbackRule: resolveLoopback })
    try {
      webUrl = await web.start()
      const w = web
      closers.push(() => w.close())
    } catch (err) {
      onError(new DemoError('VIEW', `web view not started: ${(err as Error).message}`, { cause: err }))
      web = undefined
    }
  }
  if (opts.monitor) {
    const view = attachTerminalView(proxy.records({ signal: ac.signal }), { output: opts.monitor, signal: ac.signal, onDiagnostic: (e) => onError(new DemoError('VIEW', e.message, { cause: e })) })
    closers.push(async () => {
      ac.abort()
      await view.done
    })
  }
  say(`# agenttap demo: proxy ${proxy.url} → replay upstream ${replayUrl} (${capture.exchanges.length} captured calls: Claude Code with a tool call, Codex over a WebSocket, an overloaded error, a 429)`)
  say(`# capturing into ${proxy.captureDir}`)
  if (webUrl !== undefined) say(`# live web view: ${webUrl}`)

  const finished: Promise<DemoResult> = runScript(steps, proxy.port, ca.certPem, ac.signal, onError).then(async (r) => {
    await proxy.flush()
    return r
  })
  let closing: Promise<void> | undefined
  return {
    logDir: resolveCapture(proxy.captureDir).root ?? logDir,
    proxyUrl: proxy.url,
    replayUrl,
    ...(webUrl !== undefined ? { webUrl } : {}),
    finished,
    close() {
      closing ??= (async () => {
        ac.abort()
        await finished.catch(() => undefined)
        for (const c of closers) await c().catch(() => undefined)
      })()
      return closing
    },
  }
}

/** What to try next, for the demo's own capture. */
export function nextSteps(demo: Pick<Demo, 'logDir'>): string[] {
  return [
    `agenttap-analyze usage --log-dir ${demo.logDir}`,
    `agenttap-analyze errors --log-dir ${demo.logDir}`,
    `agenttap-monitor --replay ${demo.logDir}`,
    'agenttap-monitor --replay fixtures/capture/   (from a clone of the repository: every fixture scenario)',
    `agenttap-proxy replay ${demo.logDir}   (serve this capture back to an agent)`,
  ]
}
