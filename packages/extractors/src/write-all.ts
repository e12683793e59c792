import { writeSync } from 'node:fs'

/** The bytes of a typed array, as a view (no copy): what writing the array writes. */
export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/** Writes all of `b` at `fd`'s position: one write may take fewer bytes than it is given. */
export function writeAll(fd: number, b: Uint8Array): void {
  for (let at = 0; at < b.length; ) at += writeSync(fd, b, at, b.length - at)
}
