/**
 * The non-streaming JSON formatter ({@link formatJsonValue}) and what it shares with the streaming
 * one in json-stream-formatter.ts: options, limits, markers and how string characters are written.
 */
import type { NormalizerError } from './errors.js'

/** Options of {@link JsonStreamFormatter} and {@link formatJsonValue}. */
export interface JsonStreamFormatterOptions {
  /**
   * Spaces per nesting level; `0` prints compact JSON.
   * @defaultValue 2
   */
  indent?: number
  /**
   * `true`: string contents are decoded for display, so `\n` and `\t` become real line breaks
   * and tabs and `\"`, `\\`, `\uXXXX` their characters (other control characters, C1 controls
   * and lone surrogates stay escaped so a terminal cannot be steered by them).
   * `false`: strings are re-escaped exactly like `JSON.stringify`, so the output after all
   * fragments equals `JSON.stringify(JSON.parse(input), null, indent)`.
   * @defaultValue true
   */
  decodeStrings?: boolean
  /**
   * Containers nested deeper than this are printed compact (no line breaks, no indentation),
   * after a visible marker, so indentation never grows with the depth: without it, 15,000 levels
   * of `[` (30 KB of arguments) would print over 200 million spaces.
   * @defaultValue 64
   */
  maxDepth?: number
  /**
   * Most characters one value prints. Past it the output ends with a visible marker and the rest
   * of the input is only counted, so one tool call can never print without bound.
   * @defaultValue 4194304 (4 Mi characters)
   */
  maxOutputChars?: number
  /** Called for characters that cannot appear where they are and for input that ends early. */
  onError?(e: NormalizerError): void
}

/** Default of {@link JsonStreamFormatterOptions.maxDepth}. */
export const DEFAULT_MAX_JSON_DEPTH = 64
/** Default of {@link JsonStreamFormatterOptions.maxOutputChars}. */
export const DEFAULT_MAX_JSON_OUTPUT = 4 * 1024 * 1024

/** Printed where nesting first goes past `maxDepth`. */
export function depthMarker(maxDepth: number): string {
  return `«nested deeper than ${maxDepth} levels: shown compact» `
}

/** Printed where the output reaches `maxOutputChars`. */
export function outputCutMarker(maxOutputChars: number): string {
  return `\n… output cut at ${maxOutputChars} characters`
}

export function hex4(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`
}

/** How a decoded code unit is written in a string, for both modes. */
export function encodeUnit(code: number, decode: boolean): string {
  if (decode) {
    if (code === 0x0a) return '\n'
    if (code === 0x09) return '\t'
    if (code === 0x22) return '"'
    if (code === 0x5c) return '\\'
  } else {
    if (code === 0x22) return '\\"'
    if (code === 0x5c) return '\\\\'
    if (code === 0x0a) return '\\n'
    if (code === 0x09) return '\\t'
  }
  if (code === 0x08) return '\\b'
  if (code === 0x0c) return '\\f'
  if (code === 0x0d) return '\\r'
  if (code < 0x20) return hex4(code)
  if (decode && (code === 0x7f || (code >= 0x80 && code <= 0x9f))) return hex4(code)
  if (code >= 0xd800 && code <= 0xdfff) return hex4(code)
  return String.fromCharCode(code)
}

/** Characters of a string that cannot be copied unchanged (the complement of {@link isPlain}). */
// eslint-disable-next-line no-control-regex
export const SPECIAL_RAW = /["\\\u0000-\u001f\ud800-\udfff]/g
// eslint-disable-next-line no-control-regex
export const SPECIAL_DECODED = /["\\\u0000-\u001f\u007f-\u009f\ud800-\udfff]/g

/** True when a raw string character can be copied to the output unchanged. */
export function isPlain(c: number, decode: boolean): boolean {
  if (c < 0x20 || c === 0x22 || c === 0x5c) return false
  if (c >= 0xd800 && c <= 0xdfff) return false
  if (decode && (c === 0x7f || (c >= 0x80 && c <= 0x9f))) return false
  return true
}

/**
 * Formats a parsed JSON value exactly as {@link JsonStreamFormatter} prints its text: the
 * non-streaming reference (with `decodeStrings: false` it equals `JSON.stringify(v, null, indent)`).
 * `undefined`, functions and symbols are skipped like `JSON.stringify` skips them; `toJSON` is
 * not called.
 */
export function formatJsonValue(value: unknown, opts: Omit<JsonStreamFormatterOptions, 'onError'> = {}): string {
  const indent = opts.indent ?? 2
  const decode = opts.decodeStrings ?? true
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_JSON_DEPTH
  const maxOutput = opts.maxOutputChars ?? DEFAULT_MAX_JSON_OUTPUT
  let deepMarked = false
  const nl = indent > 0 ? '\n' : ''
  const colon = indent > 0 ? ': ' : ':'
  const parts: string[] = []
  const str = (s: string): void => {
    parts.push('"')
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (isPlain(c, decode)) {
        let j = i + 1
        while (j < s.length && isPlain(s.charCodeAt(j), decode)) j++
        parts.push(s.slice(i, j))
        i = j - 1
        continue
      }
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = s.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) {
          parts.push(s.slice(i, i + 2))
          i++
          continue
        }
      }
      parts.push(encodeUnit(c, decode))
    }
    parts.push('"')
  }
  const walk = (v: unknown, depth: number): void => {
    if (v === null) {
      parts.push('null')
      return
    }
    switch (typeof v) {
      case 'string':
        str(v)
        return
      case 'number':
        parts.push(Number.isFinite(v) ? String(v) : 'null')
        return
      case 'boolean':
        parts.push(v ? 'true' : 'false')
        return
      case 'bigint':
        parts.push(String(v))
        return
      case 'object':
        break
      default:
        parts.push('null')
        return
    }
    // Same layout rule as the streaming formatter: containers past maxDepth are compact.
    const compact = depth + 1 > maxDepth
    const pad = compact ? '' : nl + ' '.repeat((depth + 1) * indent)
    const close = compact ? '' : nl + ' '.repeat(depth * indent)
    if (depth === maxDepth && !deepMarked) {
      deepMarked = true
      parts.push(depthMarker(maxDepth))
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        parts.push('[]')
        return
      }
      parts.push('[')
      for (let k = 0; k < v.length; k++) {
        parts.push(k === 0 ? pad : `,${pad}`)
        const item: unknown = v[k]
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') parts.push('null')
        else walk(item, depth + 1)
      }
      parts.push(close, ']')
      return
    }
    let first = true
    parts.push('{')
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue
      parts.push(first ? pad : `,${pad}`)
      first = false
      str(k)
      parts.push(colon)
      walk(item, depth + 1)
    }
    if (first) parts.push('}')
    else parts.push(close, '}')
  }
  walk(value, 0)
  const text = parts.join('')
  return text.length > maxOutput ? text.slice(0, maxOutput) + outputCutMarker(maxOutput) : text
}