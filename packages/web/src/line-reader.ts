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
