import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { readJsonl, readRawRef, resolveCapture } from '@agenttap/jsonl-io'

const made: string[] = []

/** A fresh directory under the OS temp dir, removed by {@link removeTempDirs}. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  made.push(d)
  return d
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
}

export const FIXTURES = join(import.meta.dirname, '../../../fixtures')

/** Records of a fixture file (or any JSONL file). */
export function fixtureRecords(name: string): Record<string, unknown>[] {
  return readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** Every record of a capture (a log root or capture dir), files in reader order. */
export async function captureRecords(path: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = []
  for (const f of resolveCapture(path).all) for await (const r of readJsonl(f)) out.push(r.value as Record<string, unknown>)
  return out
}

/** A flow of a capture as the comparison needs it: request, events, bodies. */
export interface CapturedFlow {
  url: string
  status: unknown
  request_body: unknown
  events: { type: string; event?: unknown; data: unknown }[]
  response_raw?: string
  request_raw?: string
}

/** The flows of a capture in request order, with their sse/client_frame records and raw bodies. */
export async function capturedFlows(path: string): Promise<CapturedFlow[]> {
  const layout = resolveCapture(path)
  const recs = await captureRecords(path)
  const flows = recs.filter((r) => r['type'] === 'flow').sort((a, b) => Number(a['flow_seq']) - Number(b['flow_seq']))
  const out: CapturedFlow[] = []
  for (const f of flows) {
    const id = f['flow_id']
    const end = recs.find((r) => r['type'] === 'flow_end' && r['flow_id'] === id)
    const events = recs
      .filter((r) => (r['type'] === 'sse' || r['type'] === 'client_frame') && r['flow_id'] === id)
      .sort((a, b) => Number(a['seq']) - Number(b['seq']))
      .map((r) => ({ type: r['type'] as string, event: r['event'], data: r['data'] }))
    const cf: CapturedFlow = { url: f['url'] as string, status: f['status'], request_body: f['request_body'], events }
    if (typeof end?.['raw'] === 'string') cf.response_raw = (await readRawRef(layout.dir, end['raw'])).toString('utf8')
    if (typeof f['request_raw'] === 'string') cf.request_raw = (await readRawRef(layout.dir, f['request_raw'])).toString('utf8')
    out.push(cf)
  }
  return out
}

/** An https.Agent that opens each connection as a CONNECT tunnel through the proxy, trusting only `ca`. */
export class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxyPort: number,
    private readonly ca: string,
  ) {
    super({ keepAlive: false })
  }

  override createConnection(options: import('node:http').RequestOptions & { servername?: string }, callback?: (err: Error | null, s: Duplex) => void): undefined {
    const target = `${options.host ?? '127.0.0.1'}:${options.port ?? 443}`
    const req = httpRequest({ host: '127.0.0.1', port: this.proxyPort, method: 'CONNECT', path: target, headers: { host: target } })
    req.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) return callback?.(new Error(`CONNECT ${target} → ${res.statusCode}`), socket)
      const t = tlsConnect({ socket, ca: this.ca, host: options.host ?? '127.0.0.1', servername: options.servername ?? options.host ?? undefined })
      callback?.(null, t)
    })
    req.on('error', (err) => callback?.(err, undefined as unknown as Duplex))
    req.end()
    return undefined
  }
}

/** SSE text → events (the test's own reading of what replay sent). */
export function parseSse(text: string): { event?: string; data: string }[] {
  const out: { event?: string; data: string }[] = []
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue
    let event: string | undefined
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    out.push(event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') })
  }
  return out
}
