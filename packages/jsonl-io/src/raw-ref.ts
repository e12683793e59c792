import { open } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import { JsonlError } from './errors.js'

/** A body reference of the capture, resolved: the file, and the byte range when it is one. */
export interface RawRef {
  /** Absolute path of the file holding the body. */
  path: string
  /** First byte of the body in the file (0 for a file of its own). */
  start: number
  /** Last byte (inclusive); `undefined` = to the end of the file. */
  end: number | undefined
}

/**
 * Resolves a body ref of the capture (`raw`, `request_raw`, `client_frames`, or a
 * `{"$ref": …}` body): `sse_logs/<name>` (a file of its own) or
 * `sse_logs/bodies-<start>-<pid>.log#bytes=<first>-<last>` (a range of a shared body log,
 * inclusive, like an HTTP Range). Refuses any path outside `captureDir`.
 *
 * @example
 * parseRawRef('/home/me/centralized-logs/all-mitm-sse', 'sse_logs/bodies-20261125T190000Z-42.log#bytes=51-1074')
 * // → { path: '/home/me/centralized-logs/all-mitm-sse/sse_logs/bodies-….log', start: 51, end: 1074 }
 */
export function parseRawRef(captureDir: string, ref: string): RawRef {
  const hash = ref.indexOf('#')
  const file = hash === -1 ? ref : ref.slice(0, hash)
  const dir = resolve(captureDir)
  const path = resolve(dir, file)
  const rel = relative(dir, path)
  if (file === '' || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new JsonlError('INVALID_REF', `refusing body ref outside the capture directory ${dir}: ${JSON.stringify(ref)}`)
  }
  if (hash === -1) return { path, start: 0, end: undefined }
  const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(ref.slice(hash + 1))
  if (!m || Number(m[2]) < Number(m[1])) throw new JsonlError('INVALID_REF', `body ref with an invalid range (expected #bytes=<first>-<last>): ${JSON.stringify(ref)}`)
  return { path, start: Number(m[1]), end: Number(m[2]) }
}

/**
 * Reads the body a ref points to (see {@link parseRawRef}), at most `maxBytes` of it.
 * A range past the end of its file (the proxy was killed before writing it) is an error.
 *
 * @example
 * const body = await readRawRef(captureDir, flowEnd.raw)
 * process.stdout.write(body)
 */
export async function readRawRef(captureDir: string, ref: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
  const r = parseRawRef(captureDir, ref)
  const fh = await open(r.path, 'r')
  try {
    const size = (await fh.stat()).size
    const end = r.end ?? size - 1
    if (end >= size) throw new JsonlError('BODY_MISSING', `body ${JSON.stringify(ref)} ends at byte ${end} but the file has ${size} bytes: it was never completely written (proxy stopped first?)`, { file: r.path, offset: r.start })
    const want = Math.min(end - r.start + 1, opts.maxBytes ?? Number.MAX_SAFE_INTEGER)
    const buf = Buffer.alloc(Math.max(0, want))
    let got = 0
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, r.start + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return got === want ? buf : buf.subarray(0, got)
  } finally {
    await fh.close()
  }
}
