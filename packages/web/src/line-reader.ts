import { open, type FileHandle } from 'node:fs/promises'
import { WebError } from './errors.js'

/** Offsets closer than this are read in one go (one syscall instead of many). */
const GAP_BYTES = 256 * 1024
const STEP_BYTES = 64 * 1024

/** A line read back from a file: its byte offset and its parsed JSON (or the parse error). */
export interface ReadLine {
  offset: number
  value?: unknown
  error?: string
}

/**
 * Reads the JSON lines starting at the given byte offsets (as reported by jsonl-io's
 * readers/`follow`), coalescing nearby offsets into one read. Results come back in the order of
 * `offsets`. A line longer than `maxLineBytes` or not valid JSON is returned with `error`, so one
 * bad line never hides the others.
 */
export async function readLinesAt(path: string, offsets: readonly number[], maxLineBytes = 16 * 1024 * 1024): Promise<ReadLine[]> {
  if (offsets.length === 0) return []
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw new WebError('READ_FAILED', `cannot open ${path}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const size = (await fh.stat()).size
    const order = offsets.map((o, i) => [o, i] as const).sort((a, b) => a[0] - b[0])
    const out: ReadLine[] = new Array(offsets.length)
    let i = 0
    while (i < order.length) {
      // One cluster: offsets within GAP_BYTES of each other.
      let j = i
      while (j + 1 < order.length && (order[j + 1] as readonly [number, number])[0] - (order[j] as readonly [number, number])[0] <= GAP_BYTES) j++
      const start = (order[i] as readonly [number, number])[0]
      const lastStart = (order[j] as readonly [number, number])[0]
      const buf = await readThroughNewline(fh, start, lastStart, size, maxLineBytes)
      for (let k = i; k <= j; k++) {
        const [off, idx] = order[k] as readonly [number, number]
        out[idx] = parseLineAt(buf, off - start, off, maxLineBytes)
      }
      i = j + 1
    }
    return out
  } finally {
    await fh.close()
  }
}

/** Reads [start, end of the line that starts at lastStart]. */
async function readThroughNewline(fh: FileHandle, start: number, lastStart: number, size: number, maxLineBytes: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let pos = start
  let total = 0
  let want = Math.min(size, lastStart + STEP_BYTES) - start
  for (;;) {
    if (want <= 0) break
    const b = Buffer.allocUnsafe(want)
    const { bytesRead } = await fh.read(b, 0, want, pos)
    if (bytesRead === 0) break
    const got = b.subarray(0, bytesRead)
    parts.push(got)
    total += bytesRead
    pos += bytesRead
    // Done once the line that starts at lastStart has its newline.
    if (pos > lastStart) {
      const from = Math.max(0, lastStart - (pos - bytesRead))
      if (got.indexOf(0x0a, from) !== -1) break
    }
    if (pos - lastStart > maxLineBytes || pos >= size) break
    want = Math.min(STEP_BYTES * 4, size - pos)
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total)
}

function parseLineAt(buf: Buffer, rel: number, offset: number, maxLineBytes: number): ReadLine {
  if (rel < 0 || rel >= buf.length) return { offset, error: `byte ${offset}: past the end of the file (was it truncated or rotated?)` }
  let end = buf.indexOf(0x0a, rel)
  if (end === -1) end = buf.length
  if (end - rel > maxLineBytes) return { offset, error: `byte ${offset}: line longer than ${maxLineBytes} bytes` }
  let text = buf.toString('utf8', rel, end)
  if (text.endsWith('\r')) text = text.slice(0, -1)
  try {
    return { offset, value: JSON.parse(text) }
  } catch (err) {
    return { offset, error: `byte ${offset}: ${(err as Error).message}` }
  }
}

/**
 * Finds the lines of one flow by scanning a file from `from` (the fallback when the index holds
 * no offsets for it). Only lines containing `"flow_id":"<id>"` are parsed. Stops after
 * `maxBytes` scanned.
 */
export async function scanForFlow(
  path: string,
  flowId: string,
  opts: { from?: number; maxBytes?: number; maxLineBytes?: number } = {},
): Promise<ReadLine[]> {
  const needle = Buffer.from(`"flow_id":${JSON.stringify(flowId)}`)
  const maxBytes = opts.maxBytes ?? 512 * 1024 * 1024
  const maxLineBytes = opts.maxLineBytes ?? 16 * 1024 * 1024
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new WebError('READ_FAILED', `cannot open ${path}: ${(err as Error).message}`, { cause: err })
  }
  const out: ReadLine[] = []
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024)
    let pos = opts.from ?? 0
    let carry: Buffer | undefined
    let carryStart = pos
    let scanned = 0
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos)
      if (bytesRead === 0) break
      const fresh = chunk.subarray(0, bytesRead)
      const data: Buffer = carry ? Buffer.concat([carry, fresh]) : Buffer.from(fresh)
      const dataStart = carry ? carryStart : pos
      pos += bytesRead
      scanned += bytesRead
      const lastNl = data.lastIndexOf(0x0a)
      const complete = lastNl === -1 ? 0 : lastNl + 1
      let hit = data.indexOf(needle, 0)
      while (hit !== -1 && hit < complete) {
        const ls = data.lastIndexOf(0x0a, hit) + 1
        const le = data.indexOf(0x0a, hit)
        out.push(parseLineAt(data, ls, dataStart + ls, maxLineBytes))
        hit = data.indexOf(needle, le + 1)
      }
      carry = complete < data.length ? data.subarray(complete) : undefined
      carryStart = dataStart + complete
      if (carry && carry.length > maxLineBytes) carry = undefined // a runaway line: skip it
      if (scanned >= maxBytes) break
    }
  } finally {
    await fh.close()
  }
  return out
}

/** Result of {@link searchFlows}. */
export interface SearchResult {
  flowIds: string[]
  scannedBytes: number
  /** Stopped early: `limit` flows found or `maxBytes` scanned. */
  truncated: boolean
}

const FLOW_ID_KEY = '"flow_id":"'

/**
 * Finds the flows whose records contain `query` anywhere (prompts, tool results, streamed text,
 * tool arguments) by scanning the raw JSONL bytes, ignoring the case of ASCII letters: the query
 * is looked for as written, JSON-escaped once (request bodies) and twice (event data inside
 * `data` strings), with non-ASCII also as `\uXXXX`. Text split across stream deltas is not found
 * as one piece.
 */
export async function searchFlows(
  paths: readonly string[],
  query: string,
  opts: { limit?: number; maxBytes?: number; signal?: AbortSignal } = {},
): Promise<SearchResult> {
  const limit = opts.limit ?? 1000
  const maxBytes = opts.maxBytes ?? 2 * 1024 * 1024 * 1024
  const once = JSON.stringify(query).slice(1, -1)
  const twice = JSON.stringify(once).slice(1, -1)
  // Providers that escape non-ASCII (`\u00e9`) in their JSON.
  const asciiOnce = once.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  const asciiTwice = JSON.stringify(asciiOnce).slice(1, -1)
  // latin1 keeps one char per byte (and toLowerCase keeps the length), so positions in the
  // lowered text are positions in the raw text, and UTF-8 needles match byte by byte. The same
  // byte-wise lowering is applied to the needles: ASCII letters match in any case, other
  // characters as typed.
  const needles = [...new Set([query, once, twice, asciiOnce, asciiTwice])].map((n) => Buffer.from(n, 'utf8').toString('latin1').toLowerCase())
  const found = new Set<string>()
  let scanned = 0
  let truncated = false
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024)
  outer: for (const path of paths) {
    let fh: FileHandle
    try {
      fh = await open(path, 'r')
    } catch {
      continue
    }
    try {
      let pos = 0
      let carry = ''
      for (;;) {
        if (opts.signal?.aborted) break outer
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos)
        if (bytesRead === 0) break
        pos += bytesRead
        scanned += bytesRead
        const raw = carry + chunk.toString('latin1', 0, bytesRead)
        const low = raw.toLowerCase()
        const lastNl = low.lastIndexOf('\n')
        const upto = lastNl === -1 ? 0 : lastNl + 1
        for (const n of needles) {
          let at = low.indexOf(n)
          while (at !== -1 && at < upto) {
            const ls = low.lastIndexOf('\n', at) + 1
            const le = low.indexOf('\n', at)
            const k = raw.indexOf(FLOW_ID_KEY, ls)
            if (k !== -1 && k < le) {
              const start = k + FLOW_ID_KEY.length
              const end = raw.indexOf('"', start)
              if (end !== -1 && end < le) found.add(Buffer.from(raw.slice(start, end), 'latin1').toString('utf8'))
            }
            if (found.size >= limit) {
              truncated = true
              break outer
            }
            at = low.indexOf(n, le + 1)
          }
        }
        carry = raw.slice(upto)
        if (carry.length > 16 * 1024 * 1024) carry = '' // a runaway line: skip it
        if (scanned >= maxBytes) {
          truncated = true
          break outer
        }
      }
    } finally {
      await fh.close()
    }
  }
  return { flowIds: [...found], scannedBytes: scanned, truncated }
}
