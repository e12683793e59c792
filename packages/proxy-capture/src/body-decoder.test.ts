import * as zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { canDecode, createBodyDecoder } from './body-decoder.js'

async function decode(enc: string, body: Buffer, chunk = 5): Promise<{ out: string; errors: string[]; supported: boolean }> {
  const parts: Buffer[] = []
  const errors: string[] = []
  const d = createBodyDecoder(enc, (c) => parts.push(c), (e) => errors.push(e.message))
  for (let i = 0; i < body.length; i += chunk) d.write(body.subarray(i, i + chunk))
  await d.end()
  return { out: Buffer.concat(parts).toString('utf8'), errors, supported: d.supported }
}

const TEXT = 'data: {"type":"ping"}\n\n'.repeat(50)

describe('createBodyDecoder', () => {
  it('decodes gzip, br, zlib deflate and raw deflate in small chunks', async () => {
    expect((await decode('gzip', zlib.gzipSync(TEXT))).out).toBe(TEXT)
    expect((await decode('x-gzip', zlib.gzipSync(TEXT))).out).toBe(TEXT)
    expect((await decode('br', zlib.brotliCompressSync(TEXT))).out).toBe(TEXT)
    expect((await decode('deflate', zlib.deflateSync(TEXT))).out).toBe(TEXT)
    expect((await decode('deflate', zlib.deflateRawSync(TEXT))).out).toBe(TEXT)
    expect((await decode('identity', Buffer.from(TEXT))).out).toBe(TEXT)
  })

  it('decodes as far as a truncated gzip stream goes', async () => {
    const gz = zlib.gzipSync(TEXT)
    const r = await decode('gzip', gz.subarray(0, gz.length - 12))
    expect(r.out.length).toBeGreaterThan(0)
    expect(TEXT.startsWith(r.out)).toBe(true)
  })

  it('reports corrupt input once and never throws', async () => {
    const r = await decode('gzip', Buffer.from('definitely not gzip at all'))
    expect(r.errors).toHaveLength(1)
  })

  it('marks encodings it cannot decode as unsupported', async () => {
    const r = await decode('compress', Buffer.from('xx'))
    expect(r.supported).toBe(false)
    expect(canDecode('compress')).toBe(false)
    expect(canDecode('zstd')).toBe(typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function')
  })
})
