import { readSync } from 'node:fs'

/** Reads `into.length` bytes of `fd` from byte `at`, or up to the file's end: how many it read. */
export function readAt(fd: number, into: Uint8Array, at: number): number {
  let got = 0
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, at + got)
    if (n === 0) break
    got += n
  }
  return got
}
