import { open, readFile, stat } from 'node:fs/promises'
import { resolve, sep } from 'node:path'
import { CAPTURE_FILES, resolveCapture } from '@agenttap/jsonl-io'
import type { SseLike } from './conversation.js'
import type { FlowEntry } from './flow-index.js'
import { readLinesAt, scanForFlow } from './line-reader.js'

/** Paths of one capture directory (`<logDir>/all-mitm-sse/`). */
export interface CapturePaths {
  dir: string
  flows: string
  lines: string
  flowEnds: string
  rawDir: string
}

/**
 * The files of the capture a log root (or a capture directory) holds, as jsonl-io's
 * `resolveCapture` lays it out: the live files the proxy appends to.
 */
export function capturePaths(logDir: string): CapturePaths {
  const c = resolveCapture(logDir)
  return { dir: c.dir, flows: c.live.flows, lines: c.live.lines, flowEnds: c.live.ends, rawDir: c.rawDir }
}

/** A flow's records loaded back for its detail view. */
export interface LoadedFlow {
  flow?: Record<string, unknown>
  lines: SseLike[]
  end?: Record<string, unknown>
  problems: string[]
}

/** A line of sse_lines.jsonl: the flow's server events and the frames its client sent. */
const LINE_TYPES = new Set(['sse', 'client_frame'])

function toSse(v: Record<string, unknown>): SseLike | undefined {
  const frame = v['type'] === 'client_frame'
  // A large client frame is stored apart (`data_ref`): only its place and time matter here.
  if (typeof v['data'] !== 'string' && !frame) return undefined
  const l: SseLike = { data: typeof v['data'] === 'string' ? v['data'] : '' }
  if (frame) l.type = 'client_frame'
  if (typeof v['seq'] === 'number') l.seq = v['seq']
  if (typeof v['t_ms'] === 'number') l.t_ms = v['t_ms']
  if (typeof v['ts'] === 'string') l.ts = v['ts']
  if (typeof v['event'] === 'string') l.event = v['event']
  if (v['transport'] === 'ws' || v['transport'] === 'sse') l.transport = v['transport']
  return l
}

/**
 * Loads a flow's `flow`, `sse` and `flow_end` records: from memory when the index holds them
 * (records fed in-process), else from the files by byte offset, else (offsets unknown) by
 * scanning the files from `scanFrom`. A line that no longer belongs to the flow (the file was
 * rotated or truncated since it was indexed) is reported, not shown.
 */
export async function loadFlow(paths: CapturePaths, e: FlowEntry, scanFrom: { flows: number; lines: number }): Promise<LoadedFlow> {
  const id = e.summary.flow_id
  const problems: string[] = []
  let flow: Record<string, unknown> | undefined
  let end: Record<string, unknown> | undefined
  const lines: SseLike[] = []
  const accept = (file: string, r: { offset: number; value?: unknown; error?: string }, type: string | Set<string>): Record<string, unknown> | undefined => {
    if (r.error !== undefined) {
      problems.push(`${file}: ${r.error}`)
      return undefined
    }
    const v = r.value as Record<string, unknown> | null
    const ok = typeof type === 'string' ? v?.['type'] === type : LINE_TYPES.has(String(v?.['type']))
    if (typeof v !== 'object' || v === null || v['flow_id'] !== id || !ok) {
      problems.push(`${file} byte ${r.offset}: the line there is no longer this flow's ${typeof type === 'string' ? type : 'sse'} record (file rotated or truncated since indexing)`)
      return undefined
    }
    return v
  }
  if (e.mem?.flow) flow = e.mem.flow
  else if (e.flowOffset !== undefined) {
    const [r] = await readLinesAt(paths.flows, [e.flowOffset])
    if (r) flow = accept(CAPTURE_FILES.flows, r, 'flow')
  } else if (e.memEvicted || e.summary.has_request) {
    for (const r of await scanForFlow(paths.flows, id, { from: scanFrom.flows })) {
      const v = accept(CAPTURE_FILES.flows, r, 'flow')
      if (v) flow = v
    }
  }
  if (e.mem?.end) end = e.mem.end
  else if (e.endOffset !== undefined) {
    const [r] = await readLinesAt(paths.flowEnds, [e.endOffset])
    if (r) end = accept(CAPTURE_FILES.flowEnds, r, 'flow_end')
  }
  if (e.lineOffsets.length > 0) {
    const got = await readSseAt(paths, id, e.lineOffsets)
    lines.push(...got.lines)
    problems.push(...got.problems)
  }
  if (e.offsetsLost && e.lineOffsets.length === 0 && !e.mem) {
    problems.push('the capture file was rotated or truncated after this flow was indexed: its events are no longer on disk')
  }
  if (e.mem) lines.push(...e.mem.lines)
  else if (e.memEvicted) {
    for (const r of await scanForFlow(paths.lines, id, { from: scanFrom.lines })) {
      const v = accept(CAPTURE_FILES.lines, r, LINE_TYPES)
      const l = v && toSse(v)
      if (l) lines.push(l)
    }
  }
  // Merge sources by seq, dropping duplicates (history and in-process stream may overlap).
  const seen = new Set<number>()
  const out: SseLike[] = []
  for (const l of lines) {
    if (l.seq !== undefined) {
      if (seen.has(l.seq)) continue
      seen.add(l.seq)
    }
    out.push(l)
  }
  if (out.every((l) => l.seq !== undefined)) out.sort((a, b) => (a.seq as number) - (b.seq as number))
  return { ...(flow !== undefined ? { flow } : {}), ...(end !== undefined ? { end } : {}), lines: out, problems }
}

/** Reads `sse` and `client_frame` records of one flow at the given offsets of sse_lines.jsonl (a page of the Events tab). */
export async function readSseAt(paths: CapturePaths, flowId: string, offsets: readonly number[]): Promise<{ lines: SseLike[]; problems: string[] }> {
  const lines: SseLike[] = []
  const problems: string[] = []
  for (const r of await readLinesAt(paths.lines, offsets)) {
    if (r.error !== undefined) {
      problems.push(`${CAPTURE_FILES.lines}: ${r.error}`)
      continue
    }
    const v = r.value as Record<string, unknown> | null
    if (typeof v !== 'object' || v === null || v['flow_id'] !== flowId || !LINE_TYPES.has(String(v['type']))) {
      problems.push(`${CAPTURE_FILES.lines} byte ${r.offset}: the line there is no longer this flow's sse record (file rotated or truncated since indexing)`)
      continue
    }
    const l = toSse(v)
    if (l) lines.push(l)
  }
  return { lines, problems }
}

/**
 * Resolves a request body that was stored apart (`{"$ref": "sse_logs/…"}`), refusing any path
 * outside the capture directory. Returns the parsed JSON, or the text when it is not JSON.
 */
export async function resolveBody(paths: CapturePaths, body: unknown, maxBytes: number): Promise<{ body: unknown; error?: string; truncated?: boolean }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { body }
  const ref = (body as Record<string, unknown>)['$ref']
  if (typeof ref !== 'string' || Object.keys(body).length > 3) return { body }
  const target = resolve(paths.dir, ref)
  if (!target.startsWith(paths.dir + sep)) return { body: null, error: `refused $ref outside the capture directory: ${JSON.stringify(ref)}` }
  try {
    const st = await stat(target)
    if (st.size > maxBytes) {
      const fh = await open(target, 'r')
      try {
        const b = Buffer.alloc(maxBytes)
        const { bytesRead } = await fh.read(b, 0, maxBytes, 0)
        return { body: b.toString('utf8', 0, bytesRead), truncated: true, error: `body is ${st.size} bytes; showing the first ${maxBytes}` }
      } finally {
        await fh.close()
      }
    }
    const text = await readFile(target, 'utf8')
    try {
      return { body: JSON.parse(text) }
    } catch {
      return { body: text }
    }
  } catch (err) {
    return { body: null, error: `cannot read ${ref}: ${(err as Error).message}` }
  }
}

/** Offset of the start of the last complete line (where history ends), -1 for an empty or missing file. */
export async function lastLineStart(path: string): Promise<{ size: number; last: number }> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch {
    return { size: 0, last: -1 }
  }
  try {
    const size = (await fh.stat()).size
    let end = size
    // Ignore a half-written final line: history ends at the last newline.
    const block = Buffer.allocUnsafe(64 * 1024)
    let lastNl = -1
    let prevNl = -1
    while (end > 0) {
      const start = Math.max(0, end - block.length)
      const { bytesRead } = await fh.read(block, 0, end - start, start)
      const b = block.subarray(0, bytesRead)
      let i = b.length
      while (i > 0) {
        const nl = b.lastIndexOf(0x0a, i - 1)
        if (nl === -1) break
        if (lastNl === -1) lastNl = start + nl
        else {
          prevNl = start + nl
          break
        }
        i = nl
      }
      if (prevNl !== -1) break
      end = start
    }
    if (lastNl === -1) return { size, last: -1 }
    return { size, last: prevNl + 1 }
  } finally {
    await fh.close()
  }
}
