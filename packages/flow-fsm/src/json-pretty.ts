/** What the renderer needs from a streaming JSON formatter (stream-normalizer's JsonStreamFormatter fits). */
export interface StreamFormatter {
  feed(fragment: string): string
  end(): string
  reset(): void
}

/**
 * A small streaming JSON pretty-printer: re-indents JSON text as it arrives, without parsing
 * whole values, so output appears as fragments come. Strings are copied verbatim (escapes
 * included), insignificant whitespace is dropped, `{}` / `[]` stay on one line.
 */
export class JsonPrettyStream implements StreamFormatter {
  private inString = false
  private escape = false
  private depth = 0
  private openPending = false // just opened a container; newline waits to see if it is empty
  private readonly indent: string

  constructor(opts: { indent?: number } = {}) {
    this.indent = ' '.repeat(opts.indent ?? 2)
  }

  feed(fragment: string): string {
    const out: string[] = []
    let i = 0
    const n = fragment.length
    while (i < n) {
      if (this.inString) {
        let j = i
        for (; j < n; j++) {
          const c = fragment.charCodeAt(j)
          if (this.escape) this.escape = false
          else if (c === 0x5c) this.escape = true
          else if (c === 0x22) {
            this.inString = false
            j++
            break
          }
        }
        out.push(fragment.slice(i, j))
        i = j
        continue
      }
      const ch = fragment[i++] as string
      if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') continue
      if (this.openPending) {
        this.openPending = false
        if (ch === '}' || ch === ']') {
          this.depth--
          out.push(ch)
          continue
        }
        out.push('\n', this.indent.repeat(this.depth))
      }
      switch (ch) {
        case '{':
        case '[':
          out.push(ch)
          this.depth++
          this.openPending = true
          break
        case '}':
        case ']':
          this.depth = Math.max(0, this.depth - 1)
          out.push('\n', this.indent.repeat(this.depth), ch)
          break
        case ',':
          out.push(',\n', this.indent.repeat(this.depth))
          break
        case ':':
          out.push(': ')
          break
        case '"':
          this.inString = true
          out.push(ch)
          break
        default:
          out.push(ch)
      }
    }
    return out.join('')
  }

  end(): string {
    // Nothing is held back: output is emitted as soon as each character is seen.
    this.reset()
    return ''
  }

  reset(): void {
    this.inString = false
    this.escape = false
    this.depth = 0
    this.openPending = false
  }
}
