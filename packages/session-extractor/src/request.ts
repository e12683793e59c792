import { SessionExtractorError } from './errors.js'
import type { HeaderValue, RequestHeaders, RequestInfo } from './types.js'

const lowerHeaderCache = new WeakMap<object, Map<string, HeaderValue>>()

/** Lower-cased view of a header object, built once per headers object. */
function lowerHeaders(headers: RequestHeaders): Map<string, HeaderValue> {
  let map = lowerHeaderCache.get(headers)
  if (map === undefined) {
    map = new Map()
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase()
      // Two spellings of one name: keep the first non-empty value.
      if (!map.has(lower) || first(map.get(lower)) === undefined) map.set(lower, headers[name])
    }
    lowerHeaderCache.set(headers, map)
  }
  return map
}

function first(v: HeaderValue): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim()
  if (Array.isArray(v)) {
    for (const item of v) if (typeof item === 'string' && item.trim() !== '') return item.trim()
  }
  return undefined
}

/** First non-empty, trimmed value of a header, looked up case-insensitively. */
export function getHeader(req: RequestInfo, name: string): string | undefined {
  return first(lowerHeaders(req.headers).get(name))
}

export function assertRequest(req: unknown, fn: string): asserts req is RequestInfo {
  if (typeof req !== 'object' || req === null) {
    throw new SessionExtractorError('INVALID_ARGUMENT', `${fn}: expected a request object { method, url, headers }, received ${req === null ? 'null' : typeof req}`)
  }
  const r = req as Partial<RequestInfo>
  if (typeof r.url !== 'string') {
    throw new SessionExtractorError('INVALID_ARGUMENT', `${fn}: expected req.url to be a string, received ${typeof r.url}`)
  }
  if (typeof r.headers !== 'object' || r.headers === null) {
    throw new SessionExtractorError('INVALID_ARGUMENT', `${fn}: expected req.headers to be an object, received ${r.headers === null ? 'null' : typeof r.headers}`)
  }
}

/** Host (lower-case, no port, no userinfo) and path (no query) of a request. */
export interface UrlParts {
  host: string
  path: string
}

/** Split an absolute or origin-form URL without throwing on malformed input. */
export function urlParts(req: RequestInfo): UrlParts {
  const url = req.url
  let host = ''
  let rest = url
  const scheme = url.indexOf('://')
  if (scheme > 0 && scheme < 16 && !url.startsWith('/')) {
    const afterScheme = scheme + 3
    let end = url.length
    for (let i = afterScheme; i < url.length; i++) {
      const c = url.charCodeAt(i)
      if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) {
        end = i
        break
      }
    }
    host = url.slice(afterScheme, end)
    rest = url.slice(end)
  } else {
    host = getHeader(req, 'host') ?? getHeader(req, ':authority') ?? ''
  }
  const at = host.lastIndexOf('@')
  if (at >= 0) host = host.slice(at + 1)
  if (host.startsWith('[')) {
    const close = host.indexOf(']')
    host = close > 0 ? host.slice(0, close + 1) : host
  } else {
    const colon = host.indexOf(':')
    if (colon >= 0) host = host.slice(0, colon)
  }
  let pathEnd = rest.length
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i)
    if (c === 63 || c === 35) {
      pathEnd = i
      break
    }
  }
  const path = rest.slice(0, pathEnd) || '/'
  return { host: host.toLowerCase(), path: path.toLowerCase() }
}

const bodyCache = new WeakMap<object, unknown>()
const decoder = new TextDecoder('utf-8', { fatal: false })

/**
 * The body as a JSON object when it is one (parsed JSON, or a string / bytes holding JSON).
 * Parsed once per request object; malformed JSON yields `undefined` (the chain falls through).
 */
export function bodyObject(req: RequestInfo): Record<string, unknown> | undefined {
  const body = req.body
  if (body === undefined || body === null) return undefined
  if (typeof body === 'object' && !(body instanceof Uint8Array) && !ArrayBuffer.isView(body)) {
    return Array.isArray(body) ? undefined : (body as Record<string, unknown>)
  }
  if (bodyCache.has(req)) return bodyCache.get(req) as Record<string, unknown> | undefined
  let parsed: unknown
  let text: string | undefined
  if (typeof body === 'string') text = body
  else if (body instanceof Uint8Array) text = decoder.decode(body)
  if (text !== undefined && /^\s*\{/.test(text.slice(0, 64))) {
    try {
      // A leading BOM is whitespace to the check above but a syntax error to JSON.parse.
      parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
    } catch {
      parsed = undefined
    }
  }
  const result = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
  bodyCache.set(req, result)
  return result
}

/** Byte length of the body as it went over the wire (JSON bodies are measured re-serialized). */
export function bodyByteLength(body: unknown): number {
  if (body === undefined || body === null) return 0
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8')
  if (ArrayBuffer.isView(body)) return body.byteLength
  if (body instanceof ArrayBuffer) return body.byteLength
  try {
    const s = JSON.stringify(body)
    return s === undefined ? 0 : Buffer.byteLength(s, 'utf8')
  } catch {
    return 0
  }
}
