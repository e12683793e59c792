import * as zlib from 'node:zlib'

/** Parses a request body for the capture: decompressed, JSON when it is JSON, else text. */
export function parseRequestBody(buf: Buffer, encoding: string | undefined, contentType: string | undefined): { body?: unknown; note?: string } {
  if (buf.length === 0) return {}
  let plain = buf
  const enc = (encoding ?? '').trim().toLowerCase()
  try {
    if (enc === 'gzip' || enc === 'x-gzip') plain = zlib.gunzipSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    else if (enc === 'br') plain = zlib.brotliDecompressSync(buf)
    else if (enc === 'deflate') plain = zlib.inflateSync(buf)
    else if (enc === 'zstd') {
      const z = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync
      if (!z) return { note: 'encoding_unsupported:zstd' }
      plain = z(buf)
    } else if (enc !== '' && enc !== 'identity') return { note: `encoding_unsupported:${enc}` }
  } catch (err) {
    return { note: `decode_failed:${(err as Error).message}` }
  }
  const text = plain.toString('utf8')
  const looksJson = /json/i.test(contentType ?? '') || /^\s*[[{]/.test(text)
  if (looksJson) {
    try {
      return { body: JSON.parse(text) as unknown }
    } catch {
      return { body: text, note: 'request body is not valid JSON; kept as text' }
    }
  }
  if (text.includes('\uFFFD') && /[\0-\x08\x0e-\x1f]/.test(text)) return { note: `binary request body (${buf.length} bytes) not inlined` }
  return { body: text }
}
