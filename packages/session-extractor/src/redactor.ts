import { SessionExtractorError } from './errors.js'
import { CONTEXT_SOURCE, KEY_SOURCE, LEADING_PARAM_RE, NETRC_SOURCE, NOT_SECRET_NAMES, PEM_SOURCE, SECRET_NAME_SUFFIX_RE, SECRET_PARAM_NAMES, USERINFO_SOURCE, VENDOR_PREFIX_RE } from './patterns.js'
import type { Redactor, RedactorOptions, RequestHeaders, SecretSpan } from './types.js'

/**
 * `node:crypto`, loaded when the first secret is marked: a reader that imports the redactor but
 * meets no secret (`./redact` in a transcript reader that only counts tokens) does not load it.
 */
let cryptoModule: typeof import('node:crypto') | undefined
const crypto = (): typeof import('node:crypto') => (cryptoModule ??= process.getBuiltinModule('node:crypto'))

/** Every marker starts with this; text that already holds a marker is not redacted twice. */
export const REDACTED_PREFIX = '[REDACTED:'

/**
 * A value that already starts with a (vendor-prefixed) marker: redacting it again would hash the
 * marker. Any `[REDACTED…` counts, including other tools' spellings (`[REDACTED sha256:…]`).
 */
const ALREADY_RE = /^[A-Za-z0-9_.-]{0,24}\[REDACTED[ :]/
function isRedacted(v: string): boolean {
  return ALREADY_RE.test(v)
}
const ENTRY_OVERHEAD = 48
/** Rescans of declined candidates per pass and text (keeps adversarial input linear). */
const MAX_REWINDS = 4096
const utf8Strict = new TextDecoder('utf-8', { fatal: true })
const HAS_DIGIT = /\d/
const HAS_LETTER = /[A-Za-z]/
const DOTTED_IDENT_RE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/
/** A bare identifier, word or type name: letters, `_`, `-` only (a password has a digit or symbol). */
const IDENT_RE = /^[A-Za-z_-]+$/
const FORMAT_PLACEHOLDER_RE = /^%(?:[sdrif]|\()/
const TOKEN_VALUE_RE = /^[A-Za-z0-9._~+/=-]+$/
const TRAILING_PUNCT_RE = /[.:!?]+$/
const PLACEHOLDER_VALUES = new Set(['null', 'none', 'true', 'false', 'undefined', 'string', 'required', 'optional', 'redacted', 'xxx', 'your_api_key', 'changeme'])
/** Keywords whose value is a password (any shape but a word or an expression), not a generated token. */
const PASSWORD_KEYWORDS = new Set(['password', 'passwd', 'secret', '_pass', '-pass', '_pwd', '-pwd'])

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
  // Field names repeat across every record and request: decide each once.
  let known = fieldNameMemo.get(name)
  if (known === undefined) {
    const n = normalizeField(name)
    known = SECRET_FIELD_NAMES.has(n) || (!NOT_SECRET_FIELD_NAMES.has(n) && (n.endsWith('token') || n.endsWith('secret') || n.endsWith('password') || n.endsWith('apikey') || n.endsWith('privatekey')))
    if (fieldNameMemo.size >= 10_000) fieldNameMemo.clear()
    fieldNameMemo.set(name, known)
  }
  return known
}
const fieldNameMemo = new Map<string, boolean>()

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

/**
 * A password value rather than code or prose: at least 6 chars, not a reference (`$VAR`,
 * `%VAR%`), a placeholder, a dotted expression or a bare identifier / type name
 * (`BinaryLike`): it needs a digit or a symbol.
 */
function looksLikePassword(v: string): boolean {
  if (v.length < 6) return false
  const c = v.charCodeAt(0)
  if (c === 36 || c === 37 || c === 61) return false
  if (PLACEHOLDER_VALUES.has(v.toLowerCase())) return false
  if (DOTTED_IDENT_RE.test(v) || IDENT_RE.test(v)) return false
  return true
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

/** `JSON.parse` makes `"__proto__"` an own property; a plain assignment would set the prototype instead. */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  else o[k] = v
}

/** Base64 of `user:password` (HTTP Basic, docker config `auth`). */
function isBasicCredential(v: string): boolean {
  if (v.length < 8 || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false
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
  if (opts.cacheChars !== undefined && (!Number.isInteger(opts.cacheChars) || opts.cacheChars < 0)) throw new SessionExtractorError('INVALID_OPTION', `createRedactor: expected cacheChars to be a non-negative integer, received ${String(opts.cacheChars)}`)
  const hashKey = opts.hashKey
  if (hashKey !== undefined && (typeof hashKey !== 'string' || hashKey === '')) throw new SessionExtractorError('INVALID_OPTION', 'createRedactor: expected hashKey to be a non-empty string')
  const trackPaths = allowPaths.size > 0

  // One regex object per pass, reused (lastIndex is reset before each scan).
  const passRegexes = [new RegExp(PEM_SOURCE, 'g'), new RegExp(KEY_SOURCE, 'g'), new RegExp(CONTEXT_SOURCE, 'g'), new RegExp(USERINFO_SOURCE, 'g'), new RegExp(NETRC_SOURCE, 'g')]

  function marker(secret: string): string {
    const { createHash, createHmac } = crypto()
    const h = hashKey === undefined ? createHash('sha256').update(secret).digest('hex') : createHmac('sha256', hashKey).update(secret).digest('hex')
    return `${REDACTED_PREFIX}${h.slice(0, 12)}]`
  }

  /** Marker with the vendor prefix of the key kept in front. */
  function markKey(secret: string): string {
    const m = VENDOR_PREFIX_RE.exec(secret)
    return m === null ? marker(secret) : `${m[0]}${marker(secret)}`
  }

  /**
   * Decision for one match: the replacement of the whole match, `undefined` (not a secret),
   * or a number: not a secret itself, but rescan the match from that offset (its value).
   */
  /**
   * A decision on one match: the secret's region inside the match (only the secret, never its
   * keyword or parameter name, so overlapping finds of different passes merge cleanly) with
   * its replacement; `undefined` (not a secret); or a number: not a secret itself, rescan the
   * match from that offset (its value).
   */
  type Decision = { from: number; to: number; rep: string } | number | undefined

  function whole(match: string, rep: string): Decision {
    return { from: 0, to: match.length, rep }
  }

  function tail(match: string, value: string): Decision {
    return { from: match.length - value.length, to: match.length, rep: markKey(value) }
  }

  // Ends of PEM blocks found in the current text: what follows one starts fresh, as it will
  // after the block becomes a marker (so redacting twice finds nothing new).
  let pemEnds: number[] = []
  function boundary(s: string, at: number, dash: boolean): boolean {
    return atBoundary(s, at, dash) || pemEnds.includes(at)
  }

  function decideKey(m: RegExpExecArray, s: string): Decision {
    const match = m[0]
    if (m[1] !== undefined) {
      const prefix = m[1]
      // Declined (inside a word, or not random enough): its run may still hold a key of its own
      // (`xsk-…sk-ant-…`), so it is rescanned from after the prefix.
      if (!boundary(s, m.index, true)) return prefix.length
      const rest = m[2] ?? ''
      // Short or loosely-shaped prefixes need stronger evidence of a generated value.
      const ok = prefix === 'sk-' ? looksRandom(rest, 20) : prefix === 'hf_' || prefix === 'npm_' || prefix === 'sess-' ? looksRandom(rest, 30) : prefix === 'AIza' ? rest.length >= 30 : looksRandom(rest, 16)
      return ok ? whole(match, `${prefix}${marker(match)}`) : prefix.length
    }
    if (m[3] !== undefined) return boundary(s, m.index, false) ? whole(match, marker(match)) : undefined
    if (m[4] !== undefined) return whole(match, marker(match))
    if (m[7] !== undefined) return boundary(s, m.index, true) ? whole(match, `${m[7]}${marker(match)}`) : m[7].length
    if (m[5] !== undefined) {
      const cred = m[6] ?? ''
      const head = match.length - cred.length
      if (!boundary(s, m.index, false)) return head
      const scheme = m[5].toLowerCase()
      const ok = scheme === 'basic' ? isBasicCredential(cred) : scheme === 'bearer' ? looksRandom(cred, 12) || cred.length >= 32 : looksRandom(cred, 16)
      return ok ? tail(match, cred) : head
    }
    return undefined
  }

  function isSecretParam(name: string, value: string): boolean {
    // `?key=%s` / `%(key)s`: a format placeholder in code, not a value.
    return !isRedacted(value) && !FORMAT_PLACEHOLDER_RE.test(value) && isSecretParamName(name) && !allowNames.has(name.toLowerCase())
  }

  function decideContext(m: RegExpExecArray): Decision {
    const match = m[0]
    if (m[2] !== undefined) {
      const value = m[3] ?? ''
      return isSecretParam(m[2], value) ? tail(match, value) : match.length - value.length
    }
    if (m[4] !== undefined) {
      const keyword = m[4]
      const value = m[8] ?? ''
      const quoted = m[7] !== undefined
      const head = match.length - value.length
      const k = keyword.toLowerCase()
      // `…_KEY=` only in environment-variable spelling: `sort_key = …` in code is not a secret.
      if (k === '_key' && keyword !== '_KEY') return head
      if (isRedacted(value)) return head
      let ok: boolean
      if (PASSWORD_KEYWORDS.has(k)) ok = looksLikePassword(value)
      else {
        // Prose punctuation after an unquoted token is not part of it (`GITHUB_TOKEN=ab12…: then`).
        const token = quoted ? value : value.replace(TRAILING_PUNCT_RE, '')
        // `auth` alone is a common word in code (`auth: true`): only base64 of `user:pass` counts.
        // Token-like keywords take token-like values only: `Token:return!0` in minified code is not
        // one. A quoted value is data, not code: any generated-looking string (`'x9(k&2…'`).
        const secret = k === 'auth' ? isBasicCredential(token) : (quoted || TOKEN_VALUE_RE.test(token)) && looksRandom(token, 8)
        return secret ? { from: head, to: head + token.length, rep: markKey(token) } : head
      }
      return ok ? tail(match, value) : head
    }
    return undefined
  }

  function decideUserinfo(m: RegExpExecArray): Decision {
    if (m[1] !== undefined) return isRedacted(m[1]) ? undefined : { from: 1, to: m[0].length - 1, rep: markKey(m[1]) }
    // A user name alone is a credential only when it looks generated (`https://<40 hex>@github.com`).
    const user = m[2]
    if (user === undefined || isRedacted(user) || !looksRandom(user, 16)) return undefined
    return { from: 2, to: m[0].length - 1, rep: markKey(user) }
  }

  function decideNetrc(m: RegExpExecArray): Decision {
    const value = m[1] ?? ''
    const c = value.charCodeAt(0)
    // `password $NETRC_PW` / `%PW%` is a reference; `password string` a placeholder.
    if (value.length < 3 || c === 36 || c === 37 || isRedacted(value) || PLACEHOLDER_VALUES.has(value.toLowerCase())) return undefined
    return tail(m[0], value)
  }

  function decide(pass: number, m: RegExpExecArray, s: string): Decision {
    if (pass === 1) return decideKey(m, s)
    if (pass === 2) return decideContext(m)
    if (pass === 3) return decideUserinfo(m)
    if (pass === 4) return decideNetrc(m)
    return whole(m[0], marker(m[0]))
  }

  function scan(pass: 0 | 1 | 2 | 3 | 4, s: string, spans: SecretSpan[]): void {
    const re = passRegexes[pass] as RegExp
    re.lastIndex = 0
    // A declined candidate (`Bearer` + a word, `?q=` + a value) is rescanned from its value on,
    // to the end of the text: its value may hold a secret, or a keyword whose secret follows.
    // Bounded, so adversarial text cannot make the scan quadratic.
    let rewinds = 0
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const end = m.index + m[0].length
      // A value cut short by a marker (`key=sk-ant-api03-` + `[REDACTED:…]`) was redacted before.
      if (s.startsWith(REDACTED_PREFIX, end)) {
        // …but what it swallowed may still hold a secret of its own.
        if (rewinds++ < MAX_REWINDS) re.lastIndex = m.index + 1
        continue
      }
      // Nor is anything that starts inside a marker (its `:`).
      if (m.index >= 9 && s.startsWith('[REDACTED', m.index - 9)) continue
      const d = decide(pass, m, s)
      if (typeof d === 'object') spans.push({ start: m.index + d.from, end: m.index + d.to, replacement: d.rep })
      else if (typeof d === 'number' && d > 0 && d < m[0].length && rewinds++ < MAX_REWINDS) re.lastIndex = m.index + d
    }
  }

  /** The secret region of an extra pattern's match: the named group `secret`, or the whole match. */
  function extraSpan(m: RegExpExecArray, named: boolean): SecretSpan | undefined {
    const text0 = m[0]
    if (text0 === '' || text0.startsWith(REDACTED_PREFIX)) return undefined
    if (named && m.groups !== undefined) {
      const secret = m.groups['secret']
      if (secret === undefined || secret === '' || secret.startsWith(REDACTED_PREFIX)) return undefined
      const at = text0.lastIndexOf(secret)
      if (at >= 0) return { start: m.index + at, end: m.index + at + secret.length, replacement: marker(secret) }
    }
    return { start: m.index, end: m.index + text0.length, replacement: marker(text0) }
  }

  /**
   * Sort spans from several passes; overlapping ones (a key inside a parameter value, an extra
   * pattern over a built-in find) become one span over their union, all of it redacted.
   */
  function mergeSpans(s: string, spans: SecretSpan[]): SecretSpan[] {
    spans.sort((a, b) => a.start - b.start || b.end - a.end)
    const out: SecretSpan[] = []
    for (const sp of spans) {
      const last = out[out.length - 1]
      if (last === undefined || sp.start >= last.end) {
        out.push(sp)
      } else if (sp.end > last.end) {
        last.end = sp.end
        last.replacement = markKey(s.slice(last.start, last.end))
      }
    }
    return out
  }

  function findSecrets(s: string, opts?: { continuation?: boolean }): SecretSpan[] {
    if (typeof s !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `redactor.findSecrets: expected a string, received ${typeof s}`)
    const spans: SecretSpan[] = []
    if (s.length < 8) return spans
    pemEnds = []
    if (s.includes('PRIVATE KEY')) {
      scan(0, s, spans)
      for (const sp of spans) pemEnds.push(sp.end)
    }
    scan(1, s, spans)
    // Only a whole text can be a form body; a held tail of a stream only looks like it starts one.
    const lead = opts?.continuation === true ? null : LEADING_PARAM_RE.exec(s)
    // A value already holding a marker was handled when the text was redacted before (the
    // marker may have replaced the whitespace that kept the text from looking like a form).
    if (lead !== null && lead[1] !== undefined && lead[2] !== undefined && !lead[2].includes('[REDACTED') && isSecretParam(lead[1], lead[2])) {
      const from = lead[1].length + 1
      spans.push({ start: from, end: from + lead[2].length, replacement: markKey(lead[2]) })
    }
    scan(2, s, spans)
    if (s.includes('//')) scan(3, s, spans)
    if (s.includes('password') && s.includes('login')) scan(4, s, spans)
    for (const { re: x, named } of extras) {
      x.lastIndex = 0
      for (let m = x.exec(s); m !== null; m = x.exec(s)) {
        if (m[0] === '') {
          x.lastIndex++
          continue
        }
        const sp = extraSpan(m, named)
        if (sp !== undefined) spans.push(sp)
      }
    }
    return spans.length > 1 ? mergeSpans(s, spans) : spans
  }

  function text(s: string): string {
    if (typeof s !== 'string') throw new SessionExtractorError('INVALID_ARGUMENT', `redactor.text: expected a string, received ${typeof s}`)
    const spans = findSecrets(s)
    if (spans.length === 0) return s
    const parts: string[] = []
    let at = 0
    for (const sp of spans) {
      parts.push(s.slice(at, sp.start), sp.replacement)
      at = sp.end
    }
    parts.push(s.slice(at))
    return parts.join('')
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

  // Agents resend the whole conversation with every request: the system prompt, tool schemas,
  // earlier messages and most header values come back as equal strings. Remember the clean ones (bounded by total chars).
  const cacheBudget = opts.cacheChars ?? 8_000_000
  const cleanCache = new Set<string>()
  let cachedChars = 0
  function cachedText(s: string): string {
    if (cacheBudget === 0) return text(s)
    if (cleanCache.has(s)) return s
    const out = text(s)
    if (out === s && s.length <= cacheBudget / 8) {
      cleanCache.add(s)
      // Each entry also costs the set's own bookkeeping: count it as a few dozen chars.
      cachedChars += s.length + ENTRY_OVERHEAD
      for (const old of cleanCache) {
        if (cachedChars <= cacheBudget) break
        cleanCache.delete(old)
        cachedChars -= old.length + ENTRY_OVERHEAD
      }
    }
    return out
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
        out[name] = Array.isArray(v) ? v.map((x) => cachedText(String(x))) : cachedText(String(v))
      }
    }
    return out
  }

  function walk(value: unknown, path: string | undefined, depth: number): unknown {
    if (typeof value === 'string') return value.length < 6 ? value : cachedText(value)
    if (typeof value !== 'object' || value === null) return value
    if (ArrayBuffer.isView(value)) return redactBytes(value)
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
      else if (((typeof v === 'string' && v !== '' && !isRedacted(v)) || (typeof v === 'number' && Math.abs(v) >= 1000)) && isSecretFieldName(k)) r = redactFieldValue(v)
      // Docker's config.json: `"auth": base64(user:password)`; `auth` alone names many harmless things.
      else if (typeof v === 'string' && k.length === 4 && k.toLowerCase() === 'auth' && isBasicCredential(v)) r = markKey(v)
      else r = walk(v, childPath, depth + 1)
      const rk = k.length < 12 ? k : cachedText(k)
      if ((r !== v || rk !== k) && out === undefined) {
        out = {}
        for (let j = 0; j < i; j++) {
          const pk = keys[j] as string
          setOwn(out, pk, obj[pk])
        }
      }
      if (out !== undefined) setOwn(out, rk, r)
    }
    return out ?? value
  }

  /** Bytes inside a value: UTF-8 text is redacted (a new Buffer when changed); binary data is kept. */
  function redactBytes(view: ArrayBufferView): unknown {
    let str: string
    try {
      str = utf8Strict.decode(view as Uint8Array)
    } catch {
      return view
    }
    const out = text(str)
    return out === str ? view : Buffer.from(out, 'utf8')
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

  const r: Redactor = { headers, json, text, url, findSecrets }
  if (extras.length === 0) wordBounded.add(r)
  return r
}

/** Redactors whose secrets never contain whitespace (all built-in patterns but private key blocks). */
const wordBounded = new WeakSet<Redactor>()

/**
 * Whether no secret `r` finds spans whitespace, private key blocks aside: true for
 * {@link createRedactor} without `extraPatterns` (a streaming redactor may then cut right
 * next to any whitespace). @internal
 */
export function isWordBounded(r: Redactor): boolean {
  return wordBounded.has(r)
}

const defaultRedactor = createRedactor()

/** The shared default redactor (what `redactText` & co. use); streaming redactors default to it. @internal */
export function getDefaultRedactor(): Redactor {
  return defaultRedactor
}

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
