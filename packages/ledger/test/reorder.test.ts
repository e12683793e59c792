/**
 * The calls do not depend on how the capture is read: the three files re-chunked at seeded random
 * points and interleaved in random order (a flow's lines and its flow_end before its flow record,
 * a flow_end before its last events) give exactly the calls of reading them one after the other.
 */
import { createJsonlParser, type JsonlError } from '@agenttap/jsonl-io'
import { describe, expect, it } from 'vitest'
import { createLedger, type FlowFacts, type LedgerContent, type LedgerError, type ModelCall } from '../src/index.js'
import { captureFiles, fixture, prng } from './helpers.js'

type FileName = keyof ReturnType<typeof captureFiles>
const FILES = captureFiles()

interface Out {
  calls: ModelCall[]
  flows: FlowFacts[]
  contents: LedgerContent[]
  errors: LedgerError[]
  parseErrors: JsonlError[]
}

function sorted(o: Out) {
  return {
    calls: [...o.calls].sort((a, b) => a.key.localeCompare(b.key)),
    flows: [...o.flows].sort((a, b) => a.flow_id.localeCompare(b.flow_id)),
    contents: [...o.contents].sort((a, b) => a.hash.localeCompare(b.hash)),
    errors: o.errors.map((e) => `${e.code} ${e.flow_id}`).sort(),
  }
}

/** Feeds the files cut into chunks; `pick` chooses which file's next chunk goes next. */
function feed(chunksOf: (text: string) => Uint8Array[], pick: (open: FileName[]) => FileName): Out {
  const out: Out = { calls: [], flows: [], contents: [], errors: [], parseErrors: [] }
  const ledger = createLedger({ onCall: (c) => out.calls.push(c), onFlow: (f) => out.flows.push(f), onContent: (c) => out.contents.push(c), onError: (e) => out.errors.push(e) })
  const queues = new Map<FileName, Uint8Array[]>()
  const parsers = new Map<FileName, ReturnType<typeof createJsonlParser>>()
  for (const name of Object.keys(FILES) as FileName[]) {
    queues.set(name, chunksOf(FILES[name]))
    parsers.set(name, createJsonlParser({ file: name, onRecord: (v, info) => ledger.feed(v, { file: name, ...info }), onError: (e) => out.parseErrors.push(e) }))
  }
  for (;;) {
    const open = [...queues.keys()].filter((k) => (queues.get(k) as Uint8Array[]).length > 0)
    if (open.length === 0) break
    const name = pick(open)
    parsers.get(name)?.feed((queues.get(name) as Uint8Array[]).shift() as Uint8Array)
  }
  for (const p of parsers.values()) p.end()
  ledger.end()
  return out
}

const whole = (text: string) => [new TextEncoder().encode(text)]
function randomChunks(rand: () => number) {
  return (text: string): Uint8Array[] => {
    const bytes = new TextEncoder().encode(text)
    const out: Uint8Array[] = []
    for (let i = 0; i < bytes.length; ) {
      const r = rand()
      const n = r < 0.5 ? 1 + Math.floor(rand() * 64) : r < 0.9 ? 1 + Math.floor(rand() * 4096) : 1 + Math.floor(rand() * 65536)
      out.push(bytes.subarray(i, i + n))
      i += n
    }
    return out
  }
}

const ORDER: FileName[] = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']
const reference = feed(whole, (open) => ORDER.find((n) => open.includes(n)) as FileName)

describe('reading order', () => {
  it('the reference read (flows, lines, ends) is clean and gives every scenario\'s calls', () => {
    expect(reference.parseErrors).toEqual([])
    expect(reference.errors.map((e) => e.code)).toEqual(['STREAM']) // truncated-stream's missing message_stop
    const perScenario: ModelCall[] = []
    for (const f of ['api-error-in-200', 'chat-completions-tools', 'claude-code-2x', 'claude-code-aux', 'claude-code-turn', 'codex-early-close', 'codex-turn', 'codex-websocket', 'http-errors', 'interleaved-sessions', 'sdk-conversation', 'truncated-stream']) {
      const calls: ModelCall[] = []
      const l = createLedger({ onCall: (c) => calls.push(c) })
      for (const r of fixture(`${f}.jsonl`)) l.feed(r)
      l.end()
      perScenario.push(...calls)
    }
    expect(sorted(reference).calls).toEqual(sorted({ ...reference, calls: perScenario }).calls)
    expect(reference.calls).toHaveLength(26)
  })

  it('ends first, then lines, then flows: every record waits for its flow, the same calls come out', () => {
    const rev = feed(whole, (open) => [...ORDER].reverse().find((n) => open.includes(n)) as FileName)
    expect(sorted(rev)).toEqual(sorted(reference))
  })

  it('30 seeds of random chunking and interleaving of the three files give identical calls, flows and content', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = prng(seed)
      const got = feed(randomChunks(rand), (open) => open[Math.floor(rand() * open.length)] as FileName)
      expect(got.parseErrors, `seed ${seed}`).toEqual([])
      expect(sorted(got), `seed ${seed}`).toEqual(sorted(reference))
    }
  })
})
