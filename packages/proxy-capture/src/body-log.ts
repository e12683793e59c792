import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CAPTURE_FILES } from '@agenttap/jsonl-io'

/** A body log is closed and a new one started past this size. */
const BODY_LOG_BYTES = 1024 * 1024 * 1024

const NEWLINE = Buffer.from('\n')

/** This process's body log: small bodies appended one after the other, each found by a byte range. */
export interface BodyLog {
  /** Queues a body under a header line naming it; returns its ref (`sse_logs/bodies-….log#bytes=first-last`). */
  append(name: string, data: Buffer): string
  /** Writes what is queued (one synchronous append). */
  pump(): void
  /** Writes what is queued and closes the current log. */
  close(): void
  /** Bodies that could not be written (their refs point past the end of their log: `BODY_MISSING`). */
  readonly lostBodies: number
}

interface LogFile {
  name: string
  fd: number | undefined
  /** Bytes assigned to bodies so far (refs are computed from it). */
  size: number
  /** Bytes known to be in the file. */
  written: number
  queue: Buffer[]
  queued: number
}

/**
 * Creates the body log of this process: `sse_logs/bodies-<start>-<pid>.log`, appended with
 * whole bodies only, each after a line `=== agenttap <name> <n> bytes ===`. A file per body
 * would cost a file creation each (50-200 µs of kernel time here, two per flow); an append
 * costs a few µs. Offsets are assigned at `append`, in order, so a ref is known the moment a
 * body ends; the appends are synchronous, so the file is in that order.
 *
 * A failed append (disk full) is taken out of the file again and the log is retired: the bodies
 * it carried are lost (counted; their refs point past the end of the file, which readers report
 * as `BODY_MISSING`), and later bodies go to a new log whose offsets are right.
 */
export function createBodyLog(rawDir: string, hooks: { onError(err: Error): void; onLost(bodies: number, err: Error): void }): BodyLog {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  let seq = 0
  let log: LogFile | undefined
  let lostBodies = 0

  function current(): LogFile {
    if (log && log.size < BODY_LOG_BYTES) return log
    if (log) retire(log)
    const name = `bodies-${stamp}-${process.pid}${seq++ === 0 ? '' : `-${seq}`}.log`
    let fd: number | undefined
    try {
      fd = openSync(join(rawDir, name), 'a', 0o600)
    } catch (err) {
      hooks.onError(err as Error)
    }
    log = { name, fd, size: 0, written: 0, queue: [], queued: 0 }
    return log
  }

  /** Writes a log's queue in one synchronous append (no thread-pool round trip per batch). */
  function pumpFile(l: LogFile): void {
    if (l.queue.length === 0) return
    const bodies = l.queued
    const buf = l.queue.length === 1 ? (l.queue[0] as Buffer) : Buffer.concat(l.queue)
    l.queue = []
    l.queued = 0
    if (l.fd === undefined) {
      lostBodies += bodies
      return
    }
    let off = 0
    try {
      while (off < buf.length) off += writeSync(l.fd, buf, off, buf.length - off)
      l.written += buf.length
    } catch (err) {
      lostBodies += bodies
      // Take the part that made it out again (this file is this process's alone), and start a
      // new log: the refs already given out for this file assume bytes that are not there.
      if (off > 0) {
        try {
          ftruncateSync(l.fd, l.written)
        } catch {
          // The refs of the lost bodies still point at their ranges; the header lines tell.
        }
      }
      hooks.onLost(bodies, new Error(`could not append ${bodies} bod${bodies === 1 ? 'y' : 'ies'} to ${l.name}: ${(err as Error).message}`))
      l.size = BODY_LOG_BYTES
    }
  }

  function retire(l: LogFile): void {
    pumpFile(l)
    if (l.fd === undefined) return
    try {
      closeSync(l.fd)
    } catch (err) {
      hooks.onError(err as Error)
    }
    l.fd = undefined
  }

  return {
    append(name, data) {
      const l = current()
      const head = Buffer.from(`=== agenttap ${name} ${data.length} bytes ===\n`)
      const first = l.size + head.length
      l.queue.push(head, data, NEWLINE)
      l.queued++
      l.size += head.length + data.length + 1
      return `${CAPTURE_FILES.rawDir}/${l.name}#bytes=${first}-${first + data.length - 1}`
    },
    pump() {
      if (log) pumpFile(log)
    },
    close() {
      if (log) retire(log)
    },
    get lostBodies() {
      return lostBodies
    },
  }
}
