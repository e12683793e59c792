import { ProxyCaptureError } from './errors.js'

/** One dispatched SSE event, as framed from the wire. */
export interface FramedSseEvent {
  /** The `event:` field, absent when the server sent none. */
  event?: string
  /** The `data:` lines joined with `\n`. */
  data: string
  /** The `id:` field when present. */
  id?: string
  /** Set on an event that was still open when the stream ended (browsers would drop it). */
  truncated?: true
}

/** Options of {@link createSseFramer}. */
export interface SseFramerOptions {
  onEvent(e: FramedSseEvent): void
  /** Oversized events (the event is dropped, framing continues at the next blank line). */
  onError?(err: ProxyCaptureError): void
  /** Cap on one event's size in characters. @defaultValue 16 MiB */
  maxEventBytes?: number
}

/** A streaming SSE framer: `feed` bytes or text in any chunking, `end` at EOF. */
export interface SseFramer {
  feed(chunk: Uint8Array | string): void
  end(): void
  reset(): void
}

/**
 * Splits a Server-Sent Events byte stream into events following the WHATWG rules: streaming
 * UTF-8 decode, one leading BOM stripped, CR / LF / CRLF line ends (a CRLF split across chunks
 * counts once), `:` comments ignored, `data` lines joined with `\n`, events with no data not
 * dispatched. An event still open at {@link SseFramer.end} is dispatched flagged `truncated`,
 * because a capture must not lose what the server sent.
 *
 * @example
 * const f = createSseFramer({ onEvent: (e) => console.log(e.event, e.data) })
 * f.feed('event: ping\ndata: {}\n\n')
 */
export function createSseFramer(opts: SseFramerOptions): SseFramer {
  const max = opts.maxEventBytes ?? 16 * 1024 * 1024
  let decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false })
  let partial: string[] = []
  let partialLen = 0
  let lastWasCR = false
  let eventName: string | undefined
  let id: string | undefined
  let data: string[] = []
  let hasData = false
  let size = 0
  let overflowing = false
  let sawAnyField = false
  let atStart = true

  function resetEvent(): void {
    eventName = undefined
    id = undefined
    data = []
    hasData = false
    size = 0
    sawAnyField = false
  }

  function dispatch(truncated: boolean): void {
    if (overflowing) {
      overflowing = false
      resetEvent()
      return
    }
    if (hasData) {
      const e: FramedSseEvent = { data: data.join('\n') }
      if (eventName !== undefined && eventName !== '') e.event = eventName
      if (id !== undefined) e.id = id
      if (truncated) e.truncated = true
      opts.onEvent(e)
    }
    resetEvent()
  }

  function line(l: string): void {
    if (l === '') {
      dispatch(false)
      return
    }
    if (overflowing) return
    size += l.length
    if (size > max) {
      overflowing = true
      opts.onError?.(
        new ProxyCaptureError(
          'SSE_EVENT_TOO_LARGE',
          `SSE event larger than ${max} characters: dropped it and resumed at the next blank line (raise maxEventBytes to keep such events)`,
        ),
      )
      return
    }
    if (l.charCodeAt(0) === 58 /* : */) return
    sawAnyField = true
    const colon = l.indexOf(':')
    let field: string
    let value: string
    if (colon === -1) {
      field = l
      value = ''
    } else {
      field = l.slice(0, colon)
      value = l.charCodeAt(colon + 1) === 32 ? l.slice(colon + 2) : l.slice(colon + 1)
    }
    switch (field) {
      case 'data':
        data.push(value)
        hasData = true
        break
      case 'event':
        eventName = value
        break
      case 'id':
        if (!value.includes('\0')) id = value
        break
      default:
        break
    }
  }

  function text(s: string): void {
    if (atStart && s.length > 0) {
      atStart = false
      // TextDecoder strips the BOM from bytes; text fed directly may still carry it.
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1)
    }
    let start = 0
    const n = s.length
    if (lastWasCR && n > 0 && s.charCodeAt(0) === 10) start = 1
    lastWasCR = false
    for (let i = start; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      let l: string
      if (partialLen > 0) {
        partial.push(s.slice(start, i))
        l = partial.join('')
        partial = []
        partialLen = 0
      } else {
        l = s.slice(start, i)
      }
      line(l)
      if (c === 13) {
        if (i + 1 < n) {
          if (s.charCodeAt(i + 1) === 10) i++
        } else {
          lastWasCR = true
        }
      }
      start = i + 1
    }
    if (start < n) {
      const rest = s.slice(start)
      partialLen += rest.length
      if (partialLen > max && !overflowing) {
        // A line without end growing past the cap: report once, drop it, keep framing.
        partial = []
        partialLen = 0
        overflowing = true
        opts.onError?.(
          new ProxyCaptureError('SSE_EVENT_TOO_LARGE', `SSE line longer than ${max} characters without a line end: dropped it`),
        )
      } else if (!overflowing) {
        partial.push(rest)
      } else {
        partialLen = 0
      }
    }
  }

  return {
    feed(chunk) {
      text(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }))
    },
    end() {
      text(decoder.decode())
      if (partialLen > 0) {
        const l = partial.join('')
        partial = []
        partialLen = 0
        line(l)
      }
      if (hasData || sawAnyField) dispatch(true)
      overflowing = false
      lastWasCR = false
    },
    reset() {
      decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false })
      partial = []
      partialLen = 0
      lastWasCR = false
      overflowing = false
      atStart = true
      resetEvent()
    },
  }
}
