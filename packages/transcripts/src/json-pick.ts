/**
 * A few fields of a JSON line picked out of its raw bytes, without decoding the line or
 * building the values nobody reads (a Claude Code assistant line is mostly content blocks and
 * metadata; a usage-only read needs ids, model, stop reason and the usage counts).
 *
 * Exactness: {@link pickJson} validates every byte of the line by the JSON grammar (strings:
 * no raw control characters, valid escapes; numbers, literals, nesting, nothing after the
 * value but whitespace) and returns `undefined` whenever the line is not valid JSON or is
 * laid out in a way it does not handle (a top-level value that is no object, nesting deeper
 * than {@link MAX_DEPTH}). The caller then takes the slow path (`JSON.parse` of the decoded
 * line), so a line it accepts is one `JSON.parse` accepts, and each picked value is the value
 * `JSON.parse` would give at that place:
 * - a key matches by its decoded text (a key with escapes is decoded first), and of a key
 *   given twice the last one counts, as in `JSON.parse`;
 * - a string is decoded from its own bytes (its boundaries are ASCII quotes, so UTF-8 decoding
 *   of the slice equals that of the whole line, invalid sequences included), through
 *   `JSON.parse` when it has escapes;
 * - a number is read by the same string-to-number rule (`Number` of its text), integers of up
 *   to 15 digits directly;
 * - a container that is picked whole is validated, then `JSON.parse`d from its slice.
 * A schema entry with children picks only those children of an object (the projection); a
 * value there that is no object is picked whole.
 */

/** What to pick: `true` the value whole, an object the listed children of an object value. */
export interface PickSchema {
  [key: string]: PickSchema | true
}

/** Nesting deeper than this is left to `JSON.parse` (the caller's slow path). */
export const MAX_DEPTH = 512

/** The value of a picked object's slot: an object, whose listed children are in their own slots. */
export const PICKED: unique symbol = Symbol('picked object')

interface Node {
  /** The keys' bytes (plain ASCII) and text. */
  names: Uint8Array[]
  texts: string[]
  /** Each key's slot, and its children (`null`: the value whole). */
  slots: number[]
  children: (Node | null)[]
  /** Slots of every descendant: `[from, to)`. */
  from: number
  to: number
}

/** A compiled {@link PickSchema}: `slot` numbers each picked path (`"message.usage"`). */
export interface Picker {
  root: Node
  /** Slots an answer has. */
  size: number
  slot: Readonly<Record<string, number>>
  /**
   * The last string of each slot (plain ASCII ones): the same id, model or session comes back
   * line after line, and comparing its bytes costs less than decoding them again.
   */
  last: (string | undefined)[]
}

/**
 * Compiles a schema for {@link pickJson} (once, at module load): every key, at any depth, gets
 * a slot of the answer array, numbered depth-first; `slot` maps its dotted path to it.
 */
export function compilePick(schema: PickSchema): Picker {
  const slot: Record<string, number> = {}
  let size = 0
  const build = (sch: PickSchema, prefix: string): Node => {
    const node: Node = { names: [], texts: [], slots: [], children: [], from: size, to: size }
    for (const [k, v] of Object.entries(sch)) {
      if (!/^[\x20-\x7e]+$/.test(k) || k.includes('"') || k.includes('\\')) throw new Error(`pick keys are plain ASCII without quotes or backslashes, got ${JSON.stringify(k)}`)
      const path = prefix + k
      slot[path] = size
      node.names.push(Buffer.from(k, 'latin1'))
      node.texts.push(k)
      node.slots.push(size++)
      node.children.push(v === true ? null : build(v, `${path}.`))
    }
    node.to = size
    return node
  }
  const root = build(schema, '')
  return { root, size, slot, last: new Array<string | undefined>(size) }
}

// Bytes of a string: 0 plain, 1 the closing quote, 2 a backslash, 3 not allowed raw (controls).
const STR = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) STR[c] = 3
STR[0x22] = 1
STR[0x5c] = 2
// Hex digits of a \u escape.
const HEX = new Uint8Array(256)
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1
// Characters allowed after a backslash besides `u`.
const ESC = new Uint8Array(256)
for (const c of '"\\/bfnrt') ESC[c.charCodeAt(0)] = 1

/** Flags of the last string scanned: bit 0 an escape, bit 1 a byte ≥ 0x80. */
let strFlags = 0

/**
 * The buffer being picked, as a DataView, for reading string bytes 4 at a time: a word with no
 * quote, backslash or control character (most of a line's string bytes) is passed at once; a
 * word with one of them is taken byte by byte. Set by {@link pickJson} for its buffer.
 */
let words: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))
let wordsOf: ArrayBufferLike | undefined
let wordsAt = 0

/**
 * Whether none of the 4 bytes of `x` is a quote, a backslash or below 0x20: the "some byte is
 * zero" test `(v - 0x01…) & ~v & 0x80…` of `x` xor each byte, and "some byte is below 0x20"
 * `(x - 0x20…) & ~x & 0x80…` (exact as a yes/no for any bytes).
 */
function plainWord(x: number): boolean {
  const q = x ^ 0x22222222
  const s = x ^ 0x5c5c5c5c
  return (((((q - 0x01010101) | 0) & ~q) | (((s - 0x01010101) | 0) & ~s) | (((x - 0x20202020) | 0) & ~x)) & 0x80808080) === 0
}

/** Scans a string body from `i` (after its opening quote); the index after its closing quote, or -1. */
function scanString(b: Uint8Array, i: number, e: number): number {
  // Bytes ORed together (bit 7 of any: a byte ≥ 0x80), and whether an escape was seen.
  let f = 0
  let esc = 0
  const w = words
  const at = wordsAt
  for (;;) {
    while (i + 4 <= e) {
      const x = w.getInt32(at + i, true)
      if (!plainWord(x)) break
      f |= x
      i += 4
    }
    if (i >= e) return -1
    const c = b[i++]!
    const k = STR[c]!
    if (k === 0) {
      f |= c
      continue
    }
    if (k === 1) break
    if (k === 3) return -1
    // A backslash: one of the short escapes, or \u and four hex digits.
    if (i >= e) return -1
    const x = b[i++]!
    esc = 1
    if (x === 0x75) {
      if (i + 4 > e || HEX[b[i]!] === 0 || HEX[b[i + 1]!] === 0 || HEX[b[i + 2]!] === 0 || HEX[b[i + 3]!] === 0) return -1
      i += 4
    } else if (ESC[x] === 0) return -1
  }
  strFlags = esc | (f & 0x80808080 ? 2 : 0)
  return i
}

/** {@link scanString} without the flags, for the strings that are only validated (most bytes of a line). */
function skipString(b: Uint8Array, i: number, e: number): number {
  const w = words
  const at = wordsAt
  for (;;) {
    while (i + 4 <= e && plainWord(w.getInt32(at + i, true))) i += 4
    if (i >= e) return -1
    const k = STR[b[i++]!]!
    if (k === 0) continue
    if (k === 1) return i
    if (k === 3 || i >= e) return -1
    const x = b[i++]!
    if (x === 0x75) {
      if (i + 4 > e || HEX[b[i]!] === 0 || HEX[b[i + 1]!] === 0 || HEX[b[i + 2]!] === 0 || HEX[b[i + 3]!] === 0) return -1
      i += 4
    } else if (ESC[x] === 0) return -1
  }
}

function skipWs(b: Uint8Array, i: number, e: number): number {
  while (i < e) {
    const c = b[i]!
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break
    i++
  }
  return i
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39

/** Skips an object's key at `i` (its opening quote), its colon and the blanks after: the value's start, or -1. */
function skipKey(b: Uint8Array, i: number, e: number): number {
  if (i >= e || b[i] !== 0x22) return -1
  i = skipString(b, i + 1, e)
  if (i < 0) return -1
  i = skipWs(b, i, e)
  if (i >= e || b[i] !== 0x3a) return -1
  return skipWs(b, i + 1, e)
}

/** Scans a number from `i` by the JSON grammar; the index after it, or -1. */
function scanNumber(b: Uint8Array, i: number, e: number): number {
  if (i < e && b[i] === 0x2d) i++
  if (i >= e) return -1
  if (b[i] === 0x30) i++
  else if (isDigit(b[i]!)) while (i < e && isDigit(b[i]!)) i++
  else return -1
  if (i < e && b[i] === 0x2e) {
    i++
    if (i >= e || !isDigit(b[i]!)) return -1
    while (i < e && isDigit(b[i]!)) i++
  }
  if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
    i++
    if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++
    if (i >= e || !isDigit(b[i]!)) return -1
    while (i < e && isDigit(b[i]!)) i++
  }
  return i
}

function scanLiteral(b: Uint8Array, i: number, e: number): number {
  const c = b[i]
  if (c === 0x74) return i + 4 <= e && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1
  if (c === 0x66) return i + 5 <= e && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1
  if (c === 0x6e) return i + 4 <= e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1
  return -1
}

/** Open containers of {@link skipValue}: 1 an object, 2 an array. */
const kinds = new Uint8Array(MAX_DEPTH)

/**
 * Validates one value from `i` (no leading whitespace) without building it; the index after
 * it, -1 when it is not valid JSON, -2 when it nests deeper than {@link MAX_DEPTH}.
 */
function skipValue(b: Uint8Array, i: number, e: number): number {
  let depth = 0
  for (;;) {
    // A value at i.
    if (i >= e) return -1
    const c = b[i]!
    if (c === 0x22) {
      i = skipString(b, i + 1, e)
    } else if (c === 0x7b || c === 0x5b) {
      i = skipWs(b, i + 1, e)
      if (i < e && b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
        i++
      } else {
        if (depth === MAX_DEPTH) return -2
        kinds[depth++] = c === 0x7b ? 1 : 2
        if (c === 0x7b) {
          // The first key, its colon, then its value.
          i = skipKey(b, i, e)
          if (i < 0) return -1
        }
        continue
      }
    } else if (c === 0x2d || isDigit(c)) {
      i = scanNumber(b, i, e)
    } else {
      i = scanLiteral(b, i, e)
    }
    if (i < 0) return -1
    // After a value: the next one of the open container, or its end.
    for (;;) {
      if (depth === 0) return i
      i = skipWs(b, i, e)
      if (i >= e) return -1
      const d = b[i]!
      const kind = kinds[depth - 1]
      if (d === 0x2c) {
        i = skipWs(b, i + 1, e)
        if (kind === 1) {
          i = skipKey(b, i, e)
          if (i < 0) return -1
        }
        break
      }
      if ((d === 0x7d && kind === 1) || (d === 0x5d && kind === 2)) {
        depth--
        i++
        continue
      }
      return -1
    }
  }
}

/**
 * `b.toString('latin1', s, e)` without its argument checks and encoding lookup (the method
 * toString calls; a few hundred thousand short strings a read).
 */
const latin1 = (b: Buffer, s: number, e: number): string => (b as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(s, e)

/** Index after the value read by {@link readValue} / {@link pickObject}. */
let next = 0

/** The text of a string without escapes at `[s, e)`, its bytes plain ASCII unless `high`. */
function text(b: Buffer, s: number, e: number, high: boolean, slot: number, lastStrings: (string | undefined)[]): string {
  if (high) return b.toString('utf8', s, e)
  const last = lastStrings[slot]
  if (last !== undefined && last.length === e - s) {
    let j = 0
    while (j < last.length && last.charCodeAt(j) === b[s + j]) j++
    if (j === last.length) return last
  }
  const t = latin1(b, s, e)
  lastStrings[slot] = t
  return t
}

/** What {@link readValue} returns for a value that is not valid JSON. */
const BAD: unique symbol = Symbol('not JSON')

/** Reads the value at `i` whole (see the module comment); sets {@link next}, or returns {@link BAD}. */
function readValue(b: Buffer, i: number, e: number, slot: number, last: (string | undefined)[]): unknown {
  const c = b[i]
  if (c === 0x22) {
    const end = scanString(b, i + 1, e)
    if (end < 0) return BAD
    next = end
    if (strFlags & 1) return JSON.parse(b.toString('utf8', i, end))
    return text(b, i + 1, end - 1, (strFlags & 2) !== 0, slot, last)
  }
  if (c === 0x2d || (c !== undefined && isDigit(c))) {
    const end = scanNumber(b, i, e)
    if (end < 0) return BAD
    next = end
    if (end - i <= 15 && c !== 0x2d) {
      let v = 0
      let j = i
      for (; j < end; j++) {
        const d = b[j]!
        if (!isDigit(d)) break
        v = v * 10 + (d - 0x30)
      }
      if (j === end) return v
    }
    return Number(latin1(b, i, end))
  }
  const end = skipValue(b, i, e)
  if (end < 0) return BAD
  next = end
  if (c === 0x74) return true
  if (c === 0x66) return false
  if (c === 0x6e) return null
  return JSON.parse(b.toString('utf8', i, end))
}

/** Which key of `node` the key at `[s, e)` (no escapes) is, or -1. */
function matchKey(b: Buffer, s: number, e: number, node: Node): number {
  const n = e - s
  const names = node.names
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!
    if (name.length !== n) continue
    let j = 0
    while (j < n && name[j] === b[s + j]) j++
    if (j === n) return k
  }
  return -1
}

/** Picks the children of `node` from the object at `i` (its `{`) into `out`; sets {@link next}; `false` when not valid JSON. */
function pickObject(b: Buffer, i: number, e: number, node: Node, out: unknown[], last: (string | undefined)[]): boolean {
  i = skipWs(b, i + 1, e)
  if (i < e && b[i] === 0x7d) {
    next = i + 1
    return true
  }
  for (;;) {
    if (i >= e || b[i] !== 0x22) return false
    const ks = i + 1
    const ke = scanString(b, ks, e)
    if (ke < 0) return false
    const k = strFlags & 1 ? node.texts.indexOf(JSON.parse(b.toString('utf8', i, ke)) as string) : matchKey(b, ks, ke - 1, node)
    i = skipWs(b, ke, e)
    if (i >= e || b[i] !== 0x3a) return false
    i = skipWs(b, i + 1, e)
    if (k === -1) {
      i = skipValue(b, i, e)
      if (i < 0) return false
    } else {
      // A key given again replaces what the first one gave, as in JSON.parse.
      const child = node.children[k]!
      const slot = node.slots[k]!
      if (child !== null) for (let x = child.from; x < child.to; x++) out[x] = undefined
      if (child !== null && b[i] === 0x7b) {
        out[slot] = PICKED
        if (!pickObject(b, i, e, child, out, last)) return false
      } else {
        const v = readValue(b, i, e, slot, last)
        if (v === BAD) return false
        out[slot] = v
      }
      i = next
    }
    i = skipWs(b, i, e)
    if (i >= e) return false
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, e)
      continue
    }
    if (b[i] !== 0x7d) return false
    next = i + 1
    return true
  }
}

/**
 * Picks the fields of `picker` from the JSON object in `buf[start, end)` into `out` (one value
 * per slot: `undefined` absent, {@link PICKED} an object whose listed children are in their
 * slots, else the value as `JSON.parse` gives it). `false` when the line is not a valid JSON
 * object or nests deeper than {@link MAX_DEPTH}: the caller then parses it the slow way, which
 * gives the same values or the error. See the module comment.
 * @example
 * ```ts
 * const p = compilePick({ type: true, message: { id: true } })
 * const out: unknown[] = []
 * pickJson(Buffer.from('{"type":"assistant","message":{"id":"m1","content":[]}}'), 0, 55, p, out)
 * // true; out[p.slot.type] === 'assistant', out[p.slot.message] === PICKED, out[p.slot['message.id']] === 'm1'
 * ```
 */
export function pickJson(buf: Buffer, start: number, end: number, picker: Picker, out: unknown[]): boolean {
  for (let x = 0; x < picker.size; x++) out[x] = undefined
  if (buf.buffer !== wordsOf) {
    words = new DataView(buf.buffer)
    wordsOf = buf.buffer
  }
  wordsAt = buf.byteOffset
  const i = skipWs(buf, start, end)
  if (i >= end || buf[i] !== 0x7b) return false
  return pickObject(buf, i, end, picker.root, out, picker.last) && skipWs(buf, next, end) === end
}
