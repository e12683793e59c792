/** Strings JSON.stringify writes as they are, between quotes (no quote, backslash, control character or lone surrogate). */
export const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

const NULL = Buffer.from('null')

/**
 * NDJSON written as bytes into a reused buffer (no string per line, no row objects) and handed to
 * `flush` in pieces that end at a line end: a flush must write or copy them at once. The one
 * byte writer of the answers written straight from columns (the transcripts' usage summary, the
 * wire facts); each writes numbers and strings exactly as `JSON.stringify` does.
 */
export class NdjsonOut {
  buf = Buffer.allocUnsafe(1 << 20)
  pos = 0
  /** Where the line being written starts (what is before it is whole lines). */
  line = 0
  constructor(private readonly flush: (b: Buffer) => void) {}

  /** Makes room for `n` more bytes: the whole lines go, the line being written moves to the start. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    if (this.line > 0) this.flush(this.buf.subarray(0, this.line))
    const part = this.pos - this.line
    const buf = part + n > this.buf.length ? Buffer.allocUnsafe(Math.max(2 * this.buf.length, part + n)) : this.buf
    this.buf.copy(buf, 0, this.line, this.pos)
    this.buf = buf
    this.pos = part
    this.line = 0
  }

  /** A line ends here. */
  endLine(): void {
    this.line = this.pos
  }

  end(): void {
    if (this.pos > 0) this.flush(this.buf.subarray(0, this.pos))
    this.pos = 0
    this.line = 0
  }

  /** A string's UTF-8 bytes as they are (room made here). */
  text(s: string): void {
    this.room(3 * s.length)
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }

  ascii(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1')
  }

  bytes(b: Uint8Array): void {
    const buf = this.buf
    let p = this.pos
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!
    this.pos = p
  }

  /** A number as JSON.stringify writes it: whole non-negative ones digit by digit. */
  num(x: number): void {
    if (x >= 0 && x <= 9007199254740991 && Math.floor(x) === x && !Object.is(x, -0)) {
      let digits = 1
      for (let y = x; y >= 10; y = Math.floor(y / 10)) digits++
      const buf = this.buf
      let p = this.pos + digits
      this.pos = p
      let y = x
      do {
        const q = Math.floor(y / 10)
        buf[--p] = 48 + (y - q * 10)
        y = q
      } while (y > 0)
    } else this.ascii(Number.isFinite(x) ? String(x) : 'null')
  }

  /**
   * UTF-8 bytes `from`..`to` of `src` as a JSON string, when none needs escaping (no quote,
   * backslash or control character; the block holds no lone surrogates); false (nothing written)
   * otherwise.
   */
  plain(src: Uint8Array, from: number, to: number): boolean {
    const buf = this.buf
    let p = this.pos
    buf[p++] = 34
    for (let i = from; i < to; i++) {
      const b = src[i]!
      if (b < 32 || b === 34 || b === 92) return false
      buf[p++] = b
    }
    buf[p++] = 34
    this.pos = p
    return true
  }

  /** A string as JSON.stringify writes it (UTF-8); the caller made room for it. */
  str(s: string): void {
    // A short ASCII string that needs no escaping (the keys, times and ids of most rows) byte by
    // byte: no regular expression and no call into the buffer's encoder per string.
    if (s.length <= 128) {
      const buf = this.buf
      let p = this.pos
      buf[p++] = 34
      let i = 0
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i)
        if (c < 32 || c === 34 || c === 92 || c > 127) break
        buf[p++] = c
      }
      if (i === s.length) {
        buf[p++] = 34
        this.pos = p
        return
      }
    }
    if (PLAIN.test(s)) {
      this.buf[this.pos++] = 34
      this.pos += this.buf.write(s, this.pos, 'utf8')
      this.buf[this.pos++] = 34
    } else this.pos += this.buf.write(JSON.stringify(s), this.pos, 'utf8')
  }

  /** A value as JSON.stringify writes it (room made for a string). */
  json(v: string | number | boolean | null): void {
    if (v === null) this.bytes(NULL)
    else if (typeof v === 'number') this.num(v)
    else if (typeof v === 'boolean') this.ascii(v ? 'true' : 'false')
    else {
      const s = PLAIN.test(v) ? `"${v}"` : JSON.stringify(v)
      this.room(3 * s.length)
      this.pos += this.buf.write(s, this.pos, 'utf8')
    }
  }
}
