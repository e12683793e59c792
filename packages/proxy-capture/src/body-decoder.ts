import * as zlib from 'node:zlib'
import type { Transform } from 'node:stream'

/** A decoder of a copy of a response body, for the capture only (the client gets the original bytes). */
export interface BodyDecoder {
  /** The encoding as sent (`identity` when none). */
  readonly encoding: string
  /** False when the encoding can't be decoded here (the capture keeps the raw bytes only). */
  readonly supported: boolean
  write(chunk: Buffer): void
  /** Resolves once every decoded byte has been delivered. Never rejects. */
  end(): Promise<void>
  /** Stops decoding (flow aborted). */
  destroy(): void
}

type ZstdFactory = (opts?: object) => Transform

function zstdFactory(): ZstdFactory | undefined {
  // Node ≥ 22.15 has zstd in zlib; Node 20 does not.
  const f = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress
  return typeof f === 'function' ? f : undefined
}

/** Whether this runtime can decode a `Content-Encoding` value. */
export function canDecode(encoding: string | undefined): boolean {
  const e = normalizeEncoding(encoding)
  if (e === 'identity' || e === 'gzip' || e === 'deflate' || e === 'br') return true
  if (e === 'zstd') return zstdFactory() !== undefined
  return false
}

function normalizeEncoding(encoding: string | undefined): string {
  const e = (encoding ?? '').trim().toLowerCase()
  if (e === '' || e === 'identity') return 'identity'
  if (e === 'x-gzip') return 'gzip'
  return e
}

/**
 * Creates a streaming decoder for `encoding` that hands decoded chunks to `onData` in order.
 * Truncated compressed streams are decoded as far as they go (sync flush), so a cut-off
 * response still yields every complete event. Decode errors go to `onError` once; decoding
 * stops, the pass-through is never affected.
 */
export function createBodyDecoder(
  encoding: string | undefined,
  onData: (chunk: Buffer) => void,
  onError: (err: Error) => void,
): BodyDecoder {
  const enc = normalizeEncoding(encoding)
  if (enc === 'identity') {
    return {
      encoding: enc,
      supported: true,
      write: onData,
      end: () => Promise.resolve(),
      destroy() {},
    }
  }
  let stream: Transform | undefined
  let firstDeflateByte = true
  const make = (): Transform | undefined => {
    switch (enc) {
      case 'gzip':
        return zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH })
      case 'br':
        return zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH })
      case 'zstd':
        return zstdFactory()?.()
      default:
        return undefined
    }
  }
  if (enc !== 'deflate') stream = make()
  if (enc !== 'deflate' && !stream) {
    return { encoding: enc, supported: false, write() {}, end: () => Promise.resolve(), destroy() {} }
  }
  let failed = false
  let ended: Promise<void> | undefined
  const wire = (s: Transform): void => {
    s.on('data', (c: Buffer) => {
      if (!failed) onData(c)
    })
    s.on('error', (err) => {
      if (failed) return
      failed = true
      onError(err)
    })
  }
  if (stream) wire(stream)
  return {
    encoding: enc,
    supported: true,
    write(chunk) {
      if (failed) return
      if (enc === 'deflate' && firstDeflateByte) {
        firstDeflateByte = false
        // "deflate" is meant to be zlib-wrapped, but servers send raw deflate too: a zlib
        // header has compression method 8 in the low nibble and a valid check sum.
        const b0 = chunk[0] ?? 0
        const b1 = chunk[1] ?? 0
        const zlibWrapped = (b0 & 0x0f) === 8 && ((b0 << 8) | b1) % 31 === 0
        stream = zlibWrapped
          ? zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH })
          : zlib.createInflateRaw({ finishFlush: zlib.constants.Z_SYNC_FLUSH })
        wire(stream)
      }
      stream?.write(chunk)
    },
    end() {
      if (ended) return ended
      const s = stream
      if (!s || failed) return (ended = Promise.resolve())
      ended = new Promise<void>((resolve) => {
        s.once('end', resolve)
        s.once('error', () => resolve())
        s.once('close', resolve)
        s.end()
      })
      return ended
    },
    destroy() {
      failed = true
      stream?.destroy()
    },
  }
}
