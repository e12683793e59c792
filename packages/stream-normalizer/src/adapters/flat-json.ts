/**
 * A scanner for the flat JSON objects most stream events are (string, number, `[]` and literal
 * values; no nesting, no whitespace): it reads the few fields an adapter needs into a reused
 * record instead of building the whole object with `JSON.parse`. Whatever it does not take
 * exactly (nesting, whitespace, fractions, escapes in keys, invalid JSON) makes it return false,
 * and the caller takes the general path, so both paths give the same events.
 */

/** The fields a fast path reads, reused from event to event (never allocated per event). */
export interface FlatFields {
  /** Where the `type` value starts in the data and ends (exclusive), when it is a plain string. */
  typeStart: number
  typeEnd: number
  item_id: string | undefined
  output_index: number | undefined
  delta: string | undefined
}

export const flat: FlatFields = { typeStart: -1, typeEnd: -1, item_id: undefined, output_index: undefined, delta: undefined }

// eslint-disable-next-line no-control-regex
const PLAIN = /[^"\\\u0000-\u001f]*/y

const K_OTHER = 0
const K_TYPE = 1
const K_ITEM = 2
const K_OUTPUT = 3
const K_DELTA = 4

function keyOf(data: string, start: number, end: number): number {
  switch (end - start) {
    case 4:
      return data.startsWith('type', start) ? K_TYPE : K_OTHER
    case 5:
      return data.startsWith('delta', start) ? K_DELTA : K_OTHER
    case 7:
      return data.startsWith('item_id', start) ? K_ITEM : K_OTHER
    case 12:
      return data.startsWith('output_index', start) ? K_OUTPUT : K_OTHER
    default:
      return K_OTHER
  }
}

/**
 * Index of the quote closing the string literal whose opening quote is at `open`, or -1; -2 when
 * the literal holds a backslash or a raw control character (the caller decodes it, or gives up).
 */
function plainStringEnd(data: string, open: number): number {
  // A native scan to the first quote, backslash or control character.
  PLAIN.lastIndex = open + 1
  PLAIN.test(data)
  const k = PLAIN.lastIndex
  if (k >= data.length) return -1
  return data.charCodeAt(k) === 0x22 ? k : -2
}

/** Index of the quote closing a string literal that holds escapes, or -1. */
function escapedStringEnd(data: string, open: number): number {
  let from = open + 1
  for (;;) {
    const q = data.indexOf('"', from)
    if (q === -1) return -1
    let b = q - 1
    while (data.charCodeAt(b) === 0x5c) b--
    if ((q - 1 - b) % 2 === 0) return q
    from = q + 1
  }
}

/**
 * Scans `data` as a compact flat JSON object into {@link flat}. Returns false (the caller then
 * uses `JSON.parse`) unless `data` is exactly such an object.
 */
export function scanFlat(data: string): boolean {
  const f = flat
  f.typeStart = -1
  f.item_id = undefined
  f.output_index = undefined
  f.delta = undefined
  const n = data.length
  if (data.charCodeAt(0) !== 0x7b || data.charCodeAt(1) !== 0x22) return false
  let i = 1
  for (;;) {
    // i is at the opening quote of a key.
    const kEnd = plainStringEnd(data, i)
    if (kEnd < 0 || data.charCodeAt(kEnd + 1) !== 0x3a) return false
    const key = keyOf(data, i + 1, kEnd)
    let v = kEnd + 2
    const c = data.charCodeAt(v)
    if (c === 0x22) {
      let e = plainStringEnd(data, v)
      let value: string | undefined
      if (e === -2) {
        e = escapedStringEnd(data, v)
        if (e === -1) return false
        try {
          // Validates the escapes (and raw control characters) exactly as JSON.parse would.
          value = JSON.parse(data.slice(v, e + 1)) as string
        } catch {
          return false
        }
        if (key === K_TYPE) return false
      } else if (e === -1) return false
      if (key === K_TYPE) {
        f.typeStart = v + 1
        f.typeEnd = e
      } else if (key === K_DELTA) f.delta = value ?? data.slice(v + 1, e)
      else if (key === K_ITEM) f.item_id = value ?? data.slice(v + 1, e)
      else if (key === K_OUTPUT) f.output_index = undefined
      v = e + 1
    } else if (c >= 0x30 && c <= 0x39) {
      // Non-negative integers only; anything else (sign, fraction, exponent) is the general path's.
      if (c === 0x30 && data.charCodeAt(v + 1) >= 0x30 && data.charCodeAt(v + 1) <= 0x39) return false
      let num = c - 0x30
      let e = v + 1
      for (; e < n; e++) {
        const d = data.charCodeAt(e)
        if (d < 0x30 || d > 0x39) break
        num = num * 10 + (d - 0x30)
      }
      const d = data.charCodeAt(e)
      if (d === 0x2e || d === 0x65 || d === 0x45 || e - v > 15) return false
      if (key === K_OUTPUT) f.output_index = num
      else if (key !== K_OTHER) return false
      v = e
    } else if (c === 0x5b) {
      if (data.charCodeAt(v + 1) !== 0x5d || key !== K_OTHER) return false
      v += 2
    } else if (c === 0x6e && key === K_OTHER && data.startsWith('null', v)) v += 4
    else if (c === 0x74 && key === K_OTHER && data.startsWith('true', v)) v += 4
    else if (c === 0x66 && key === K_OTHER && data.startsWith('false', v)) v += 5
    else return false
    const sep = data.charCodeAt(v)
    if (sep === 0x7d) return v === n - 1 && f.typeStart !== -1
    if (sep !== 0x2c || data.charCodeAt(v + 1) !== 0x22) return false
    i = v + 1
  }
}

/** A non-negative JSON integer at `i` (no leading zero): the index after it, or -1. */
function intEnd(data: string, i: number): number {
  const c = data.charCodeAt(i)
  if (c < 0x30 || c > 0x39) return -1
  let e = i + 1
  if (c !== 0x30) while (e < data.length && data.charCodeAt(e) >= 0x30 && data.charCodeAt(e) <= 0x39) e++
  const d = data.charCodeAt(e)
  return d === 0x2c || d === 0x7d ? (e - i > 15 ? -1 : e) : -1
}

const OBFUSCATION = ',"obfuscation":"'
const LOGPROBS = ',"logprobs":[]'
// eslint-disable-next-line no-control-regex
const DELTA_NEEDS_PARSE = /["\\\u0000-\u001f]/

/**
 * The exact layout the Responses API writes its delta events in,
 * `{"type":"response.…","sequence_number":N,"item_id":"…","output_index":N[,"content_index":N|,"summary_index":N],"delta":"…"[,"logprobs":[]][,"obfuscation":"…"]}`:
 * prefix and suffix checks and one slice, no scan of the object. Fills {@link flat} like
 * {@link scanFlat}; false for any other layout (the caller then tries the general ways).
 */
export function scanDelta(data: string): boolean {
  const f = flat
  // `{"type":"` is 9 characters; the caller checked the `response.` that follows.
  const tEnd = data.indexOf('"', 9)
  if (tEnd === -1 || !data.startsWith(',"sequence_number":', tEnd + 1)) return false
  let i = intEnd(data, tEnd + 20)
  if (i === -1 || !data.startsWith(',"item_id":"', i)) return false
  const idStart = i + 12
  const idEnd = data.indexOf('"', idStart)
  if (idEnd === -1) return false
  for (let k = idStart; k < idEnd; k++) {
    const c = data.charCodeAt(k)
    if (c === 0x5c || c < 0x20) return false
  }
  if (!data.startsWith(',"output_index":', idEnd + 1)) return false
  const oiStart = idEnd + 17
  i = intEnd(data, oiStart)
  if (i === -1) return false
  const oiEnd = i
  if (data.startsWith(',"content_index":', i)) i = intEnd(data, i + 17)
  else if (data.startsWith(',"summary_index":', i)) i = intEnd(data, i + 17)
  if (i === -1 || !data.startsWith(',"delta":"', i)) return false
  const dStart = i + 10
  const n = data.length
  if (data.charCodeAt(n - 1) !== 0x7d) return false
  let end = n - 1
  if (data.charCodeAt(end - 1) === 0x22) {
    // A raw `,"obfuscation":"` cannot be inside the delta string (its quotes would be escaped).
    const ob = data.lastIndexOf(OBFUSCATION, end)
    if (ob > dStart) {
      for (let k = ob + OBFUSCATION.length; k < end - 1; k++) {
        const c = data.charCodeAt(k)
        if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d)) return false
      }
      end = ob
    }
  }
  if (end - LOGPROBS.length > dStart && data.startsWith(LOGPROBS, end - LOGPROBS.length)) end -= LOGPROBS.length
  if (end - 1 < dStart || data.charCodeAt(end - 1) !== 0x22) return false
  let value = data.slice(dStart, end - 1)
  if (DELTA_NEEDS_PARSE.test(value)) {
    try {
      const v: unknown = JSON.parse(data.slice(dStart - 1, end))
      if (typeof v !== 'string') return false
      value = v
    } catch {
      return false
    }
  }
  f.typeStart = 9
  f.typeEnd = tEnd
  f.item_id = data.slice(idStart, idEnd)
  let oi = 0
  for (let k = oiStart; k < oiEnd; k++) oi = oi * 10 + (data.charCodeAt(k) - 0x30)
  f.output_index = oi
  f.delta = value
  return true
}
