import { createReadStream } from 'node:fs'
import type { Explanation } from '@agenttap/cache-insights'
import { readRawRef } from '@agenttap/jsonl-io'
import type { LedgerContent, ModelCall } from '@agenttap/ledger'
import type { CaptureFiles } from './sources.js'

/**
 * `cache --explain <flow>`: the two requests of a break read again from the capture (only the
 * lines of their flows), through the ledger with segment texts, and their divergence as a diff.
 * The ledger and cache-insights are loaded here, for `--explain` only: the other modes on a current
 * index answer without them.
 */

/** The lines of some flows in capture files, parsed (a cheap substring test first). */
async function flowRecords(files: string[], flowIds: string[]): Promise<Record<string, unknown>[]> {
  const needles = flowIds.map((id) => `"flow_id":${JSON.stringify(id)}`)
  const out: Record<string, unknown>[] = []
  // readline loads for `--explain` only (not at the start of every mode).
  const { createInterface } = process.getBuiltinModule('node:readline')
  for (const file of files) {
    const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
    for await (const line of rl) {
      if (!needles.some((n) => line.includes(n))) continue
      try {
        const r: unknown = JSON.parse(line)
        if (typeof r === 'object' && r !== null && flowIds.includes(String((r as Record<string, unknown>)['flow_id']))) out.push(r as Record<string, unknown>)
      } catch {
        // A malformed line: `agenttap-analyze check` reports it with its place; the diff goes on without it.
      }
    }
  }
  return out
}

/** The calls of two flows with every segment's JSON by hash. */
export async function callsWithTexts(files: CaptureFiles, flowIds: string[]): Promise<{ calls: ModelCall[]; texts: Map<string, string> }> {
  const records = await flowRecords([...files.flows, ...files.lines, ...files.ends], flowIds)
  const calls: ModelCall[] = []
  const texts = new Map<string, string>()
  const { createLedger } = await import('@agenttap/ledger')
  const ledger = createLedger({
    onCall: (c) => calls.push(c),
    onContent: (c: LedgerContent) => {
      if (c.kind === 'segment') texts.set(c.hash, c.text)
    },
    segmentTexts: true,
    sessionChain: false,
  })
  for (const r of records) {
    const body = r['request_body']
    if (r['type'] === 'flow' && typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>)['$ref'] === 'string') {
      try {
        r['request_body'] = JSON.parse((await readRawRef(files.dir, String((body as Record<string, unknown>)['$ref']))).toString('utf8'))
      } catch {
        // Unreadable body: the ledger reports the unresolved ref; the diff names segments only.
      }
    }
    ledger.feed(r)
  }
  ledger.end()
  return { calls, texts }
}

/** The divergence of `cur` from `prev` (call keys), as diff lines. */
export async function explainBreak(files: CaptureFiles, prev: { key: string; flow_id: string }, cur: { key: string; flow_id: string }): Promise<Explanation | undefined> {
  const { calls, texts } = await callsWithTexts(files, [...new Set([prev.flow_id, cur.flow_id])])
  const a = calls.find((c) => c.key === prev.key)
  const b = calls.find((c) => c.key === cur.key)
  if (a === undefined || b === undefined) return undefined
  const { explainDivergence } = await import('@agenttap/cache-insights')
  return explainDivergence(a.request.segments ?? [], b.request.segments ?? [], texts)
}
