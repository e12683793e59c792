import type { Writable } from 'node:stream'
import { drainedOrGone, outputGone, watchOutput } from './output-gone.js'

/** See {@link createJsonOutput}. */
export interface JsonOutput {
  /** One value as one NDJSON line. */
  write(value: unknown): void
  /** Writes what is batched; resolves once the destination has room again. */
  drain(): Promise<void>
}

/**
 * NDJSON to a stream, batched per event-loop turn (4096 lines at most per write). Lossless:
 * `drain()` waits for the destination, so a reader of a pipe (jq) gets every line.
 */
export function createJsonOutput(output: Writable, onError?: (err: unknown) => void): JsonOutput {
  watchOutput(output)
  let lines: string[] = []
  let scheduled = false
  let behind = false
  const flush = () => {
    scheduled = false
    if (lines.length === 0) return
    const s = lines.join('')
    lines = []
    if (!output.write(s) && !behind) {
      behind = true
      output.once('drain', () => {
        behind = false
      })
    }
  }
  const background = () => {
    try {
      flush()
    } catch (err) {
      lines = []
      onError?.(err)
    }
  }
  return {
    write(value) {
      lines.push(JSON.stringify(value) + '\n')
      if (lines.length >= 4096) flush()
      else if (!scheduled) {
        scheduled = true
        setImmediate(background)
      }
    },
    async drain() {
      flush()
      while (behind && !outputGone(output)) await drainedOrGone(output)
      if (outputGone(output)) {
        lines = []
        behind = false
      }
    },
  }
}
