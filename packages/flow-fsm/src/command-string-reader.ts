import { TextDeltaNormalizer } from '@agenttap/stream-normalizer'

/** Result of {@link CommandStringReader.feed}. */
export interface StringChunk {
  /** Decoded text newly available. */
  text: string
  /** true when the closing quote was reached. */
  closed: boolean
  /** How many characters of the chunk belong to the string (including the closing quote). */
  consumed: number
}

/**
 * Reads one JSON string value out of streamed JSON text, starting just after its opening quote:
 * finds the closing quote (an escaped `\"` does not close it, even when the backslash came in an
 * earlier chunk) and decodes the body through stream-normalizer's {@link TextDeltaNormalizer},
 * which holds escapes split across chunks (`\` | `n`, `\u00` | `e9`, surrogate pairs).
 */
export class CommandStringReader {
  private escaped = false
  private done = false
  private tdn: TextDeltaNormalizer

  constructor() {
    this.tdn = new TextDeltaNormalizer()
  }

  /** true once the closing quote was consumed. */
  get closed(): boolean {
    return this.done
  }

  feed(chunk: string): StringChunk {
    if (this.done) return { text: '', closed: true, consumed: 0 }
    let i = 0
    const n = chunk.length
    for (; i < n; i++) {
      const c = chunk.charCodeAt(i)
      if (this.escaped) this.escaped = false
      else if (c === 0x5c) this.escaped = true
      else if (c === 0x22) break
    }
    if (i >= n) return { text: this.tdn.feed(chunk), closed: false, consumed: n }
    this.done = true
    const text = this.tdn.feed(chunk.slice(0, i)) + this.tdn.end()
    return { text, closed: true, consumed: i + 1 }
  }

  /** Flushes what is held when the input ends before the closing quote. */
  end(): string {
    if (this.done) return ''
    this.done = true
    return this.tdn.end()
  }

  reset(): void {
    this.escaped = false
    this.done = false
    this.tdn = new TextDeltaNormalizer()
  }
}
