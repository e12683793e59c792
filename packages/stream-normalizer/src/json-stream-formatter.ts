import { NormalizerError, excerptOf } from './errors.js'
import { SIMPLE_ESCAPES, hexValue } from './text-delta-normalizer.js'
import {
  DEFAULT_MAX_JSON_DEPTH,
  DEFAULT_MAX_JSON_OUTPUT,
  SPECIAL_DECODED,
  SPECIAL_RAW,
  depthMarker,
  encodeUnit,
  hex4,
  outputCutMarker,
  type JsonStreamFormatterOptions,
} from './json-value-formatter.js'

export {
  DEFAULT_MAX_JSON_DEPTH,
  DEFAULT_MAX_JSON_OUTPUT,
  depthMarker,
  formatJsonValue,
  outputCutMarker,
  type JsonStreamFormatterOptions,
} from './json-value-formatter.js'

const enum Expect {
  Value,
  ArrayFirst,
  ObjectFirst,
  ObjectKey,
  Colon,
  AfterValue,
  Done,
}

const enum Lex {
  None,
  String,
  Number,
  Literal,
}

const EXPECT_TEXT = ['a value', 'a value or "]"', 'a key or "}"', 'a key', '":"', '"," or a closing bracket', 'end of input']
const MAX_REPORTED = 20
/** Cap of a buffered number or literal token (a real one is a few dozen characters). */
const MAX_TOKEN = 4096
const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}


/**
 * Pretty-prints a JSON value incrementally as its text arrives in fragments (tool-call
 * arguments while they stream). Each `feed` returns the formatted text that became certain;
 * string contents stream character by character, so a long `content` or `command` argument
 * appears as it is generated, with real line breaks (see `decodeStrings`).
 *
 * After all fragments and `end()`, the concatenated output equals
 * {@link formatJsonValue}`(JSON.parse(input), opts)` (and, with `decodeStrings: false`,
 * `JSON.stringify(JSON.parse(input), null, indent)`), for any split of the input. Numbers are
 * printed as `JSON.stringify` prints them (`1.50` → `1.5`). Duplicate keys are all printed.
 *
 * Invalid input is reported to `onError` with its character offset and printed as written;
 * several top-level values are printed one after another on new lines.
 *
 * @example
 * ```ts
 * const f = new JsonStreamFormatter({ indent: 2 })
 * let out = f.feed('{"command":"ls -la\\ncd ')
 * out += f.feed('src"}')
 * out += f.end()
 * // {
 * //   "command": "ls -la
 * // cd src"
 * // }
 * ```
 */
export class JsonStreamFormatter {
  private readonly indentSize: number
  private readonly decode: boolean
  private readonly onError: ((e: NormalizerError) => void) | undefined
  private readonly nl: string
  private readonly colon: string
  private readonly indents: string[] = ['']
  private readonly maxDepth: number
  private readonly maxOutput: number
  /** Characters printed so far (for `maxOutputChars`). */
  private printed = 0
  /** The output reached `maxOutputChars`: the rest of the value is only counted. */
  private cut = false
  /** The depth marker was printed for this value. */
  private deepMarked = false

  private stack: number[] = []
  private expect: Expect = Expect.Value
  private pendingOpen = false
  private lex: Lex = Lex.None
  private isKey = false
  private token = ''
  private esc = ''
  private hi = 0
  private pos = 0
  private reported = 0

  /** @param opts - see {@link JsonStreamFormatterOptions} */
  constructor(opts: JsonStreamFormatterOptions = {}) {
    const indent = opts.indent ?? 2
    if (!Number.isInteger(indent) || indent < 0 || indent > 10) {
      throw new RangeError(`JsonStreamFormatter: indent must be an integer from 0 to 10, was ${String(indent)}`)
    }
    this.indentSize = indent
    const maxDepth = opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH
    const maxOutput = opts.maxOutputChars ?? DEFAULT_MAX_JSON_OUTPUT
    if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new RangeError(`JsonStreamFormatter: maxDepth must be an integer >= 1, was ${String(maxDepth)}`)
    if (!Number.isInteger(maxOutput) || maxOutput < 64) throw new RangeError(`JsonStreamFormatter: maxOutputChars must be an integer >= 64, was ${String(maxOutput)}`)
    this.maxDepth = maxDepth
    this.maxOutput = maxOutput
    this.decode = opts.decodeStrings ?? true
    this.onError = opts.onError
    this.nl = indent > 0 ? '\n' : ''
    this.colon = indent > 0 ? ': ' : ':'
  }

  /**
   * Feeds the next fragment of JSON text.
   * @returns the formatted text that became available (may be empty)
   */
  feed(fragment: string): string {
    if (this.cut) {
      this.pos += fragment.length
      return ''
    }
    const out: string[] = []
    const n = fragment.length
    const decode = this.decode
    let i = 0
    while (i < n) {
      const lex = this.lex
      if (lex === Lex.String) {
        if (this.esc === '') {
          // Copy the longest run of plain characters at once.
          // The regex engine finds the next special character far faster than a char loop.
          const special = decode ? SPECIAL_DECODED : SPECIAL_RAW
          special.lastIndex = i
          const found = special.exec(fragment)
          const j = found === null ? n : found.index
          if (j > i) {
            if (this.hi !== 0) this.flushHigh(out)
            out.push(fragment.slice(i, j))
            i = j
            if (i >= n) break
          }
          const c = fragment.charCodeAt(i)
          if (c === 0x22) {
            if (this.hi !== 0) this.flushHigh(out)
            out.push('"')
            this.lex = Lex.None
            i++
            if (this.isKey) this.expect = Expect.Colon
            else this.afterValue()
            continue
          }
          if (c === 0x5c) {
            this.esc = '\\'
            i++
            continue
          }
          // A raw control character or raw surrogate inside a string.
          if (c < 0x20) this.report('INVALID_JSON', `raw control character 0x${c.toString(16).padStart(2, '0')} inside a string: JSON requires it escaped`, i, fragment)
          this.unit(c, out)
          i++
          continue
        }
        this.escapeChar(fragment, i, out)
        i++
        continue
      }
      const c = fragment.charCodeAt(i)
      if (lex === Lex.Number) {
        if (isNumberChar(c)) {
          this.token += fragment[i]
          if (this.token.length > MAX_TOKEN) this.spill(out)
          i++
          continue
        }
        this.finishNumber(out)
        continue
      }
      if (lex === Lex.Literal) {
        if (c >= 0x61 && c <= 0x7a) {
          this.token += fragment[i]
          if (this.token.length > MAX_TOKEN) this.spill(out)
          i++
          continue
        }
        this.finishLiteral(out)
        continue
      }
      if (isWs(c)) {
        i++
        continue
      }
      this.structural(c, fragment, i, out)
      i++
    }
    this.pos += n
    return this.capped(out.length === 1 ? (out[0] as string) : out.join(''))
  }

  /** Applies `maxOutputChars` to a piece of output. */
  private capped(text: string): string {
    if (this.cut) return ''
    if (text === '') return text
    const room = this.maxOutput - this.printed
    if (text.length <= room) {
      this.printed += text.length
      return text
    }
    this.cut = true
    this.printed = this.maxOutput
    return text.slice(0, Math.max(0, room)) + outputCutMarker(this.maxOutput)
  }

  /**
   * Ends the input: completes a number or literal still open and reports input that ended
   * inside a string or container.
   * @returns the remaining formatted text
   */
  end(): string {
    if (this.cut) {
      this.resetState()
      return ''
    }
    const out: string[] = []
    if (this.lex === Lex.Number) this.finishNumber(out)
    else if (this.lex === Lex.Literal) this.finishLiteral(out)
    if (this.lex === Lex.String) {
      if (this.hi !== 0) this.flushHigh(out)
      if (this.esc !== '') {
        out.push(this.decode ? this.esc : this.esc.replace('\\', '\\\\'))
        this.esc = ''
      }
      this.report('UNEXPECTED_END', 'input ended inside a string: expected a closing \'"\'', 0, '')
    } else if (this.stack.length > 0) {
      this.report('UNEXPECTED_END', `input ended with ${this.stack.length} unclosed ${this.stack.length === 1 ? 'container' : 'containers'}: expected ${EXPECT_TEXT[this.expect] ?? ''}`, 0, '')
    } else if (this.expect === Expect.Value && this.pos > 0) {
      this.report('UNEXPECTED_END', 'input ended before any value', 0, '')
    }
    const text = this.capped(out.join(''))
    this.resetState()
    return text
  }

  /** Forgets all state (a new value starts). */
  reset(): void {
    this.resetState()
  }

  private resetState(): void {
    this.stack = []
    this.expect = Expect.Value
    this.pendingOpen = false
    this.lex = Lex.None
    this.isKey = false
    this.token = ''
    this.spilled = false
    this.esc = ''
    this.hi = 0
    this.pos = 0
    this.reported = 0
    this.printed = 0
    this.cut = false
    this.deepMarked = false
  }

  private indentOf(depth: number): string {
    let s = this.indents[depth]
    if (s === undefined) {
      s = ' '.repeat(depth * this.indentSize)
      this.indents[depth] = s
    }
    return s
  }

  /**
   * The line break and indentation before an item of the container at `depth` (1 = top level
   * container). Past `maxDepth` the container is compact: no line break, no indentation.
   */
  private breakAt(depth: number): string {
    return depth > this.maxDepth ? '' : this.nl + this.indentOf(depth)
  }

  /** Output due before a key or value: the line break after an opening bracket. */
  private prefix(out: string[]): void {
    if (this.pendingOpen) {
      this.pendingOpen = false
      out.push(this.breakAt(this.stack.length))
    }
  }

  private afterValue(): void {
    this.expect = this.stack.length > 0 ? Expect.AfterValue : Expect.Done
  }

  /** Checks that a value may start here; repairs the state (and reports) when not. */
  private valueStart(out: string[], fragment: string, i: number, asKey: boolean): boolean {
    const e = this.expect
    if (e === Expect.Value || e === Expect.ArrayFirst) {
      this.prefix(out)
      return false
    }
    if (asKey && (e === Expect.ObjectFirst || e === Expect.ObjectKey)) {
      this.prefix(out)
      return true
    }
    this.report('INVALID_JSON', `unexpected ${JSON.stringify(fragment[i] ?? '')}: expected ${EXPECT_TEXT[e] ?? ''}`, i, fragment)
    if (e === Expect.Done) {
      // Concatenated top-level values: print each on its own line.
      out.push('\n')
      this.expect = Expect.Value
      return false
    }
    if (e === Expect.Colon) {
      out.push(this.colon)
      this.expect = Expect.Value
      return false
    }
    if (e === Expect.AfterValue) {
      out.push(this.breakAt(this.stack.length))
      return this.stack[this.stack.length - 1] === 0x7b
    }
    // A non-string where a key belongs: print it as a value.
    this.prefix(out)
    this.expect = Expect.Value
    return false
  }

  private structural(c: number, fragment: string, i: number, out: string[]): void {
    switch (c) {
      case 0x7b: // {
      case 0x5b: // [
        this.valueStart(out, fragment, i, false)
        if (this.stack.length === this.maxDepth && !this.deepMarked) {
          this.deepMarked = true
          out.push(depthMarker(this.maxDepth))
        }
        out.push(c === 0x7b ? '{' : '[')
        this.stack.push(c)
        this.pendingOpen = true
        this.expect = c === 0x7b ? Expect.ObjectFirst : Expect.ArrayFirst
        return
      case 0x7d: // }
      case 0x5d: { // ]
        const open = c === 0x7d ? 0x7b : 0x5b
        const top = this.stack[this.stack.length - 1]
        const e = this.expect
        if (top !== open || !(e === Expect.AfterValue || e === (open === 0x7b ? Expect.ObjectFirst : Expect.ArrayFirst))) {
          this.report('INVALID_JSON', `unexpected ${JSON.stringify(fragment[i] ?? '')}: expected ${EXPECT_TEXT[e] ?? ''}`, i, fragment)
          if (top !== open) {
            out.push(fragment[i] ?? '')
            return
          }
        }
        // The closing bracket lines up with its container's items' parent (compact past maxDepth).
        const depth = this.stack.length
        this.stack.pop()
        if (this.pendingOpen) this.pendingOpen = false
        else out.push(depth > this.maxDepth ? '' : this.nl + this.indentOf(depth - 1))
        out.push(c === 0x7d ? '}' : ']')
        this.afterValue()
        return
      }
      case 0x2c: // ,
        if (this.expect !== Expect.AfterValue) {
          this.report('INVALID_JSON', `unexpected ",": expected ${EXPECT_TEXT[this.expect] ?? ''}`, i, fragment)
          if (this.stack.length === 0) {
            out.push(',')
            return
          }
        }
        out.push(`,${this.breakAt(this.stack.length)}`)
        this.expect = this.stack[this.stack.length - 1] === 0x7b ? Expect.ObjectKey : Expect.Value
        return
      case 0x3a: // :
        if (this.expect !== Expect.Colon) {
          this.report('INVALID_JSON', `unexpected ":": expected ${EXPECT_TEXT[this.expect] ?? ''}`, i, fragment)
          out.push(':')
          return
        }
        out.push(this.colon)
        this.expect = Expect.Value
        return
      case 0x22: // "
        this.isKey = this.valueStart(out, fragment, i, true)
        out.push('"')
        this.lex = Lex.String
        return
      default:
        if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
          this.valueStart(out, fragment, i, false)
          this.lex = Lex.Number
          this.token = fragment[i] ?? ''
          this.tokenOffset = this.pos + i
          return
        }
        if (c >= 0x61 && c <= 0x7a) {
          this.valueStart(out, fragment, i, false)
          this.lex = Lex.Literal
          this.token = fragment[i] ?? ''
          this.tokenOffset = this.pos + i
          return
        }
        this.report('INVALID_JSON', `unexpected character ${JSON.stringify(fragment[i] ?? '')}: expected ${EXPECT_TEXT[this.expect] ?? ''}`, i, fragment)
        out.push(c < 0x20 || c === 0x7f ? hex4(c) : (fragment[i] ?? ''))
    }
  }

  private tokenOffset = 0
  private spilled = false

  /** A number or literal over the cap: printed as it goes, reported once, never buffered further. */
  private spill(out: string[]): void {
    if (!this.spilled) {
      this.spilled = true
      this.reportAt('INVALID_JSON', `number or literal longer than ${MAX_TOKEN} characters; printed as written`, this.tokenOffset, this.token)
    }
    out.push(this.token)
    this.token = ''
  }

  private finishSpilled(out: string[]): boolean {
    if (!this.spilled) return false
    this.spilled = false
    out.push(this.token)
    this.token = ''
    this.lex = Lex.None
    this.afterValue()
    return true
  }

  private finishNumber(out: string[]): void {
    if (this.finishSpilled(out)) return
    const tok = this.token
    this.token = ''
    this.lex = Lex.None
    if (NUMBER_RE.test(tok)) {
      const v = Number(tok)
      out.push(Number.isFinite(v) ? String(v) : 'null')
    } else {
      this.reportAt('INVALID_JSON', `invalid number ${JSON.stringify(tok)}`, this.tokenOffset, tok)
      out.push(tok)
    }
    this.afterValue()
  }

  private finishLiteral(out: string[]): void {
    if (this.finishSpilled(out)) return
    const tok = this.token
    this.token = ''
    this.lex = Lex.None
    if (tok !== 'true' && tok !== 'false' && tok !== 'null') {
      this.reportAt('INVALID_JSON', `invalid literal ${JSON.stringify(tok)}: expected true, false or null`, this.tokenOffset, tok)
    }
    out.push(tok)
    this.afterValue()
  }

  /** One character of an escape sequence inside a string. */
  private escapeChar(fragment: string, i: number, out: string[]): void {
    const c = fragment.charCodeAt(i)
    if (this.esc.length === 1) {
      if (c === 0x75) {
        this.esc = '\\u'
        return
      }
      this.esc = ''
      const simple = SIMPLE_ESCAPES[c]
      if (simple !== undefined) {
        this.unit(simple.charCodeAt(0), out)
        return
      }
      this.report('INVALID_JSON', `invalid escape ${JSON.stringify(`\\${fragment[i] ?? ''}`)} in a string; printed as written`, i - 1, fragment)
      if (this.hi !== 0) this.flushHigh(out)
      // Print the backslash and the character as literal text.
      out.push(this.decode ? '\\' : '\\\\')
      this.unit(c, out)
      return
    }
    if (hexValue(c) === -1) {
      this.report('INVALID_JSON', `invalid \\u escape ${JSON.stringify(this.esc + (fragment[i] ?? ''))}: expected 4 hex digits; printed as written`, i, fragment)
      if (this.hi !== 0) this.flushHigh(out)
      out.push(this.decode ? this.esc : `\\${this.esc}`)
      this.esc = ''
      this.unit(c, out)
      return
    }
    this.esc += fragment[i]
    if (this.esc.length === 6) {
      const code = parseInt(this.esc.slice(2), 16)
      this.esc = ''
      this.unit(code, out)
    }
  }

  /** Writes one decoded code unit of a string, pairing surrogates. */
  private unit(code: number, out: string[]): void {
    if (this.hi !== 0) {
      if (code >= 0xdc00 && code <= 0xdfff) {
        out.push(String.fromCharCode(this.hi, code))
        this.hi = 0
        return
      }
      this.flushHigh(out)
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      this.hi = code
      return
    }
    out.push(encodeUnit(code, this.decode))
  }

  private flushHigh(out: string[]): void {
    out.push(hex4(this.hi))
    this.hi = 0
  }

  private report(code: 'INVALID_JSON' | 'UNEXPECTED_END', message: string, i: number, fragment: string): void {
    this.reportAt(code, message, this.pos + i, code === 'UNEXPECTED_END' ? '' : fragment.slice(Math.max(0, i - 20), i + 20))
  }

  private reportAt(code: 'INVALID_JSON' | 'UNEXPECTED_END', message: string, offset: number, excerpt: string): void {
    if (this.onError === undefined) return
    this.reported++
    if (this.reported > MAX_REPORTED) return
    const msg = this.reported === MAX_REPORTED ? `${message} (further errors of this value are not reported)` : message
    this.onError(new NormalizerError(code, `${msg} at offset ${offset}`, { offset, excerpt: excerptOf(excerpt) }))
  }
}
