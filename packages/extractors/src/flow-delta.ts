/**
 * Flow records decoded in part. Agents resend their whole conversation with every request, so
 * most of a flow record's bytes (its `request_body`'s `messages`, or Responses `input`) are,
 * byte for byte, in the conversation's last flow record. Decoding them into a string again and
 * parsing them again was most of an index build's work on a real capture (every ~300 KB line a
 * fresh string: V8 gives each string over 128 KiB pages of its own).
 *
 * {@link createFlowDelta} keeps, per conversation, the last flow record's history array: its
 * bytes, where each item ends, and the items as parsed. A later record whose array starts with
 * the same bytes up to an item's end is decoded without them: the rest of the line is parsed and
 * the kept items are put back in front. Only what is certain is taken: the scan of the line's
 * structure must find one `request_body` and in it one history key (keys written plainly, no
 * escapes), and the record is then the one `JSON.parse` of the whole line gives (the leading
 * items are the very objects of the earlier record: nothing downstream changes a record).
 * Anything else (a short line, no earlier record, an unexpected shape, a parse error) is left to
 * the caller's `JSON.parse`, which reports errors as usual.
 *
 * The scan only finds boundaries; it does not validate (unlike transcripts' `json-pick.ts`, which
 * picks values out of lines it never parses): every byte it does not take from the earlier record
 * goes through `JSON.parse`, and the bytes it takes are ones that parsed before. Strings are
 * skipped with `Buffer.indexOf` from quote to quote, the bulk of a request's bytes.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_OBJ = 0x7b
const CLOSE_OBJ = 0x7d
const OPEN_ARR = 0x5b
const CLOSE_ARR = 0x5d

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

function skipWs(buf: Buffer, i: number, end: number): number {
  while (i < end && isWs(buf[i])) i++
  return i
}

/** The index after the string starting at `i` (a quote), or -1. */
function skipString(buf: Buffer, i: number, end: number): number {
  let q = i + 1
  for (;;) {
    q = buf.indexOf(QUOTE, q)
    if (q === -1 || q >= end) return -1
    // Escaped when an odd number of backslashes precedes it.
    let b = q - 1
    while (buf[b] === BACKSLASH) b--
    if ((q - 1 - b) % 2 === 0) return q + 1
    q++
  }
}

/** The index after the JSON value starting at `i`, or -1 (not a value this scan knows). */
function skipValue(buf: Buffer, i: number, end: number): number {
  const c = buf[i]
  if (c === QUOTE) return skipString(buf, i, end)
  if (c === OPEN_OBJ || c === OPEN_ARR) {
    let depth = 0
    let j = i
    while (j < end) {
      const d = buf[j]!
      if (d === QUOTE) {
        j = skipString(buf, j, end)
        if (j === -1) return -1
        continue
      }
      if (d === OPEN_OBJ || d === OPEN_ARR) depth++
      else if (d === CLOSE_OBJ || d === CLOSE_ARR) {
        depth--
        if (depth === 0) return j + 1
      }
      j++
    }
    return -1
  }
  // A number or a literal: up to the next delimiter.
  let j = i
  while (j < end) {
    const d = buf[j]!
    if (d === COMMA || d === CLOSE_OBJ || d === CLOSE_ARR || isWs(d)) break
    j++
  }
  return j > i ? j : -1
}

/** A key at `i` (a quote): [start, end) of its bytes without the quotes, or undefined when it has an escape. */
function keyAt(buf: Buffer, i: number, end: number): [number, number, number] | undefined {
  if (buf[i] !== QUOTE) return undefined
  const after = skipString(buf, i, end)
  if (after === -1) return undefined
  // (A key written with an escape could spell a key this scan looks for: not taken.)
  for (let j = i + 1; j < after - 1; j++) if (buf[j] === BACKSLASH) return undefined
  return [i + 1, after - 1, after]
}

/**
 * The member of an object at `i` (after its `{` when `first`, else after the last member's
 * value): [key start, key end, value start], or undefined when none is there as expected.
 */
function member(buf: Buffer, i: number, end: number, first: boolean): [number, number, number] | undefined {
  i = skipWs(buf, i, end)
  if (!first) {
    if (buf[i] !== COMMA) return undefined
    i = skipWs(buf, i + 1, end)
  }
  const k = keyAt(buf, i, end)
  if (k === undefined) return undefined
  i = skipWs(buf, k[2], end)
  if (buf[i] !== COLON) return undefined
  return [k[0], k[1], skipWs(buf, i + 1, end)]
}

const eq = (buf: Buffer, s: number, e: number, key: Buffer): boolean => e - s === key.length && buf.compare(key, 0, key.length, s, e) === 0

const REQUEST_BODY = Buffer.from('request_body')
const SESSION_ID = Buffer.from('session_id')
const SUBAGENT = Buffer.from('subagent')
const MESSAGES = Buffer.from('messages')
const INPUT = Buffer.from('input')

/** One conversation's last history array. */
interface State {
  /** The session, the subagent, and which key of the body holds the history (`messages`, `input`). */
  key: string
  /** The array's bytes from its `[` (up to its `]`; the buffer may be longer). */
  bytes: Buffer
  /** Where each item ends, from the `[`. */
  ends: number[]
  /** The items as parsed. */
  items: unknown[]
}

/** Options of {@link createFlowDelta}. */
export interface FlowDeltaOptions {
  /** Lines shorter than this are left to `JSON.parse`. @defaultValue 32 KiB */
  minLineBytes?: number
  /** A shared prefix shorter than this is not worth it: the line is decoded whole. @defaultValue 16 KiB */
  minSharedBytes?: number
  /** Conversations kept. @defaultValue 64 */
  maxConversations?: number
  /** Bytes of history kept in all, at most. @defaultValue 64 MiB */
  maxBytes?: number
}

/** What the decoder did, for benchmarks and tests. */
export interface FlowDeltaStats {
  /** Lines decoded in part, and the bytes they did not decode. */
  partial: number
  skippedBytes: number
  /** Lines decoded whole here (their history kept for the next). */
  whole: number
}

/**
 * Creates a decoder of flow-record lines (one per reader: it keeps state across lines).
 * `decode(buf, start, end)` returns the record of the line `buf[start, end)`, or undefined to
 * leave the line to the caller.
 */
export function createFlowDelta(opts: FlowDeltaOptions = {}): { decode(buf: Buffer, start: number, end: number): Record<string, unknown> | undefined; stats: FlowDeltaStats } {
  const minLine = opts.minLineBytes ?? 32 * 1024
  const minShared = opts.minSharedBytes ?? 16 * 1024
  const maxConv = opts.maxConversations ?? 64
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024
  const states = new Map<string, State>()
  let keptBytes = 0
  const stats: FlowDeltaStats = { partial: 0, skippedBytes: 0, whole: 0 }

  /** Scans the items of the array from `i` (after `[` or after a kept item), pushing their ends (from `arr`); the index after `]`, or -1. */
  function scanItems(buf: Buffer, arr: number, i: number, end: number, ends: number[], first: boolean): number {
    i = skipWs(buf, i, end)
    if (first && buf[i] === CLOSE_ARR) return i + 1
    for (;;) {
      if (!first) {
        if (buf[i] === CLOSE_ARR) return i + 1
        if (buf[i] !== COMMA) return -1
        i = skipWs(buf, i + 1, end)
      }
      first = false
      const after = skipValue(buf, i, end)
      if (after === -1) return -1
      ends.push(after - arr)
      i = skipWs(buf, after, end)
    }
  }

  /** Scans the members of an object from `i` (after a member's value) to its `}`, refusing a key equal to `refuse`; the index after `}`, or -1. */
  function restOfObject(buf: Buffer, i: number, end: number, refuse: Buffer): number {
    for (;;) {
      i = skipWs(buf, i, end)
      if (buf[i] === CLOSE_OBJ) return i + 1
      const m = member(buf, i, end, false)
      if (m === undefined || eq(buf, m[0], m[1], refuse)) return -1
      i = skipValue(buf, m[2], end)
      if (i === -1) return -1
    }
  }

  function keep(st: State): void {
    states.delete(st.key)
    states.set(st.key, st)
    keptBytes += st.bytes.length
    for (const [k, old] of states) {
      if (states.size <= maxConv && keptBytes <= maxBytes) break
      states.delete(k)
      keptBytes -= old.bytes.length
    }
  }

  function decode(buf: Buffer, start: number, end: number): Record<string, unknown> | undefined {
    if (end - start < minLine) return undefined
    // The record's members up to request_body (the session id and the subagent on the way: a
    // subagent's requests are a conversation of their own, often between two of its parent's).
    let i = skipWs(buf, start, end)
    if (buf[i] !== OPEN_OBJ) return undefined
    i++
    let session = ''
    let subagent = ''
    let body = -1
    for (let first = true; ; first = false) {
      const m = member(buf, i, end, first)
      if (m === undefined) return undefined
      if (eq(buf, m[0], m[1], REQUEST_BODY)) {
        body = m[2]
        break
      }
      const after = skipValue(buf, m[2], end)
      if (after === -1) return undefined
      if (buf[m[2]] === QUOTE) {
        if (eq(buf, m[0], m[1], SESSION_ID)) session = buf.toString('utf8', m[2] + 1, after - 1)
        else if (eq(buf, m[0], m[1], SUBAGENT)) subagent = buf.toString('utf8', m[2] + 1, after - 1)
      }
      i = after
    }
    // The body's members up to its history array.
    if (buf[body] !== OPEN_OBJ) return undefined
    i = body + 1
    let arr = -1
    let arrayKey: 'messages' | 'input' | undefined
    for (let first = true; ; first = false) {
      const m = member(buf, i, end, first)
      if (m === undefined) return undefined
      const isArr = buf[m[2]] === OPEN_ARR
      if (isArr && eq(buf, m[0], m[1], MESSAGES)) arrayKey = 'messages'
      else if (isArr && eq(buf, m[0], m[1], INPUT)) arrayKey = 'input'
      if (arrayKey !== undefined) {
        arr = m[2]
        break
      }
      i = skipValue(buf, m[2], end)
      if (i === -1) return undefined
    }

    // The longest run of whole items the conversation's last record had, byte for byte.
    const key = `${session}\n${subagent}\n${arrayKey}`
    const prev = states.get(key)
    let shared = 0
    if (prev !== undefined) {
      let lo = 0
      let hi = prev.ends.length
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        const n = prev.ends[mid - 1]!
        if (arr + n <= end && buf.compare(prev.bytes, 0, n, arr, arr + n) === 0) lo = mid
        else hi = mid - 1
      }
      shared = lo
      // The next item must start there (the kept bytes end with a whole item).
      while (shared > 0) {
        const j = skipWs(buf, arr + prev.ends[shared - 1]!, end)
        if (buf[j] === COMMA || buf[j] === CLOSE_ARR) break
        shared--
      }
      if (shared > 0 && prev.ends[shared - 1]! < minShared) shared = 0
    }

    const ends: number[] = shared > 0 ? prev!.ends.slice(0, shared) : []
    const afterArr = shared > 0 ? scanItems(buf, arr, arr + prev!.ends[shared - 1]!, end, ends, false) : scanItems(buf, arr, arr + 1, end, ends, true)
    if (afterArr === -1) return undefined
    // No second history key in the body, no second request_body in the record (JSON.parse keeps the last).
    const afterBody = restOfObject(buf, afterArr, end, arrayKey === 'messages' ? MESSAGES : INPUT)
    if (afterBody === -1) return undefined
    const afterRec = restOfObject(buf, afterBody, end, REQUEST_BODY)
    if (afterRec === -1 || skipWs(buf, afterRec, end) !== end) return undefined

    let rec: Record<string, unknown>
    let items: unknown[]
    try {
      if (shared > 0) {
        // The line without the kept items: `[` then what follows them (`,` dropped).
        const cut = skipWs(buf, arr + prev!.ends[shared - 1]!, end)
        const text = buf.toString('utf8', start, arr + 1) + buf.toString('utf8', buf[cut] === COMMA ? cut + 1 : cut, end)
        rec = JSON.parse(text) as Record<string, unknown>
        const b = rec['request_body'] as Record<string, unknown>
        const rest = b[arrayKey!] as unknown[]
        if (!Array.isArray(rest) || rest.length !== ends.length - shared) return undefined
        items = prev!.items.slice(0, shared).concat(rest)
        b[arrayKey!] = items
      } else {
        rec = JSON.parse(buf.toString('utf8', start, end)) as Record<string, unknown>
        const b = rec['request_body'] as Record<string, unknown> | undefined
        const all = b?.[arrayKey!]
        if (!Array.isArray(all) || all.length !== ends.length) return undefined
        items = all
      }
    } catch {
      return undefined
    }
    // This record's array is the conversation's last: the kept bytes stay, the rest is copied after them.
    const length = afterArr - arr
    let bytes: Buffer
    const from = shared > 0 ? prev!.ends[shared - 1]! : 0
    if (prev !== undefined && prev.bytes.length >= length) {
      bytes = prev.bytes
      keptBytes -= bytes.length
    } else {
      bytes = Buffer.allocUnsafe(Math.max(length, Math.ceil(length * 1.25)))
      if (prev !== undefined) keptBytes -= prev.bytes.length
      if (from > 0) prev!.bytes.copy(bytes, 0, 0, from)
    }
    buf.copy(bytes, from, arr + from, afterArr)
    keep({ key, bytes, ends, items })
    if (shared > 0) {
      stats.partial++
      stats.skippedBytes += from
    } else stats.whole++
    return rec
  }

  return { decode, stats }
}
