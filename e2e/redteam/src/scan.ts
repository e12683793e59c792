/**
 * Where secrets could have landed, and the search for them: every file under the log root as
 * written, the Redis stream's entries, and the streamed text of every flow rejoined per channel
 * (a secret leaked in 2-char deltas is in no file contiguously, but it is in the rejoined text).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { readRawRef } from '@agenttap/jsonl-io'
import type { Placement } from './corpus.js'

export interface Haystack {
  /** Where the text comes from (a file, `redis`, or `<file>#<flow>/<channel>` for rejoined deltas). */
  where: string
  text: string
}

export interface Leak {
  kind: string
  type: string
  where: string
  /** The piece of secret material found (10 chars). */
  found: string
}

/** The window every leak check uses: any 10 contiguous chars of a secret's random material. */
export const WINDOW = 10

const STREAM_KEYS = new Set(['text', 'thinking', 'partial_json', 'delta', 'content', 'arguments', 'reasoning_content', 'reasoning', 'refusal', 'input', 'output'])
const DISCRIMINATORS = ['index', 'output_index', 'content_index', 'summary_index', 'item_id']

function allFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...allFiles(p))
    else out.push(p)
  }
  return out
}

interface SseLike {
  flow_id?: unknown
  seq?: unknown
  type?: unknown
  event?: unknown
  data?: unknown
}

/** Appends each streamed string field of `records` (SSE records of any flows) to its channel. */
function joinChannels(records: SseLike[], into: Map<string, string[]>, prefix: string): void {
  const add = (key: string, s: string): void => {
    const list = into.get(key)
    if (list) list.push(s)
    else into.set(key, [s])
  }
  const walk = (v: unknown, path: string, disc: string, flow: string): void => {
    if (typeof v !== 'object' || v === null) return
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}${i}.`, disc, flow))
      return
    }
    const o = v as Record<string, unknown>
    let d = disc
    for (const k of DISCRIMINATORS) if (typeof o[k] === 'string' || typeof o[k] === 'number') d += `${k}=${String(o[k])};`
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string' && STREAM_KEYS.has(k)) add(`${prefix}#${flow}/${d}${path}${k}`, x)
      else walk(x, `${path}${k}.`, d, flow)
    }
  }
  const sorted = records.filter((r) => typeof r.data === 'string').sort((a, b) => String(a.flow_id).localeCompare(String(b.flow_id)) || Number(a.seq ?? 0) - Number(b.seq ?? 0))
  for (const r of sorted) {
    const flow = String(r.flow_id ?? '')
    const data = r.data as string
    let v: unknown
    try {
      v = JSON.parse(data)
    } catch {
      add(`${prefix}#${flow}/raw:${String(r.event ?? '')}`, data)
      continue
    }
    walk(v, '', '', flow)
  }
}

/** Parses an SSE body (a raw body file) into data records of one flow. */
function sseRecords(body: string, flow: string): SseLike[] {
  const out: SseLike[] = []
  let seq = 0
  for (const block of body.split(/\r?\n\r?\n/)) {
    const data: string[] = []
    let event: string | undefined
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      else if (line.startsWith('event:')) event = line.slice(6).trim()
    }
    if (data.length > 0) out.push({ flow_id: flow, seq: seq++, event, data: data.join('\n') })
  }
  return out
}

function parseJsonl(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      out.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      // A torn line is not a record; its text is still searched as part of the file.
    }
  }
  return out
}

/**
 * Everything to search: each file under `logRoot`, each Redis entry's fields, and the streamed
 * text rejoined per flow and channel from the sse records (files and Redis) and raw SSE bodies.
 */
export async function collectHaystacks(logRoot: string, captureDir: string, redisEntries: Array<[string, string[]]>): Promise<Haystack[]> {
  const out: Haystack[] = []
  const channels = new Map<string, string[]>()
  for (const file of allFiles(logRoot)) {
    const text = readFileSync(file, 'utf8')
    const rel = relative(logRoot, file)
    out.push({ where: rel, text })
    if (!file.endsWith('.jsonl')) continue
    const recs = parseJsonl(text)
    joinChannels(recs.filter((r) => r['type'] === 'sse'), channels, rel)
    for (const end of recs.filter((r) => r['type'] === 'flow_end' && typeof r['raw'] === 'string')) {
      const body = (await readRawRef(captureDir, end['raw'] as string)).toString('utf8')
      joinChannels(sseRecords(body, String(end['flow_id'])), channels, `${rel}:raw`)
    }
  }
  const redisRecords: SseLike[] = []
  for (const [id, fields] of redisEntries) {
    out.push({ where: `redis ${id}`, text: fields.join('\n') })
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] !== 'r') continue
      try {
        const rec = JSON.parse(fields[i + 1] as string) as SseLike
        if (rec.type === 'sse') redisRecords.push(rec)
      } catch {
        // not a record
      }
    }
  }
  joinChannels(redisRecords, channels, 'redis')
  for (const [where, parts] of channels) out.push({ where, text: parts.join('') })
  return out
}

/** Chars of the rolling key that finds candidate windows (7 bits each: 49 bits, exact in a double). */
const KEY_CHARS = 7
const KEY_MOD = 2 ** (7 * (KEY_CHARS - 1))

function keyOf(s: string, at: number): number {
  let k = 0
  for (let i = 0; i < KEY_CHARS; i++) k = k * 128 + (s.charCodeAt(at + i) & 127)
  return k
}

/**
 * Every placement whose material shows up anywhere: all WINDOW-char windows of every material
 * are indexed by their first KEY_CHARS chars, then each haystack is slid over once with a
 * rolling key (a substring per position would take seconds over tens of megabytes).
 */
export function findLeaks(placements: readonly Placement[], haystacks: readonly Haystack[]): Leak[] {
  const windows: Array<{ w: string; i: number }> = []
  placements.forEach((p, i) => {
    for (const m of p.secret.material) {
      if (m.length <= WINDOW) windows.push({ w: m, i })
      else for (let k = 0; k + WINDOW <= m.length; k++) windows.push({ w: m.slice(k, k + WINDOW), i })
    }
  })
  const byKey = new Map<number, Array<{ w: string; i: number }>>()
  for (const win of windows) {
    if (win.w.length < KEY_CHARS) continue
    const k = keyOf(win.w, 0)
    const list = byKey.get(k)
    if (list) list.push(win)
    else byKey.set(k, [win])
  }
  // Which 3-char starts any window has (7 bits a char): most positions of a text stop here.
  const starts = new Uint8Array(1 << 21)
  for (const k of byKey.keys()) starts[Math.floor(k / 2 ** 28)] = 1
  const tiny = windows.filter((win) => win.w.length < KEY_CHARS)
  const leaked = new Map<number, Leak>()
  const report = (i: number, where: string, found: string): void => {
    if (leaked.has(i)) return
    const p = placements[i] as Placement
    leaked.set(i, { kind: p.kind, type: p.secret.type, where, found })
  }
  for (const h of haystacks) {
    const t = h.text
    if (t.length < KEY_CHARS) continue
    let k = keyOf(t, 0)
    for (let at = 0; ; ) {
      if (starts[Math.floor(k / 2 ** 28)] === 1) {
        const cands = byKey.get(k)
        if (cands) for (const c of cands) if (t.startsWith(c.w, at)) report(c.i, h.where, c.w)
      }
      const next = at + KEY_CHARS
      if (next >= t.length) break
      k = (k % KEY_MOD) * 128 + (t.charCodeAt(next) & 127)
      at++
    }
    for (const c of tiny) if (t.includes(c.w)) report(c.i, h.where, c.w)
  }
  return [...leaked.values()]
}
