import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export { prng } from '../../../test-support/prng.js'

/** Splits `bytes` at random points: mostly tiny pieces (1–8 bytes), sometimes large ones. */
export function rechunk(bytes: Uint8Array, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = []
  let i = 0
  while (i < bytes.length) {
    const r = rand()
    const len = r < 0.6 ? 1 + Math.floor(rand() * 8) : r < 0.9 ? 1 + Math.floor(rand() * 64) : 1 + Math.floor(rand() * 2048)
    out.push(bytes.subarray(i, i + len))
    i += len
  }
  return out
}

/** Splits a string at random points (for fragment-level decoders). */
export function splitString(s: string, rand: () => number, maxLen = 6): string[] {
  const out: string[] = []
  let i = 0
  while (i < s.length) {
    const len = Math.floor(rand() * (maxLen + 1)) // zero-length pieces too
    out.push(s.slice(i, i + len))
    i += len
  }
  return out
}

export interface FixtureFlow {
  file: string
  flow_id: string
  flow: Record<string, unknown> & { url?: string; provider?: string }
  sse: { seq: number; event?: string; data: string; transport?: 'sse' | 'ws' }[]
}

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures')

/** Every flow of every `fixtures/*.jsonl`, with its sse records in seq order. */
export function loadFixtureFlows(): FixtureFlow[] {
  const flows: FixtureFlow[] = []
  for (const file of readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.jsonl')).sort()) {
    const byId = new Map<string, FixtureFlow>()
    for (const line of readFileSync(join(FIXTURES_DIR, file), 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const r = JSON.parse(line) as Record<string, unknown> & { type: string; flow_id: string }
      if (r.type === 'flow') {
        const f: FixtureFlow = { file, flow_id: r.flow_id, flow: r, sse: [] }
        byId.set(r.flow_id, f)
        flows.push(f)
      } else if (r.type === 'sse') {
        const f = byId.get(r.flow_id)
        if (f === undefined) throw new Error(`${file}: sse record before its flow ${r.flow_id}`)
        f.sse.push(r as unknown as FixtureFlow['sse'][number])
      }
    }
  }
  for (const f of flows) f.sse.sort((a, b) => a.seq - b.seq)
  return flows
}

/** Builds an SSE stream of JSON events: `[eventName, payload]` pairs. */
export function sseText(events: [string | undefined, unknown][], eol = '\n'): string {
  let s = ''
  for (const [name, payload] of events) {
    if (name !== undefined) s += `event: ${name}${eol}`
    s += `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}${eol}${eol}`
  }
  return s
}
