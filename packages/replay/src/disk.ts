/**
 * Reading a loaded capture's records back from disk by the byte ranges the index pass kept: the
 * events of a call when it is served, its request when a report needs it. Nothing of a response
 * is held in memory between requests.
 */
import { open } from 'node:fs/promises'
import { setImmediate as immediate } from 'node:timers/promises'
import type { ByteRange } from './types.js'

/** Reads byte ranges (of one or several files); one open per file, one read per range. */
export async function readRanges(ranges: readonly ByteRange[]): Promise<Buffer[]> {
  const out: Buffer[] = []
  let i = 0
  while (i < ranges.length) {
    const file = (ranges[i] as ByteRange).file
    const fh = await open(file, 'r')
    try {
      for (; i < ranges.length && (ranges[i] as ByteRange).file === file; i++) {
        const r = ranges[i] as ByteRange
        const buf = Buffer.allocUnsafe(r.end - r.start)
        let got = 0
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, r.start + got)
          if (bytesRead === 0) break
          got += bytesRead
        }
        out.push(got === buf.length ? buf : buf.subarray(0, got))
      }
    } finally {
      await fh.close()
    }
  }
  return out
}

/** Lines parsed between two turns of the event loop: a large response read while other responses stream must not hold their timers up. */
const LINES_PER_TURN = 2000

/**
 * The JSON records in byte ranges of JSONL files (each range holds whole lines); a line that no
 * longer parses (the file changed since it was indexed) goes to `onBad`.
 */
export async function readRecords(ranges: readonly ByteRange[], onBad: (range: ByteRange, err: Error) => void): Promise<Record<string, unknown>[]> {
  const bufs = await readRanges(ranges)
  const out: Record<string, unknown>[] = []
  let parsed = 0
  for (let k = 0; k < bufs.length; k++) {
    const buf = bufs[k] as Buffer
    let s = 0
    while (s < buf.length) {
      let e = buf.indexOf(10, s)
      if (e === -1) e = buf.length
      if (e > s) {
        const text = buf.toString('utf8', s, e).trim()
        if (text !== '') {
          try {
            const v: unknown = JSON.parse(text)
            if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push(v as Record<string, unknown>)
          } catch (err) {
            onBad(ranges[k] as ByteRange, err as Error)
          }
        }
      }
      s = e + 1
      if (++parsed % LINES_PER_TURN === 0) await immediate()
    }
  }
  return out
}
