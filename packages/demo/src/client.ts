/**
 * The scripted client: sends the bundled capture's requests through the proxy as the agents sent
 * them (real TLS through a CONNECT tunnel, trusting only the agenttap CA), one after the other,
 * and reads every answer: HTTP for SSE and plain bodies, a WebSocket for Codex's connection.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import type { ReplayCapture } from '@agenttap/replay'
import WebSocket from 'ws'
import { DemoError } from './errors.js'
import type { DemoResult } from './types.js'

/** An https.Agent whose connections are CONNECT tunnels through the proxy. */
class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxyPort: number,
    private readonly ca: string,
  ) {
    super({ keepAlive: false })
  }

  override createConnection(options: import('node:http').RequestOptions & { servername?: string }, callback?: (err: Error | null, s: Duplex) => void): undefined {
    const target = `${options.host ?? 'localhost'}:${options.port ?? 443}`
    const req = httpRequest({ host: '127.0.0.1', port: this.proxyPort, method: 'CONNECT', path: target, headers: { host: target } })
    req.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) return callback?.(new Error(`CONNECT ${target} answered ${res.statusCode}`), socket)
      callback?.(null, tlsConnect({ socket, ca: this.ca, host: options.host ?? 'localhost', servername: options.servername ?? options.host ?? 'localhost' }))
    })
    req.on('error', (err) => callback?.(err, undefined as unknown as Duplex))
    req.end()
    return undefined
  }
}

const SKIP_HEADERS = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'accept-encoding', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions'])

/** The captured request headers worth sending again: no redacted values, no framing headers. */
function sendable(h: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof h !== 'object' || h === null) return out
  for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
    if (typeof v !== 'string' || v.includes('[REDACTED') || SKIP_HEADERS.has(k.toLowerCase())) continue
    out[k] = v
  }
  return out
}

/** The flows of the capture the client replays, as recorded: URL, headers, body or frames. */
export interface ScriptStep {
  url: string
  method: string
  headers: Record<string, string>
  body?: string
  /** WebSocket: the client frames, each with the number of server frames that answer it. */
  frames?: { data: string; answers: number }[]
}

/** The client's script from the capture's records (read with the replay's loader). */
export function scriptOf(records: Record<string, unknown>[], capture: ReplayCapture): ScriptStep[] {
  const steps: ScriptStep[] = []
  const flows = records.filter((r) => r['type'] === 'flow').sort((a, b) => String(a['ts']).localeCompare(String(b['ts'])))
  for (const f of flows) {
    const url = String(f['url'])
    const step: ScriptStep = { url, method: String(f['method'] ?? 'POST'), headers: sendable(f['request_headers']) }
    const conn = capture.connections.find((c) => c.flow_id === f['flow_id'])
    if (conn !== undefined) {
      const frames = records.filter((r) => r['type'] === 'client_frame' && r['flow_id'] === f['flow_id']).sort((a, b) => Number(a['seq']) - Number(b['seq']))
      step.frames = frames.map((fr, i) => ({ data: String(fr['data']), answers: capture.exchanges.find((e) => e.key === conn.keys[i])?.eventCount ?? 0 }))
    } else if (f['request_body'] !== undefined && step.method !== 'GET') step.body = typeof f['request_body'] === 'string' ? f['request_body'] : JSON.stringify(f['request_body'])
    steps.push(step)
  }
  return steps
}

/** Runs the script through the proxy; resolves when every answer was read. */
export async function runScript(steps: readonly ScriptStep[], proxyPort: number, ca: string, signal: AbortSignal, onError: (e: DemoError) => void): Promise<DemoResult> {
  const agent = new TunnelAgent(proxyPort, ca)
  const result: DemoResult = { requests: 0, statuses: [], events: 0, failed: 0 }
  for (const step of steps) {
    if (signal.aborted) break
    try {
      if (step.frames) await webSocketStep(step, agent, result, signal)
      else await httpStep(step, agent, result)
    } catch (err) {
      result.failed++
      onError(new DemoError('CLIENT_FAILED', `${step.method} ${step.url}: ${(err as Error).message}`, { cause: err }))
    }
  }
  agent.destroy()
  return result
}

function httpStep(step: ScriptStep, agent: HttpsAgent, result: DemoResult): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = step.body === undefined ? undefined : Buffer.from(step.body)
    const req = httpsRequest(step.url, { method: step.method, agent, headers: { ...step.headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      result.requests++
      result.statuses.push(res.statusCode ?? 0)
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        result.events += c.split('\n\n').length - 1
      })
      res.on('end', resolve)
      res.on('error', reject)
      res.on('aborted', () => resolve())
    })
    req.on('error', reject)
    req.end(body)
  })
}

function webSocketStep(step: ScriptStep, agent: HttpsAgent, result: DemoResult, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(step.url.replace(/^http/, 'ws'), { agent, headers: step.headers, perMessageDeflate: false })
    const frames = step.frames ?? []
    let i = 0
    let waiting = 0
    const next = (): void => {
      if (i >= frames.length || signal.aborted) {
        ws.close()
        return
      }
      const f = frames[i++] as { data: string; answers: number }
      waiting = f.answers
      result.requests++
      ws.send(f.data)
      if (waiting === 0) next()
    }
    ws.on('upgrade', (res) => result.statuses.push(res.statusCode ?? 0))
    ws.on('open', next)
    ws.on('message', () => {
      result.events++
      if (--waiting === 0) next()
    })
    ws.on('close', () => resolve())
    ws.on('error', reject)
  })
}
