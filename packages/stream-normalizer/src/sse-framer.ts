import { Buffer, isAscii } from 'node:buffer'
import { createParser, type EventSourceParser, type ParseError } from 'eventsource-parser'
import { NormalizerError, excerptOf } from './errors.js'

/** Default cap of one SSE event (or one unterminated line), in characters of decoded text. */
export const DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024

/** Options of {@link createSseFramer}. */
export interface SseFramerOptions {
  /**
   * One dispatched SSE event. `seq` counts dispatched events from 0 (oversized events count too).
   * `truncated` is true for an event the byte stream ended inside (no blank line after it);
   * `id` is the event's `id` field when it had one.
   */
  onEvent(seq: number, event: string | undefined, data: string, truncated: boolean, id?: string): void
  /** An event that was skipped because it exceeded `maxEventBytes` (it still takes a `seq`). */
  onOversized?(seq: number): void
  /** Malformed input: invalid UTF-8, unknown fields, invalid `retry`, oversized and truncated events. */
  onError?(e: NormalizerError): void
  /** A comment line (`: ping` heartbeats), without the colon and the space after it. */
  onComment?(comment: string): void
  /** A valid `retry` field, in milliseconds. */
  onRetry?(ms: number): void
  /**
   * Cap of one event's data and of one unterminated line, in characters of decoded text.
   * @defaultValue 32 MiB
   */
  maxEventBytes?: number
  /** Flow id put on reported errors. */
  flow_id?: string
}

/** A streaming SSE framer: bytes or text in, dispatched events out. */
export interface SseFramer {
  /** Feeds raw bytes (decoded as a UTF-8 stream) or already-decoded text. */
  feed(chunk: Uint8Array | string): void
  /** Ends the stream: an event left without its blank line is dispatched flagged `truncated`. */
  end(): void
  /** Forgets all state, for a new stream. */
  reset(): void
  /** Bytes fed so far (UTF-8 length for text chunks). */
  readonly bytes: number
  /** Events dispatched so far (the next event's `seq`). */
  readonly events: number
}

/** The object createSseFramer returns: a class, so the counters are cheap prototype getters. */
class Framer implements SseFramer {
  constructor(
    readonly feed: (chunk: Uint8Array | string) => void,
    readonly end: () => void,
    readonly reset: () => void,
    private readonly byteCount: () => number,
    private readonly eventCount: () => number,
  ) {}

  get bytes(): number {
    return this.byteCount()
  }

  get events(): number {
    return this.eventCount()
  }
}

const SKIP_MID = 0
const SKIP_AFTER_CR = 1
const SKIP_LINE_START = 2

/** Index of the first byte that starts an invalid UTF-8 sequence, or -1. Incomplete tails are valid. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0
  // Continuation bytes at the start finish a character begun in the previous chunk.
  while (i < 3 && i < b.length && ((b[i] as number) & 0xc0) === 0x80) i++
  const n = b.length
  while (i < n) {
    const c = b[i] as number
    if (c < 0x80) {
      i++
      continue
    }
    let need: number
    let min: number
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1
      min = 0x80
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2
      min = 0x800
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3
      min = 0x10000
    } else return i
    let cp = c & (0x3f >> need)
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return -1
      const d = b[i + k] as number
      if ((d & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (d & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += need + 1
  }
  return -1
}

function countReplacement(s: string): number {
  let n = 0
  let i = s.indexOf('\ufffd')
  while (i !== -1) {
    n++
    i = s.indexOf('\ufffd', i + 1)
  }
  return n
}

/** EF BF BD sequences (an encoded U+FFFD) ending in `b`, counting ones begun in the previous chunk's last two bytes. */
function countEncodedReplacement(b: Uint8Array, p1: number, p2: number): number {
  let n = 0
  if (p1 === 0xef && p2 === 0xbf && b[0] === 0xbd) n++
  if (p2 === 0xef && b[0] === 0xbf && b[1] === 0xbd) n++
  for (let i = b.indexOf(0xef); i !== -1 && i + 2 < b.length; i = b.indexOf(0xef, i + 1)) {
    if (b[i + 1] === 0xbf && b[i + 2] === 0xbd) n++
  }
  return n
}

/**
 * Creates a streaming SSE framer on top of `eventsource-parser` 3.x with a streaming UTF-8
 * decoder in front: multi-byte characters split across chunks, one leading BOM stripped,
 * CR / LF / CRLF line ends (a CRLF split across chunks counts once), multi-line `data`,
 * comments, `retry`, and a cap on buffered input. Invalid UTF-8 is replaced with U+FFFD and
 * reported with its byte offset; an event or line over the cap is reported and skipped up to
 * the next blank line, and framing resumes there.
 *
 * @example
 * ```ts
 * const framer = createSseFramer({ onEvent: (seq, event, data) => console.log(seq, event, data) })
 * framer.feed(new TextEncoder().encode('event: ping\ndata: {"type":"ping"}\n\n'))
 * framer.end()
 * ```
 */
export function createSseFramer(opts: SseFramerOptions): SseFramer {
  const maxEventBytes = opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES
  if (!(maxEventBytes > 0)) throw new RangeError(`maxEventBytes must be a positive number, was ${String(maxEventBytes)}`)
  const { onEvent, onOversized, onError, onComment, onRetry } = opts
  const flowCtx = opts.flow_id === undefined ? {} : { flow_id: opts.flow_id }

  // Created on the first byte chunk: text input never needs it.
  let decoder: InstanceType<typeof TextDecoder> | undefined
  let decoderPending = false
  /** The last three bytes fed (prev2 the latest), to know whether the decoder may hold a partial character. */
  let prev0 = -1
  let prev1 = -1
  let prev2 = -1
  let bytes = 0
  let chunkStart = 0
  let seq = 0
  let truncating = false
  let lastWasCR = false
  let sawText = false
  let bomChecked = false
  let overflowed = false
  /** -1 when not skipping; else the skip state machine's state. */
  let skip = -1
  /**
   * The body is one JSON document, not SSE (an HTTP error body such as
   * `{"type":"error","error":{…}}`): collected whole and dispatched as one event at the end.
   */
  let jsonBody: string[] | undefined
  let jsonBodyLength = 0

  const report = (code: NormalizerError['code'], message: string, extra: { seq?: number; excerpt?: string } = {}): void => {
    onError?.(new NormalizerError(code, message, { ...flowCtx, offset: chunkStart, ...extra }))
  }

  const oversized = (): void => {
    const s = seq++
    report('EVENT_TOO_LARGE', `SSE event ${s} exceeded maxEventBytes (${maxEventBytes} characters) near byte ${chunkStart}; it was skipped up to the next blank line. Raise maxEventBytes to keep such events.`, { seq: s })
    onOversized?.(s)
  }

  const parser: EventSourceParser = createParser({
    onEvent(ev) {
      if (ev.data.length > maxEventBytes) {
        oversized()
        return
      }
      const s = seq++
      if (truncating) {
        report('TRUNCATED_EVENT', `stream ended inside SSE event ${s} (no blank line after it); it was processed anyway`, { seq: s, excerpt: excerptOf(ev.data) })
      }
      onEvent(s, ev.event, ev.data, truncating, ev.id)
    },
    onError(err: ParseError) {
      if (err.type === 'max-buffer-size-exceeded') {
        overflowed = true
        return
      }
      const line = err.line ?? ''
      if (err.type === 'invalid-retry') {
        report('SSE_INVALID_RETRY', `invalid SSE retry value ${JSON.stringify(excerptOf(err.value ?? ''))}: expected ASCII digits; ignored`, { excerpt: excerptOf(line) })
      } else {
        report('SSE_UNKNOWN_FIELD', `unknown SSE field ${JSON.stringify(excerptOf(err.field ?? '', 40))} (line ${JSON.stringify(excerptOf(line, 60))}); ignored as the SSE spec says`, { excerpt: excerptOf(line) })
      }
    },
    onComment,
    onRetry,
    maxBufferSize: maxEventBytes,
  })

  /** Feeds text to the parser, handling overflow and the skip-to-blank-line mode. */
  function feedText(text: string): void {
    if (text.length === 0) return
    if (jsonBody !== undefined) {
      collectJson(text)
      return
    }
    if (!sawText) {
      if (!bomChecked) {
        bomChecked = true
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      const first = text.search(/\S/)
      if (first === -1) return
      sawText = true
      const c = text.charCodeAt(first)
      // No SSE line starts with "{" or "[": this is a JSON body (an error response, mostly).
      if (c === 0x7b || c === 0x5b) {
        jsonBody = []
        collectJson(text)
        return
      }
    }
    let from = 0
    if (skip !== -1) {
      from = skipTo(text)
      if (from === -1) {
        lastWasCR = text.charCodeAt(text.length - 1) === 13
        return
      }
    }
    const rest = from === 0 ? text : text.slice(from)
    if (rest.length === 0) return
    parser.feed(rest)
    lastWasCR = rest.charCodeAt(rest.length - 1) === 13
    if (overflowed) {
      overflowed = false
      parser.reset()
      oversized()
      // The parser discarded the event so far; drop input until the blank line that ends it.
      skip = lastWasCR ? SKIP_AFTER_CR : rest.charCodeAt(rest.length - 1) === 10 ? SKIP_LINE_START : SKIP_MID
    }
  }

  function collectJson(text: string): void {
    if (jsonBodyLength === -1) return
    jsonBodyLength += text.length
    if (jsonBodyLength > maxEventBytes) {
      jsonBodyLength = -1
      if (jsonBody !== undefined) jsonBody.length = 0
      oversized()
      return
    }
    jsonBody?.push(text)
  }

  /** Advances the skip state machine; returns where framing resumes, or -1 when still skipping. */
  function skipTo(text: string): number {
    let state = skip
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 10) {
        if (state === SKIP_LINE_START) {
          skip = -1
          return i + 1
        }
        state = SKIP_LINE_START
      } else if (c === 13) {
        if (state !== SKIP_MID) {
          skip = -1
          return i + 1
        }
        state = SKIP_AFTER_CR
      } else {
        state = SKIP_MID
      }
    }
    skip = state
    return -1
  }

  /** True when the bytes fed so far end inside a (valid prefix of a) multi-byte character. */
  function midCharacter(): boolean {
    const last = [prev0, prev1, prev2]
    for (let k = 1; k <= 3; k++) {
      const c = last[3 - k] as number
      if (c === -1 || c < 0x80) return false
      if ((c & 0xc0) === 0x80) continue
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2
      return need > k
    }
    return false
  }

  function remember(chunk: Uint8Array): void {
    const n = chunk.length
    if (n >= 3) {
      prev0 = chunk[n - 3] as number
      prev1 = chunk[n - 2] as number
      prev2 = chunk[n - 1] as number
    } else if (n === 2) {
      prev0 = prev2
      prev1 = chunk[0] as number
      prev2 = chunk[1] as number
    } else if (n === 1) {
      prev0 = prev1
      prev1 = prev2
      prev2 = chunk[0] as number
    }
  }

  function decode(chunk: Uint8Array, stream: boolean): string {
    // Fast path: an all-ASCII chunk while no character is pending decodes as Latin-1 (identical
    // for ASCII, and several times faster than the streaming TextDecoder).
    if (stream && chunk.length > 0 && !decoderPending && isAscii(chunk)) {
      remember(chunk)
      return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1')
    }
    // The BOM is stripped by feedText at the start of the stream, not by the decoder, whose
    // "start" would be wrong after fast-path chunks.
    decoder ??= new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    const text = decoder.decode(chunk, { stream })
    const p1 = prev1
    const p2 = prev2
    remember(chunk)
    decoderPending = stream && midCharacter()
    if (text.indexOf('\ufffd') !== -1 && countReplacement(text) > countEncodedReplacement(chunk, p1, p2)) {
      const at = firstInvalidUtf8(chunk)
      const offset = chunkStart + (at === -1 ? 0 : at)
      const around = at === -1 ? chunk.subarray(0, 16) : chunk.subarray(at, at + 8)
      onError?.(
        new NormalizerError('INVALID_UTF8', `invalid UTF-8 near byte ${offset} (bytes ${Array.from(around, (x) => x.toString(16).padStart(2, '0')).join(' ')}); replaced with U+FFFD and kept going`, {
          ...flowCtx,
          offset,
        }),
      )
    }
    return text
  }

  return new Framer(
    function feed(chunk) {
      chunkStart = bytes
      if (typeof chunk === 'string') {
        if (decoderPending) feedText(decode(new Uint8Array(0), false))
        bytes += Buffer.byteLength(chunk, 'utf8')
        feedText(chunk)
        return
      }
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`feed: expected a Uint8Array or string chunk, got ${typeof chunk}`)
      bytes += chunk.length
      feedText(decode(chunk, true))
    },
    function end() {
      chunkStart = bytes
      if (decoderPending) feedText(decode(new Uint8Array(0), false))
      if (jsonBody !== undefined) {
        if (jsonBodyLength !== -1) onEvent(seq++, undefined, jsonBody.join('').trim(), false)
        jsonBody = undefined
        jsonBodyLength = 0
      } else if (skip === -1) {
        // A lone CR at the very end is a complete line end: finish it first so it is not
        // mistaken for an unterminated event.
        if (lastWasCR) parser.feed('\n')
        truncating = true
        parser.feed('\n\n')
        truncating = false
      }
      // Counters stay readable after end(); reset() clears them.
      parser.reset()
      decoder = undefined
      lastWasCR = false
      overflowed = false
      skip = -1
    },
    resetState,
    () => bytes,
    () => seq,
  )

  function resetState(): void {
    parser.reset()
    decoder = undefined
    decoderPending = false
    prev0 = -1
    prev1 = -1
    prev2 = -1
    bytes = 0
    chunkStart = 0
    seq = 0
    truncating = false
    lastWasCR = false
    sawText = false
    bomChecked = false
    overflowed = false
    skip = -1
    jsonBody = undefined
    jsonBodyLength = 0
  }
}
