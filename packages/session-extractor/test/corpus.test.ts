/**
 * Generated corpus of secret placements (seeded, reproducible): header case variants, prose,
 * contextual text, nested JSON bodies (parsed and raw), URLs, SSE events split at random
 * points and streamed text. For every placement: no piece of the secret survives, the output
 * equals the exact expected text (so non-secret content is untouched), and the marker is the
 * documented hash of the whole secret.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createRedactor, createSseRedactor, createStreamRedactor, redactHeaders, redactJson, redactText, redactUrl } from '../src/index.js'
import { randomSplit, rng } from './rng.js'

type R = ReturnType<typeof rng>
const defaultRedactor = createRedactor()
interface Secret {
  value: string
  /** Part of `value` that redaction keeps (a vendor prefix). */
  kept: string
}

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const B64URL = `${B62}_-`
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

const marker = (s: string): string => `[REDACTED:${createHash('sha256').update(s).digest('hex').slice(0, 12)}]`
const mk = (s: Secret): string => `${s.kept}${marker(s.value)}`

/** Random material that always holds a letter and a digit, like every real generated credential. */
function material(r: R, alphabet: string, n: number): string {
  const s = r.chars(alphabet, n - 2)
  const at = r.int(0, s.length)
  return `${s.slice(0, at)}q7${s.slice(at)}`
}

const VENDOR: Array<(r: R) => Secret> = [
  (r) => ({ value: `sk-ant-api03-${material(r, B64URL, 93)}AA`, kept: 'sk-ant-api03-' }),
  (r) => ({ value: `sk-ant-oat01-${material(r, B64URL, 95)}`, kept: 'sk-ant-oat01-' }),
  (r) => ({ value: `sk-ant-ort01-${material(r, B64URL, 95)}`, kept: 'sk-ant-ort01-' }),
  (r) => ({ value: `sk-ant-admin01-${material(r, B64URL, 90)}`, kept: 'sk-ant-admin01-' }),
  (r) => ({ value: `sk-proj-${material(r, B64URL, r.int(48, 156))}`, kept: 'sk-proj-' }),
  (r) => ({ value: `sk-svcacct-${material(r, B64URL, 120)}`, kept: 'sk-svcacct-' }),
  (r) => ({ value: `sk-${material(r, B62, 46)}Zz`, kept: 'sk-' }),
  (r) => ({ value: `ghp_${material(r, B62, 36)}`, kept: 'ghp_' }),
  (r) => ({ value: `github_pat_${material(r, `${B62}_`, 82)}`, kept: 'github_pat_' }),
  (r) => ({ value: `xoxb-${r.chars('0123456789', 12)}-${r.chars('0123456789', 13)}-${material(r, B62, 24)}`, kept: 'xoxb-' }),
  (r) => ({ value: `AIza${material(r, B64URL, 35)}`, kept: 'AIza' }),
  (r) => ({ value: `sk_live_${material(r, B62, 32)}`, kept: 'sk_live_' }),
  (r) => ({ value: `AKIA${r.chars(UPPER_NUM, 16)}`, kept: '' }),
  (r) => ({ value: `ya29.${material(r, B64URL, r.int(60, 160))}`, kept: 'ya29.' }),
  (r) => ({ value: `sess-${material(r, B62, 40)}`, kept: 'sess-' }),
  (r) => {
    const seg = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    return { value: `${seg({ alg: 'RS256', typ: 'JWT', kid: r.chars(B62, 8) })}.${seg({ sub: r.chars(B62, 12), exp: r.int(1e9, 2e9), scope: 'openid offline' })}.${material(r, B64URL, r.int(40, 342))}`, kept: '' }
  },
]

/** A credential with no recognizable shape: only its context says it is one. */
const generic = (r: R): Secret => ({ value: material(r, B62, r.int(20, 48)), kept: '' })
const anySecret = (r: R): Secret => (r.next() < 0.7 ? r.pick(VENDOR)(r) : generic(r))

const WORDS = ['the', 'agent', 'ran', 'tests', 'and', 'found', 'one', 'failing', 'case;', 'retry', 'with', 'care', 'résumé', 'naïve', '日本語', 'emoji 🚀', 'ok.', '42', 'path/to/file.ts', 'x=1', 'tokens:', 'max_tokens', 'keyboard']
const prose = (r: R, n: number): string => Array.from({ length: n }, () => r.pick(WORDS)).join(' ')
const SEP_BEFORE = [' ', '\n', '"', "'", '(', ': ', '`', '\t', '[', '<']
const SEP_AFTER = [' ', '\n', '"', "'", ')', ', ', '`', '\t', ']', '>', '. ']

function randomCase(r: R, s: string): string {
  return [...s].map((c) => (r.next() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('')
}

/** The secret's material must not survive anywhere: no 10-char window of it, markers removed. */
function assertGone(out: string, s: Secret, label: string): void {
  const hay = out.replace(/\[REDACTED:[0-9a-f]{12}\]/g, '')
  const body = s.value.slice(s.kept.length)
  for (let i = 0; i + 10 <= body.length; i += 3) {
    if (hay.includes(body.slice(i, i + 10))) throw new Error(`${label}: secret piece ${JSON.stringify(body.slice(i, i + 10))} survived in ${JSON.stringify(out.slice(0, 300))}`)
  }
}

/** A text placement: the input and the exact expected output. */
interface TextCase {
  input: string
  expected: string
  secret: Secret
}

function proseCase(r: R): TextCase {
  const s = r.pick(VENDOR)(r)
  const before = prose(r, r.int(0, 12))
  const after = prose(r, r.int(0, 12))
  const b = r.pick(SEP_BEFORE)
  const a = r.pick(SEP_AFTER)
  return { input: `${before}${b}${s.value}${a}${after}`, expected: `${before}${b}${mk(s)}${a}${after}`, secret: s }
}

function contextCase(r: R): TextCase {
  const s = anySecret(r)
  const pre = prose(r, r.int(0, 6))
  const post = prose(r, r.int(0, 6))
  const templates: Array<[string, string]> = [
    [`Authorization: Bearer ${s.value}`, `Authorization: Bearer ${mk(s)}`],
    [`curl -H "authorization: bearer ${s.value}" https://api.x.io`, `curl -H "authorization: bearer ${mk(s)}" https://api.x.io`],
    [`GET https://api.x.io/v1/q?${r.pick(['key', 'token', 'api_key', 'access_token', 'apikey', 'client_secret', 'X-Amz-Signature', 'sig', 'Token'])}=${s.value}&page=2`, ''],
    [`{"${r.pick(['access_token', 'refresh_token', 'api_key', 'client_secret', 'id_token', 'apiKey', 'x-api-key'])}": "${s.value}"}`, ''],
    [`{\\"access_token\\":\\"${s.value}\\",\\"expires_in\\":3600}`, ''],
    [`export ${r.pick(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'STRIPE_SECRET_KEY', 'SERVICE_KEY', 'HF_TOKEN'])}=${s.value}`, ''],
    [`postgres://admin:${s.value}@db.internal:5432/app`, `postgres://admin:${mk(s)}@db.internal:5432/app`],
    [`x-api-key: ${s.value}`, `x-api-key: ${mk(s)}`],
  ]
  const [tpl, exp] = r.pick(templates)
  const expected = exp !== '' ? exp : tpl.replace(s.value, mk(s))
  return { input: `${pre}\n${tpl}\n${post}`, expected: `${pre}\n${expected}\n${post}`, secret: s }
}

const textCase = (r: R): TextCase => (r.next() < 0.5 ? proseCase(r) : contextCase(r))

const SAFE_KEYS = ['messages', 'content', 'text', 'input', 'tools', 'system', 'metadata', 'data', 'items', 'result', 'output', 'args', 'env', 'config', 'description']
const SECRET_FIELDS = ['access_token', 'refreshToken', 'api_key', 'apiKey', 'client_secret', 'x-api-key', 'authorization', 'github_token', 'secret']

describe('redaction corpus (1,000+ generated placements)', () => {
  let placements = 0

  it('headers: name case variants, schemes, cookies, account ids', () => {
    const r = rng(1001)
    for (let i = 0; i < 220; i++) {
      const s = anySecret(r)
      const kind = r.int(0, 6)
      const name = randomCase(r, ['authorization', 'proxy-authorization', 'x-api-key', 'cookie', 'set-cookie', 'chatgpt-account-id', 'x-goog-api-key'][kind] as string)
      const value = kind <= 1 ? `${r.pick(['Bearer', 'bearer', 'Token'])} ${s.value}` : kind === 3 ? `theme=dark; __session=${s.value}; lang=en` : kind === 4 ? `sid=${s.value}; Path=/; Secure; HttpOnly` : s.value
      const headers = { 'User-Agent': 'claude-cli/2.0.14 (external, cli)', 'content-type': 'application/json', [name]: r.next() < 0.3 ? [value] : value, 'anthropic-version': '2023-06-01' }
      const out = redactHeaders(headers)
      const dump = JSON.stringify(out)
      assertGone(dump, s, `header ${name}`)
      expect(out['User-Agent']).toBe('claude-cli/2.0.14 (external, cli)')
      expect(out['content-type']).toBe('application/json')
      expect(out['anthropic-version']).toBe('2023-06-01')
      const got = JSON.stringify(out[name])
      if (kind <= 1) expect(got).toContain(`${value.split(' ')[0]} ${mk(s)}`)
      else if (kind === 3) expect(got).toContain(`theme=${marker('dark')}; __session=${marker(s.value)}; lang=${marker('en')}`)
      else if (kind === 4) expect(got).toContain(`sid=${marker(s.value)}; Path=/; Secure; HttpOnly`)
      else expect(got).toContain(mk(s))
      placements++
    }
  })

  it('plain text: prose and contextual credentials, exact output', () => {
    const r = rng(2002)
    for (let i = 0; i < 300; i++) {
      const c = textCase(r)
      const out = redactText(c.input)
      assertGone(out, c.secret, `text ${i}`)
      // findSecrets: sorted, non-overlapping, and applying it is exactly text().
      const spans = defaultRedactor.findSecrets(c.input)
      let at = 0
      let rebuilt = ''
      for (const sp of spans) {
        expect(sp.start).toBeGreaterThanOrEqual(at)
        expect(sp.end).toBeGreaterThan(sp.start)
        rebuilt += c.input.slice(at, sp.start) + sp.replacement
        at = sp.end
      }
      expect(rebuilt + c.input.slice(at)).toBe(out)
      expect(out, c.input).toBe(c.expected)
      expect(redactText(out)).toBe(out)
      placements++
    }
  })

  it('nested JSON bodies, parsed and as raw text', () => {
    const r = rng(3003)
    for (let i = 0; i < 220; i++) {
      const s = anySecret(r)
      const asField = s.kept === '' && !s.value.includes('.') ? true : r.next() < 0.4
      let leafIn: unknown
      let leafOut: unknown
      let leafKey: string
      if (asField) {
        leafKey = r.pick(SECRET_FIELDS)
        const bearer = leafKey === 'authorization'
        leafIn = bearer ? `Bearer ${s.value}` : s.value
        leafOut = bearer ? `Bearer ${mk(s)}` : mk(s)
      } else {
        leafKey = r.pick(SAFE_KEYS)
        const c = proseCase(r)
        leafIn = c.input.replace(c.secret.value, s.value)
        leafOut = c.expected.replace(mk(c.secret), mk(s))
      }
      const sibling = { type: 'text', text: prose(r, 5), max_tokens: 4096, prompt_cache_key: 'conv-123' }
      let tin: unknown = { [leafKey]: leafIn, note: prose(r, 3) }
      let tout: unknown = { [leafKey]: leafOut, note: (tin as { note: string }).note }
      for (let d = r.int(0, 5); d > 0; d--) {
        if (r.next() < 0.4) {
          const at = r.int(0, 2)
          const arrIn: unknown[] = [sibling, sibling, sibling]
          const arrOut: unknown[] = [sibling, sibling, sibling]
          arrIn[at] = tin
          arrOut[at] = tout
          tin = arrIn
          tout = arrOut
        } else {
          const k = r.pick(SAFE_KEYS)
          tin = { model: 'claude-sonnet-4-5', [k]: tin, extra: sibling }
          tout = { model: 'claude-sonnet-4-5', [k]: tout, extra: sibling }
        }
      }
      const out = redactJson(tin)
      expect(out).toEqual(tout)
      assertGone(JSON.stringify(out), s, `json ${i}`)
      const rawOut = redactText(JSON.stringify(tin))
      assertGone(rawOut, s, `raw json ${i}`)
      expect(JSON.parse(rawOut)).toEqual(tout)
      placements += 2
    }
  })

  it('URLs: query, fragment and userinfo', () => {
    const r = rng(4004)
    for (let i = 0; i < 120; i++) {
      const s = anySecret(r)
      const name = r.pick(['key', 'token', 'access_token', 'refresh_token', 'api_key', 'code', 'client_secret', 'X-Amz-Security-Token', 'signature'])
      const form = r.int(0, 2)
      const url = form === 0 ? `https://api.example.com/v1/x?beta=true&${name}=${s.value}&q=hello` : form === 1 ? `https://app.example.com/cb#${name}=${s.value}&state=abc` : `https://bob:${s.value}@git.example.com/repo.git?ref=main`
      const expected = url.replace(s.value, mk(s))
      const out = redactUrl(url)
      assertGone(out, s, `url ${i}`)
      expect(out).toBe(expected)
      placements++
    }
  })

  it('secrets split across SSE events (Anthropic, Responses, raw data)', () => {
    const r = rng(5005)
    for (let i = 0; i < 160; i++) {
      const c = textCase(r)
      const pieces = randomSplit(r, c.input, r.int(2, 30))
      const flavor = r.int(0, 2)
      const recs = pieces.map((p, seq) => ({
        type: 'sse',
        seq,
        data:
          flavor === 0
            ? JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } })
            : flavor === 1
              ? JSON.stringify({ type: 'response.output_text.delta', sequence_number: seq, item_id: 'msg_1', output_index: 0, content_index: 0, delta: p })
              : p,
      }))
      const out: typeof recs = []
      const red = createSseRedactor<(typeof recs)[number]>({ onRecord: (x) => out.push(x) })
      for (const rec of recs) red.feed(rec)
      red.end()
      expect(out.map((x) => x.seq)).toEqual(recs.map((x) => x.seq))
      const text = out
        .map((x) => {
          if (flavor === 2) return x.data
          const d = JSON.parse(x.data) as { delta: string | { text: string } }
          return typeof d.delta === 'string' ? d.delta : d.delta.text
        })
        .join('')
      assertGone(out.map((x) => x.data).join(''), c.secret, `sse ${i}`)
      expect(text).toBe(c.expected)
      placements++
    }
  })

  it('streamed text split at random points', () => {
    const r = rng(6006)
    for (let i = 0; i < 120; i++) {
      const c = textCase(r)
      const s = createStreamRedactor()
      let out = ''
      for (const f of randomSplit(r, c.input, r.int(2, 40))) out += s.feed(f)
      out += s.end()
      assertGone(out, c.secret, `stream ${i}`)
      expect(out).toBe(c.expected)
      placements++
    }
  })

  it('covered at least 1,000 placements', () => {
    expect(placements).toBeGreaterThanOrEqual(1000)
  })
})
