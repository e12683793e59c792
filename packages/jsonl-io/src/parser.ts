import { JsonlError, excerptOf } from './errors.js'

/** Where a record was found. */
export interface LineInfo {
  /** 1-based line number. */
  line: number
  /** Byte offset of the start of the line. */
  offset: number
}

/** Options of {@link createJsonlParser}. */
export interface JsonlParserOptions {
  /** Called with each parsed line, in order. */
  onRecord(value: unknown, info: LineInfo): void
  /** Called for each malformed or over-long line; reading continues. Default: ignore. */
  onError?(error: JsonlError): void
  /**
   * Longest line accepted, in bytes. A longer line is reported (`LINE_TOO_LONG`) and skipped
   * without being buffered whole.
   * @defaultValue 16 MiB
   */
  maxLineBytes?: number
  /** File name used in error reports. */
  file?: string
  /** Line number and byte offset the input starts at (for resuming mid-file). */
  start?: { line: number; offset: number }
}

/** A push parser for JSON Lines. */
export interface JsonlParser {
  /** Feeds the next chunk: bytes (preferred) or a string. Chunks may split lines and characters anywhere. */
  feed(chunk: Uint8Array | string): void
  /** Ends the input: a final line without newline is parsed; a torn one is reported. */
  end(): void
  /** Drops any partial line and starts over at line 1, offset 0 (or the given position). */
  reset(start?: { line: number; offset: number }): void
  /** Position after the last complete line (where a resumed read would start). */
  readonly position: LineInfo
}

/** 16 MiB, DuckDB's default maximum object size. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024

const NL = 0x0a
const CR = 0x0d

/**
 * Creates a chunk-safe JSONL parser. It works on bytes so a UTF-8 character split across chunks
 * is decoded once its line is complete; CRLF and a leading BOM are accepted; blank lines are
 * skipped; a partial line is kept as fragments and joined once (never re-scanned).
 *
 * @example
 * ```ts
 * const p = createJsonlParser({ onRecord: (v, { line }) => console.log(line, v), onError: (e) => console.error(e.message) })
 * p.feed(Buffer.from('{"a":1}\n{"b"'))
 * p.feed(Buffer.from(':2}\n'))
 * p.end()
 * ```
 */
export function createJsonlParser(options: JsonlParserOptions): JsonlParser {
  const { onRecord, onError, file } = options
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
  if (!(maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be a positive number, was ${maxLineBytes}`)

  let line = options.start?.line ?? 0 // number of the last line started
  let offset = options.start?.offset ?? 0 // byte offset where the current (partial) line starts
  let fragments: Buffer[] = []
  let partialBytes = 0 // bytes of the current, not yet terminated line (kept or skipped)
  let skipping = false // inside an over-long line: drop bytes up to its newline
  let atStart = line === 0 && offset === 0

  const report = (code: 'MALFORMED_JSON' | 'LINE_TOO_LONG' | 'TRUNCATED_LINE', message: string, at: number, lineNo: number, text: string, cause?: unknown) => {
    onError?.(new JsonlError(code, message, { file, line: lineNo, offset: at, excerpt: excerptOf(text), cause }))
  }

  const emit = (buf: Buffer, start: number, end: number, lineNo: number, at: number, final: boolean) => {
    if (end > start && buf[end - 1] === CR) end--
    if (atStart) {
      atStart = false
      if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3
    }
    if (end <= start) return
    const text = buf.toString('utf8', start, end)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      if (text.trim() === '') return
      const msg = err instanceof Error ? err.message : String(err)
      if (final) report('TRUNCATED_LINE', `last line is incomplete JSON (${msg}); was the writer killed mid-line?`, at, lineNo, text, err)
      else report('MALFORMED_JSON', `malformed JSON line skipped: ${msg}`, at, lineNo, text, err)
      return
    }
    onRecord(value, { line: lineNo, offset: at })
  }

  const tooLong = (lineNo: number, at: number, head: Buffer) => {
    report('LINE_TOO_LONG', `line longer than ${maxLineBytes} bytes skipped (the line limit of the reader: the maxLineBytes option of @agenttap/jsonl-io's readers, not a command-line flag)`, at, lineNo, head.toString('utf8', 0, Math.min(head.length, 120)))
  }

  const feed = (chunk: Uint8Array | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let pos = 0
    const len = buf.length
    while (pos < len) {
      const nl = buf.indexOf(NL, pos)
      if (partialBytes === 0) line++
      if (nl === -1) {
        // No newline in the rest of the chunk: keep it as a fragment, or drop it once over-long.
        const n = len - pos
        if (!skipping) {
          if (partialBytes + n > maxLineBytes) {
            tooLong(line, offset, fragments[0] ?? buf.subarray(pos, pos + 120))
            fragments = []
            skipping = true
          } else {
            // Copy: the caller may reuse its buffer.
            fragments.push(Buffer.from(buf.subarray(pos)))
          }
        }
        partialBytes += n
        return
      }
      const lineBytes = partialBytes + (nl - pos)
      if (skipping) skipping = false
      else if (lineBytes > maxLineBytes) tooLong(line, offset, fragments[0] ?? buf.subarray(pos, pos + 120))
      else if (fragments.length > 0) {
        fragments.push(buf.subarray(pos, nl))
        const whole = Buffer.concat(fragments, lineBytes)
        emit(whole, 0, whole.length, line, offset, false)
      } else emit(buf, pos, nl, line, offset, false)
      // A new array only after a line that had fragments (not one per line).
      if (fragments.length > 0) fragments = []
      partialBytes = 0
      offset += lineBytes + 1
      pos = nl + 1
    }
  }

  const end = () => {
    if (partialBytes > 0 && !skipping) {
      const whole = Buffer.concat(fragments, partialBytes)
      emit(whole, 0, whole.length, line, offset, true)
    }
    offset += partialBytes
    fragments = []
    partialBytes = 0
    skipping = false
  }

  const reset = (start?: { line: number; offset: number }) => {
    fragments = []
    partialBytes = 0
    skipping = false
    line = start?.line ?? 0
    offset = start?.offset ?? 0
    atStart = line === 0 && offset === 0
  }

  return {
    feed,
    end,
    reset,
    get position() {
      return { line: partialBytes > 0 ? line - 1 : line, offset }
    },
  }
}
