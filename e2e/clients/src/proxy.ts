/**
 * The built proxy (`apps/proxy/dist/bin.js start`) as a user starts it, aimed at the fake
 * provider with `--connect-to` and `--upstream-ca`, and the environment it prints for the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

/** The built bins of the workspace apps. */
export const BINS = {
  proxy: join(import.meta.dirname, '../../../apps/proxy/dist/bin.js'),
  monitor: join(import.meta.dirname, '../../../apps/monitor/dist/bin.js'),
  analyze: join(import.meta.dirname, '../../../apps/analyze/dist/bin.js'),
}

export interface ProxyOptions {
  /** Log root. */
  logDir: string
  /** CA directory (created on first run). */
  caDir: string
  /** PEM roots for upstream TLS (the fake provider's CA). */
  upstreamCa?: string
  /** `--connect-to` rules. */
  connectTo?: string[]
  redis?: { url: string; stream: string }
  /** Serve the live web view on a free port (its URL is in `webUrl`). @defaultValue false */
  web?: boolean
  extraArgs?: string[]
}

export interface RunningProxy {
  port: number
  /** The `export` lines it printed, as an environment (HTTPS_PROXY, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, …). */
  env: Record<string, string>
  /** The web view's URL with its token, when `web` was asked for. */
  webUrl?: string
  stdout(): string
  stderr(): string
  /** SIGTERM and wait for the exit (the proxy ends open flows and flushes the capture). */
  stop(): Promise<number | null>
  process: ChildProcess
}

/** The proxy's arguments shared by `start` and `run`. */
export function proxyArgs(o: ProxyOptions): string[] {
  return ['--log-dir', o.logDir, '--ca-dir', o.caDir, ...(o.upstreamCa ? ['--upstream-ca', o.upstreamCa] : []), ...(o.connectTo ?? []).flatMap((r) => ['--connect-to', r]), ...(o.redis ? ['--redis', o.redis.url, '--stream', o.redis.stream] : []), ...(o.extraArgs ?? [])]
}

/** Starts `agenttap-proxy start --port 0 --no-monitor` and waits for its `export` lines. */
export function startProxy(o: ProxyOptions): Promise<RunningProxy> {
  const args = ['start', '--port', '0', '--no-monitor', ...(o.web ? ['--web-port', '0'] : ['--no-web']), ...proxyArgs(o)]
  const child = spawn(process.execPath, [BINS.proxy, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`agenttap-proxy exited with ${code} before it was ready:\n${out}\n${err}`))
    child.once('exit', onExit)
    const check = (): void => {
      const env: Record<string, string> = {}
      for (const m of out.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) env[m[1] as string] = m[2] as string
      const web = /(https?:\/\/127\.0\.0\.1:\d+\/\S*token=\S+)/.exec(out + err)
      if (!env['HTTPS_PROXY'] || !env['CODEX_CA_CERTIFICATE'] || (o.web && !web)) return
      child.off('exit', onExit)
      const stop = async (): Promise<number | null> => {
        if (child.exitCode !== null) return child.exitCode
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
        child.kill('SIGTERM')
        return exited
      }
      resolve({ port: Number(/:(\d+)$/.exec(env['HTTPS_PROXY'])?.[1]), env, ...(web ? { webUrl: web[1] as string } : {}), stdout: () => out, stderr: () => err, stop, process: child })
    }
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      check()
    })
    child.stderr.on('data', () => check())
  })
}
