/** Result of feeding a chunk to a {@link JsonStringDecoder}. */
export interface JsonStringChunk {
  /** Decoded text newly available. */
  text: string
  /** true when the closing quote was reached. */
  closed: boolean
  /** How many characters of the chunk belong to the string (including the closing quote). */
  consumed: number
}

const SIMPLE: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

/**
 * Streaming decoder of the *content* of one JSON string (the part after the opening quote).
 * Escapes split across chunks (`\` | `n`, `\u00` | `e9`, a surrogate pair split between two
 * `\u` escapes) are held until complete, so every character is decoded exactly once. Stops at
 * the closing quote and says how much of the chunk it used. Invalid escapes are kept verbatim
 * and counted in `invalidEscapes`.
 */
export class JsonStringDecoder {
  private pending = '' // an incomplete escape, e.g. `\` or `\u00`
  private highSurrogate = '' // a decoded high surrogate waiting for its low half
  private done = false
  /** Number of malformed escapes met so far. */
  invalidEscapes = 0

  /** true once the closing quote was consumed. */
  get closed(): boolean {
    return this.done
  }

  feed(chunk: string): JsonStringChunk {
    if (this.done) return { text: '', closed: true, consumed: 0 }
    const out: string[] = []
    let i = 0
    const n = chunk.length
    if (this.pending !== '') {
      while (i < n && !this.escapeComplete()) this.pending += chunk[i++]
      if (!this.escapeComplete()) return { text: '', closed: false, consumed: n }
      this.emitEscape(out)
    }
    while (i < n) {
      let j = i
      while (j < n) {
        const c = chunk.charCodeAt(j)
        if (c === 0x22 || c === 0x5c) break
        j++
      }
      if (j > i) {
        this.flushHigh(out)
        out.push(chunk.slice(i, j))
      }
      if (j >= n) {
        i = n
        break
      }
      if (chunk.charCodeAt(j) === 0x22) {
        this.flushHigh(out)
        this.done = true
        return { text: out.join(''), closed: true, consumed: j + 1 }
      }
      // backslash: gather the escape, possibly across chunks
      this.pending = '\\'
      i = j + 1
      while (i < n && !this.escapeComplete()) this.pending += chunk[i++]
      if (!this.escapeComplete()) return { text: out.join(''), closed: false, consumed: n }
      this.emitEscape(out)
    }
    return { text: out.join(''), closed: false, consumed: n }
  }

  /** Flushes what is held at the end of input (an unfinished escape is kept verbatim). */
  end(): string {
    const out: string[] = []
    this.flushHigh(out)
    if (this.pending !== '') {
      out.push(this.pending)
      this.pending = ''
      this.invalidEscapes++
    }
    return out.join('')
  }

  reset(): void {
    this.pending = ''
    this.highSurrogate = ''
    this.done = false
    this.invalidEscapes = 0
  }

  private escapeComplete(): boolean {
    const p = this.pending
    if (p.length < 2) return false
    return p[1] !== 'u' || p.length >= 6
  }

  private flushHigh(out: string[]): void {
    if (this.highSurrogate !== '') {
      out.push('\ufffd')
      this.highSurrogate = ''
    }
  }

  private emitEscape(out: string[]): void {
    const p = this.pending
    this.pending = ''
    const k = p[1] as string
    if (k !== 'u') {
      this.flushHigh(out)
      const s = SIMPLE[k]
      if (s === undefined) {
        this.invalidEscapes++
        out.push(p)
      } else out.push(s)
      return
    }
    const hex = p.slice(2)
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
      this.flushHigh(out)
      this.invalidEscapes++
      out.push(p)
      return
    }
    const code = parseInt(hex, 16)
    if (code >= 0xd800 && code <= 0xdbff) {
      this.flushHigh(out)
      this.highSurrogate = String.fromCharCode(code)
      return
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      if (this.highSurrogate !== '') {
        out.push(this.highSurrogate + String.fromCharCode(code))
        this.highSurrogate = ''
      } else out.push('\ufffd')
      return
    }
    this.flushHigh(out)
    out.push(String.fromCharCode(code))
  }
}
