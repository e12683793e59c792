/**
 * Length- and checksum-framed records appended to an index file (the transcripts' usage summary
 * segments, the wire facts): `magic` (4 bytes) · u32 payload length · u32 checksum · payload. A
 * frame whose length runs past the file's end or whose checksum fails is torn (a crash in the
 * append): it and what follows are ignored, and the writer writes the file whole next time.
 */

/** FNV-1a over bytes: the check of a frame (a torn append fails it). */
export function checksum(b: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
  return h >>> 0
}

/** One frame around `payload`. */
export function frame(magic: string, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + payload.length)
  out.write(magic, 0, 'latin1')
  out.writeUInt32LE(payload.length, 4)
  out.writeUInt32LE(checksum(payload), 8)
  payload.copy(out, 12)
  return out
}

/**
 * The frame at `off` of `all`: its payload and where the next one starts; undefined when there is
 * none or it is torn (`check: false` skips the checksum, for a writer that only walks the frames).
 */
export function frameAt(all: Buffer, off: number, magic: string, check = true): { payload: Buffer; next: number } | undefined {
  if (off + 12 > all.length || all.toString('latin1', off, off + 4) !== magic) return undefined
  const len = all.readUInt32LE(off + 4)
  if (off + 12 + len > all.length) return undefined
  const payload = all.subarray(off + 12, off + 12 + len)
  if (check && checksum(payload) !== all.readUInt32LE(off + 8)) return undefined
  return { payload, next: off + 12 + len }
}
