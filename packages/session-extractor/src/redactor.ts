import { createHash, createHmac } from 'node:crypto'
import { SessionExtractorError } from './errors.js'
import { BUILTIN_SOURCE, NOT_SECRET_NAMES, SECRET_NAME_SUFFIX_RE, SECRET_PARAM_NAMES, VENDOR_PREFIX_RE } from './patterns.js'
import type { Redactor, RedactorOptions, RequestHeaders, SecretSpan } from './types.js'

/** Every marker starts with this; text that already holds a marker is not redacted twice. */
export const REDACTED_PREFIX = '[REDACTED:'

/** A value that already starts with a (vendor-prefixed) marker: redacting it again would hash the marker. */
const ALREADY_RE = /^[A-Za-z0-9_-]{0,24}\[REDACTED:[0-9a-f]{12}\]/
function isRedacted(v: string): boolean {
  return ALREADY_RE.test(v)
}
const HAS_DIGIT = /\d/
const HAS_LETTER = /[A-Za-z]/
const DOTTED_IDENT_RE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/
const ALL_LOWER_WORD_RE = /^[a-z_-]+$/
const PLACEHOLDER_VALUES = new Set(['null', 'none', 'true', 'false', 'undefined', 'string', 'required', 'optional', 'redacted', 'xxx', 'your_api_key', 'changeme'])

/** Header names whose whole value is a credential; the `authorization`-like ones keep their scheme. */
const SCHEME_HEADERS = new Set(['authorization', 'proxy-authorization'])
const SECRET_HEADER_NAMES = new Set([
  'authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'cookie', 'set-cookie',
  'chatgpt-account-id', 'openai-organization', 'openai-project', 'anthropic-organization-id',
  'x-organization-id', 'x-account-id', 'x-goog-api-key', 'x-amz-security-token',
])
const SECRET_HEADER_WORDS = new Set([
  'auth', 'authorization', 'token', 'secret', 'key', 'apikey', 'password', 'passwd', 'pwd', 'cookie',
  'credential', 'credentials', 'signature', 'jwt', 'account', 'organization', 'org', 'accesstoken',
  'authtoken', 'sessiontoken', 'csrf', 'xsrf',
])
const NOT_SECRET_HEADERS = new Set(['sec-websocket-key', 'sec-websocket-accept', 'idempotency-key', 'x-stainless-retry-count'])

/** JSON field names (lower-cased, `-`/`_` removed) whose string/number value is a credential. */
const SECRET_FIELD_NAMES = new Set([
  'apikey', 'xapikey', 'token', 'secret', 'password', 'passwd', 'pwd', 'authorization',
  'proxyauthorization', 'cookie', 'setcookie', 'privatekey', 'secretkey', 'secretaccesskey',
  'clientsecret', 'credential', 'credentials', 'accesskey', 'sessionkey', 'bearer', 'jwt',
])
const NOT_SECRET_FIELD_NAMES = new Set(['pagetoken', 'nextpagetoken', 'continuationtoken', 'cachetoken'])

function normalizeField(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '')
}

/** `true` when a JSON field of this name holds a credential (`access_token`, `apiKey`, `client_secret`). */
export function isSecretFieldName(name: string): boolean {
  const n = normalizeField(name)
  if (SECRET_FIELD_NAMES.has(n)) return true
  if (NOT_SECRET_FIELD_NAMES.has(n)) return false
  return n.endsWith('token') || n.endsWith('secret') || n.endsWith('password') || n.endsWith('apikey') || n.endsWith('privatekey')
}

/** `true` when a header of this name carries a credential or an account/organization id. */
export function isSecretHeaderName(name: string): boolean {
  const n = name.toLowerCase()
  if (SECRET_HEADER_NAMES.has(n)) return true
  if (NOT_SECRET_HEADERS.has(n)) return false
  for (const word of n.split(/[-_]/)) if (SECRET_HEADER_WORDS.has(word)) return true
  return false
}

function isSecretParamName(name: string): boolean {
  const n = name.toLowerCase()
  if (SECRET_PARAM_NAMES.has(n)) return true
  if (NOT_SECRET_NAMES.has(n)) return false
  return SECRET_NAME_SUFFIX_RE.test(n)
}

/** Looks like generated credential material rather than a word or an expression. */
function looksRandom(v: string, minLen: number): boolean {
  return v.length >= minLen && HAS_DIGIT.test(v) && HAS_LETTER.test(v)
}

function looksLikePassword(v: string): boolean {
  if (v.length < 6) return false
  const c = v.charCodeAt(0)
  // `$VAR`, `%VAR%`, `${…}`: a reference, not a value.
  if (c === 36 || c === 37) return false
  if (PLACEHOLDER_VALUES.has(v.toLowerCase())) return false
  if (DOTTED_IDENT_RE.test(v)) return false
  return !ALL_LOWER_WORD_RE.test(v)
}

/**
 * No token character right before `offset`, except the letter of a JSON escape (`\\n`, `\\t`),
 * so a key right after an escaped newline in raw JSON text still counts as standalone.
 */
function atBoundary(s: string, offset: number, dash: boolean): boolean {
  if (offset === 0) return true
  const c = s.charCodeAt(offset - 1)
  const token = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (dash && c === 45)
  return !token || (offset >= 2 && s.charCodeAt(offset - 2) === 92)
}

function isBasicCredential(v: string): boolean {
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false
  return Buffer.from(v, 'base64').toString('latin1').includes(':')
}

interface ExtraPattern {
  re: RegExp
  named: boolean
}

function compileExtra(patterns: readonly RegExp[] | undefined): ExtraPattern[] {
  if (patterns === undefined) return []
  if (!Array.isArray(patterns)) throw new SessionExtractorError('INVALID_OPTION', `createRedactor: expected extraPatterns to be an array of RegExp, received ${typeof patterns}`)
  return patterns.map((p, i) => {
    if (!(p instanceof RegExp)) throw new SessionExtractorError('INVALID_OPTION', `createRedactor: expected extraPatterns[${i}] to be a RegExp, received ${typeof p}`)
    if (new RegExp(p.source, p.flags.replace(/[gy]/g, '')).test('')) {
      throw new SessionExtractorError('INVALID_OPTION', `createRedactor: extraPatterns[${i}] (${String(p)}) matches the empty string; it would insert markers everywhere. Make it require at least one character.`)
    }
    const flags = p.flags.includes('g') ? p.flags.replace('y', '') : `${p.flags.replace('y', '')}g`
    return { re: new RegExp(p.source, flags), named: p.source.includes('(?<secret>') }
  })
}

/**
 * Create a redactor. The default one ({@link redactHeaders}, {@link redactJson},
 * {@link redactText}, {@link redactUrl}) is `createRedactor()`.
 *
 * A secret is replaced by `[REDACTED:<12 hex>]`, the first 12 hex chars of SHA-256 of the
 * secret (HMAC with `hashKey` when given): the same key redacts to the same marker in headers,
 * bodies and URLs, so flows can be correlated by key without storing it. Harmless context is
 * kept: the auth scheme (`Bearer [REDACTED:…]`), a vendor key prefix
 * (`sk-ant-api03-[REDACTED:…]`), parameter and cookie names.
 *
 * @param opts - extra patterns, allow-listed fields, hash key.
 * @throws SessionExtractorError `INVALID_OPTION` for a malformed option.
 * @example
 * const r = createRedactor({ extraPatterns: [/corp_[a-z0-9]{20}/g], allowFields: ['metadata.user_id'] })
 * r.text('key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345') // 'key: sk-ant-api03-[REDACTED:…]'
 */
export function createRedactor(opts: RedactorOptions = {}): Redactor {
  if (typeof opts !== 'object' || opts === null) throw new SessionExtractorError('INVALID_OPTION', `createRedactor: expected an options object, received ${opts === null ? 'null' : typeof opts}`)
  const extras = compileExtra(opts.extraPatterns)
  const allowNames = new Set<string>()
  const allowPaths = new Set<string>()
  for (const f of opts.allowFields ?? []) {
    if (typeof f !== 'string' || f === '') throw new SessionExtractorError('INVALID_OPTION', `createRedactor: expected allowFields to hold non-empty strings, received ${JSON.stringify(f)}`)
    ;(f.includes('.') ? allowPaths : allowNames).add(f.toLowerCase())
  }
  const hashKey = opts.hashKey
  if (hashKey !== undefined && (typeof hashKey !== 'string' || hashKey === '')) throw new SessionExtractorError('INVALID_OPTION', 'createRedactor: expected hashKey to be a non-empty string')
  const trackPaths = allowPaths.size > 0

  const re = new RegExp(BUILTIN_SOURCE, 'g')
  // The replacer may recurse into a declined value; a second instance keeps the scans independent.
  const innerRe = new RegExp(BUILTIN_SOURCE, 'g')

  function marker(secret: string): string {
    const h = hashKey === undefined ? createHash('sha256').update(secret).digest('hex') : createHmac('sha256', hashKey).update(secret).digest('hex')
    return `${REDACTED_PREFIX}${h.slice(0, 12)}]`
  }

  /** Marker with the vendor prefix of the key kept in front. */
  function markKey(secret: string): string {
    const m = VENDOR_PREFIX_RE.exec(secret)
    return m === null ? marker(secret) : `${m[0]}${marker(secret)}`
  }

  function replacer(match: string, ...g: Array<string | number | undefined>): string {
    const offset = g[15] as number
    const whole = g[16] as string
    // A value cut short by a marker (`key=sk-ant-api03-` + `[REDACTED:…]`) was redacted before.
    if (whole.startsWith(REDACTED_PREFIX, offset + match.length)) return match
    return decide(match, g as Array<string | undefined>, whole, offset)
  }

  function decide(match: string, g: Array<string | undefined>, whole: string, offset: number): string {
    if (g[0] !== undefined) return marker(match)
    if (g[1] !== undefined) {
      if (!atBoundary(whole, offset, true)) return match
      const prefix = g[1]
      const rest = g[2] ?? ''
      // Short or loosely-shaped prefixes need stronger evidence of a generated value.
      const ok = prefix === 'sk-' ? looksRandom(rest, 20) : prefix === 'hf_' || prefix === 'npm_' ? looksRandom(rest, 30) : prefix === 'AIza' ? rest.length >= 30 : looksRandom(rest, 16)
      return ok ? `${prefix}${marker(match)}` : match
    }
    if (g[3] !== undefined) return atBoundary(whole, offset, false) ? marker(match) : match
    if (g[4] !== undefined) return marker(match)
    if (g[5] !== undefined) {
      const scheme = g[5]
      const cred = g[6] ?? ''
      const head = match.slice(0, match.length - cred.length)
      if (!atBoundary(whole, offset, false)) return `${head}${inner(cred)}`
      const s = scheme.toLowerCase()
      const ok = s === 'basic' ? isBasicCredential(cred) : s === 'bearer' ? looksRandom(cred, 12) || cred.length >= 32 : looksRandom(cred, 16)
      return ok ? `${head}${markKey(cred)}` : `${head}${inner(cred)}`
    }
    if (g[8] !== undefined) {
      const lead = g[7] ?? ''
      const name = g[8]
      const value = g[9] ?? ''
      if (!isRedacted(value) && isSecretParamName(name) && !allowNames.has(name.toLowerCase())) return `${lead}${name}=${markKey(value)}`
      return `${lead}${name}=${inner(value)}`
    }
    if (g[10] !== undefined) return isRedacted(g[10]) ? match : `:${markKey(g[10])}@`
    if (g[11] !== undefined) {
      const keyword = g[11]
      const value = g[14] ?? ''
      const head = match.slice(0, match.length - value.length)
      const k = keyword.toLowerCase()
      // `…_KEY=` only in environment-variable spelling: `sort_key = …` in code is not a secret.
      if (k === '_key' && keyword !== '_KEY') return `${head}${inner(value)}`
      const ok = !isRedacted(value) && (k === 'password' || k === 'passwd' || k === 'secret' ? looksLikePassword(value) : looksRandom(value, 8) || (value.length >= 24 && !DOTTED_IDENT_RE.test(value)))
      return ok ? `${head}${markKey(value)}` : `${head}${inner(value)}`
    }
    return match
  }

  function inner(s: string): string {
    return s.length < 12 ? s : s.replace(innerRe, replacer)
  }

  function extraReplacement(m: string, named: boolean, groups: unknown): string {
    if (m === '' || m.startsWith(REDACTED_PREFIX)) return m
    if (named && typeof groups === 'object' && groups !== null) {
      const secret = (groups as Record<string, string | undefined>)['secret']
      if (secret === undefined || secret === '' || secret.startsWith(REDACTED_PREFIX)) return m
      const at = m.indexOf(secret)
      if (at >= 0) return `${m.slice(0, at)}${marker(secret)}${m.slice(at + secret.length)}`
    }
    return marker(m)
  }

  function text(s: string): string {
    if (typeof s !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `redactor.text: expected a string, received ${typeof s}`)
    let out = s.replace(re, replacer)
    for (const { re: x, named } of extras) {
      out = out.replace(x, (m: string, ...rest: unknown[]) => extraReplacement(m, named, rest[rest.length - 1]))
    }
    return out
  }

  function findSecrets(s: string): SecretSpan[] {
    if (typeof s !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `redactor.findSecrets: expected a string, received ${typeof s}`)
    const spans: SecretSpan[] = []
    s.replace(re, (...args: unknown[]) => {
      const m = args[0] as string
      const offset = args[args.length - 2] as number
      const r = replacer(m, ...(args.slice(1) as Array<string | number | undefined>))
      if (r !== m) spans.push({ start: offset, end: offset + m.length, replacement: r })
      return m
    })
    if (extras.length > 0) {
      // Extra patterns run over the original text here; spans overlapping an earlier one are dropped.
      for (const { re: x, named } of extras) {
        x.lastIndex = 0
        s.replace(x, (...args: unknown[]) => {
          const m = args[0] as string
          const hasGroups = typeof args[args.length - 1] === 'object'
          const offset = args[args.length - (hasGroups ? 3 : 2)] as number
          const r = extraReplacement(m, named, hasGroups ? args[args.length - 1] : undefined)
          if (r !== m && !spans.some((sp) => sp.start < offset + m.length && offset < sp.end)) spans.push({ start: offset, end: offset + m.length, replacement: r })
          return m
        })
      }
      spans.sort((a, b) => a.start - b.start)
    }
    return spans
  }

  function redactHeaderValue(name: string, value: string): string {
    if (value === '' || isRedacted(value)) return value
    const n = name.toLowerCase()
    if (SCHEME_HEADERS.has(n)) {
      const m = /^([A-Za-z][A-Za-z0-9._-]{0,31})[ \t]+(\S[\s\S]*)$/.exec(value)
      if (m !== null && m[1] !== undefined && m[2] !== undefined) return isRedacted(m[2]) ? value : `${m[1]} ${markKey(m[2].trim())}`
      return markKey(value.trim())
    }
    if (n === 'cookie') {
      return value
        .split(';')
        .map((pair) => {
          const eq = pair.indexOf('=')
          if (eq < 0) return pair.trim() === '' ? pair : marker(pair.trim())
          const v = pair.slice(eq + 1).trim()
          return v === '' || isRedacted(v) ? pair : `${pair.slice(0, eq + 1)}${marker(v)}`
        })
        .join(';')
    }
    if (n === 'set-cookie') {
      const semi = value.indexOf(';')
      const first = semi < 0 ? value : value.slice(0, semi)
      const eq = first.indexOf('=')
      const v = eq < 0 ? first.trim() : first.slice(eq + 1).trim()
      if (v === '' || isRedacted(v)) return value
      return `${eq < 0 ? '' : first.slice(0, eq + 1)}${marker(v)}${semi < 0 ? '' : value.slice(semi)}`
    }
    return markKey(value.trim())
  }

  function headers(h: RequestHeaders): Record<string, string | string[]> {
    if (typeof h !== 'object' || h === null) throw new SessionExtractorError('INVALID_ARGUMENT', `redactor.headers: expected a headers object, received ${h === null ? 'null' : typeof h}`)
    const out: Record<string, string | string[]> = {}
    for (const name of Object.keys(h)) {
      const v = h[name]
      if (v === undefined) continue
      const lower = name.toLowerCase()
      if (allowNames.has(lower)) {
        out[name] = Array.isArray(v) ? v.slice() : v
      } else if (isSecretHeaderName(name)) {
        out[name] = Array.isArray(v) ? v.map((x) => redactHeaderValue(name, String(x))) : redactHeaderValue(name, String(v))
      } else {
        // Any header may still carry a key (`x-custom: sk-…`, a referer with ?token=).
        out[name] = Array.isArray(v) ? v.map((x) => text(String(x))) : text(String(v))
      }
    }
    return out
  }

  function walk(value: unknown, path: string | undefined, depth: number): unknown {
    if (typeof value === 'string') return value.length < 6 ? value : text(value)
    if (typeof value !== 'object' || value === null) return value
    // Deeper than any real request; stop copying rather than overflow the stack on hostile input.
    if (depth > 512) return '[REDACTED:depth]'
    if (Array.isArray(value)) {
      let out: unknown[] | undefined
      for (let i = 0; i < value.length; i++) {
        const v = value[i]
        const r = walk(v, path, depth + 1)
        if (r !== v && out === undefined) out = value.slice(0, i)
        if (out !== undefined) out.push(r)
      }
      return out ?? value
    }
    let out: Record<string, unknown> | undefined
    const keys = Object.keys(value)
    const obj = value as Record<string, unknown>
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string
      const v = obj[k]
      const childPath = trackPaths ? (path === undefined || path === '' ? k.toLowerCase() : `${path}.${k.toLowerCase()}`) : undefined
      let r: unknown
      if (allowNames.has(k.toLowerCase()) || (childPath !== undefined && allowPaths.has(childPath))) r = v
      else if ((typeof v === 'string' && v !== '' && !isRedacted(v)) || typeof v === 'number') r = isSecretFieldName(k) ? redactFieldValue(v) : walk(v, childPath, depth + 1)
      else r = walk(v, childPath, depth + 1)
      const rk = k.length < 12 ? k : text(k)
      if ((r !== v || rk !== k) && out === undefined) {
        out = {}
        for (let j = 0; j < i; j++) {
          const pk = keys[j] as string
          out[pk] = obj[pk]
        }
      }
      if (out !== undefined) out[rk] = r
    }
    return out ?? value
  }

  function redactFieldValue(v: string | number): string {
    const s = String(v)
    if (isRedacted(s)) return s
    // `Bearer …` in a field keeps its scheme just like the header does.
    const m = /^(Bearer|Basic|Token)[ \t]+(\S+)$/i.exec(s)
    if (m !== null && m[1] !== undefined && m[2] !== undefined) return `${m[1]} ${markKey(m[2])}`
    return markKey(s)
  }

  function json(value: unknown): unknown {
    return walk(value, trackPaths ? '' : undefined, 0)
  }

  function url(u: string): string {
    if (typeof u !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `redactor.url: expected a string, received ${typeof u}`)
    return text(u)
  }

  return { headers, json, text, url, findSecrets }
}

const defaultRedactor = createRedactor()

/** Redact headers with the default redactor. See {@link createRedactor}. */
export function redactHeaders(h: RequestHeaders): Record<string, string | string[]> {
  return defaultRedactor.headers(h)
}

/** Redact a parsed JSON value with the default redactor (copy-on-write). See {@link createRedactor}. */
export function redactJson(value: unknown): unknown {
  return defaultRedactor.json(value)
}

/** Redact free text with the default redactor. See {@link createRedactor}. */
export function redactText(s: string): string {
  return defaultRedactor.text(s)
}

/** Redact a URL with the default redactor. See {@link createRedactor}. */
export function redactUrl(u: string): string {
  return defaultRedactor.url(u)
}
