import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SessionExtractorError } from './errors.js'
import { createRedactor, isSecretFieldName, isSecretHeaderName, redactHeaders, redactJson, redactText, redactUrl } from './redactor.js'

const h = (s: string): string => `[REDACTED:${createHash('sha256').update(s).digest('hex').slice(0, 12)}]`
const ANT = 'sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1JkLzXcVbNm0_-AbCdEf'
const OAT = 'sk-ant-oat01-Qw8Er7Ty6Ui5Op4As3Df2Gh1JkLzXcVbNm0aBcD'
const PROJ = 'sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv_Wx-Yz'
const LEGACY = 'sk-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWxYzAb1Cd2Ef3Gh'
const JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMyIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2'

describe('redactText', () => {
  it('replaces vendor keys keeping their prefix, with a hash of the whole key', () => {
    expect(redactText(`key ${ANT} end`)).toBe(`key sk-ant-api03-${h(ANT)} end`)
    expect(redactText(`(${PROJ})`)).toBe(`(sk-proj-${h(PROJ)})`)
    expect(redactText(`"${LEGACY}"`)).toBe(`"sk-${h(LEGACY)}"`)
    expect(redactText(`tok=${OAT}`)).toBe(`tok=sk-ant-oat01-${h(OAT)}`)
    expect(redactText(`jwt: ${JWT}.`)).toBe(`jwt: ${h(JWT)}.`)
    expect(redactText('AKIAIOSFODNN7EXAMPLE')).toBe(h('AKIAIOSFODNN7EXAMPLE'))
    expect(redactText('xoxb-123456789012-abcdefABCDEF')).toBe(`xoxb-${h('xoxb-123456789012-abcdefABCDEF')}`)
  })

  it('redacts contextual credentials: schemes, parameters, assignments, userinfo, PEM', () => {
    expect(redactText('Authorization: Bearer abc123def456ghi789')).toBe(`Authorization: Bearer ${h('abc123def456ghi789')}`)
    const basic = Buffer.from('alice:s3cret!').toString('base64')
    expect(redactText(`Basic ${basic}`)).toBe(`Basic ${h(basic)}`)
    expect(redactText('grant_type=refresh_token&refresh_token=rt.AbC123xyz&client_id=app')).toBe(`grant_type=refresh_token&refresh_token=${h('rt.AbC123xyz')}&client_id=app`)
    expect(redactText('export GITHUB_TOKEN=Zm9vYmFyMTIzNDU2Nzg5')).toBe(`export GITHUB_TOKEN=${h('Zm9vYmFyMTIzNDU2Nzg5')}`)
    expect(redactText('{\\"client_secret\\":\\"cs_9f8e7d6c5b4a\\"}')).toBe(`{\\"client_secret\\":\\"${h('cs_9f8e7d6c5b4a')}\\"}`)
    // A quoted value runs to its closing quote, symbols included (it used to stop at `&`, leaking `&3`).
    expect(redactText('password = "Tr0ub4dor&3"')).toBe(`password = "${h('Tr0ub4dor&3')}"`)
    expect(redactText('redis://default:pa55word@cache:6379/0')).toBe(`redis://default:${h('pa55word')}@cache:6379/0`)
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----'
    expect(redactText(`x\n${pem}\ny`)).toBe(`x\n${h(pem)}\ny`)
  })

  it('redacts the request-content secrets of issue 16 (whole secret on disk before)', () => {
    expect(redactText('DB_PASS=Xk9#mQ2vLp\nDB_HOST=db')).toBe(`DB_PASS=${h('Xk9#mQ2vLp')}\nDB_HOST=db`)
    expect(redactText('export MYSQL_PWD=s3cr3tPw! && mysql')).toBe(`export MYSQL_PWD=${h('s3cr3tPw!')} && mysql`)
    const dj = 'django-insecure-9x(k&2)m#q+z_w8!v@r^t%1b*c$n=j0a-s7y4h6e3u5i'
    expect(redactText(`SECRET_KEY = '${dj}'`)).toBe(`SECRET_KEY = 'django-insecure-${h(dj)}'`)
    const sym = 'x9(k&2)m#q+z_w8!v@r^t%1b*c$n=j0a-s7y4h6e3u5i'
    expect(redactText(`SECRET_KEY = "${sym}"\nDEBUG = True`)).toBe(`SECRET_KEY = "${h(sym)}"\nDEBUG = True`)
    // `head -n 4 id_ed25519`: a BEGIN line and base64 lines, no END.
    const head4 = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDxW8E6p2mRkYJ3Wlk1V0ZbqzX9HcG8b9dN6vP0aJ+RbAAAAJi3T1xlt09c\nZQAAAAtzc2gtZWQyNTUxOQAAACDxW8E6p2mRkYJ3Wlk1V0ZbqzX9HcG8b9dN6vP0aJ+RbA'
    expect(redactText(`$ head -n 4 ~/.ssh/id_ed25519\n${head4}\n\nThat is the start of the key.`)).toBe(`$ head -n 4 ~/.ssh/id_ed25519\n${h(head4)}\n\nThat is the start of the key.`)
    // The same inside raw JSON text (escaped newlines) and cut at the end of the text.
    const escaped = head4.replace(/\n/g, '\\n')
    expect(redactText(`{"content":"${escaped}"}`)).toBe(`{"content":"${h(escaped)}"}`)
    expect(redactText(`cat key\n${head4}`)).toBe(`cat key\n${h(head4)}`)
    const pgp = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: test\n\nlQOYBGXmZ1IBCADYq7g2qWJ0l3kL9xA3f5gW8b2Lq9vPz1Z0fW3nX4gH8jK2pQ1rS3\n=Ab1C\n-----END PGP PRIVATE KEY BLOCK-----'
    expect(redactText(`key:\n${pgp}\nok`)).toBe(`key:\n${h(pgp)}\nok`)
    expect(redactText(pgp.split('\n').slice(0, 4).join('\n'))).toBe(h(pgp.split('\n').slice(0, 4).join('\n')))
    expect(redactText('machine github.com\n  login octocat\n  password Hx8dK2pQ9vLm\n')).toBe(`machine github.com\n  login octocat\n  password ${h('Hx8dK2pQ9vLm')}\n`)
    expect(redactText('machine api.heroku.com login me@x.com password hunter22')).toBe(`machine api.heroku.com login me@x.com password ${h('hunter22')}`)
    const auth = Buffer.from('bob:Pa55w0rd!').toString('base64')
    expect(redactText(`{"auths":{"https://index.docker.io/v1/":{"auth":"${auth}"}}}`)).toBe(`{"auths":{"https://index.docker.io/v1/":{"auth":"${h(auth)}"}}}`)
    expect(redactJson({ auths: { 'ghcr.io': { auth } } })).toEqual({ auths: { 'ghcr.io': { auth: h(auth) } } })
    const kd = 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBMnZR'
    expect(redactText(`    client-key-data: ${kd}\n    token: abc`)).toBe(`    client-key-data: ${h(kd)}\n    token: abc`)
    const hex = '0123456789abcdef0123456789abcdef01234567'
    expect(redactText(`origin\thttps://${hex}@github.com/acme/app.git (fetch)`)).toBe(`origin\thttps://${h(hex)}@github.com/acme/app.git (fetch)`)
  })

  it('redacts a token followed by prose punctuation, and a cut-short key whose last line is followed by text (red-team finds)', () => {
    const tok = 'Y7vFJuF0qOb4lDJcIqvjOyqYxo2ly8M3pRXZkXiInh'
    expect(redactText(`export GITHUB_TOKEN=${tok}: then run it`)).toBe(`export GITHUB_TOKEN=${h(tok)}: then run it`)
    expect(redactText(`client_secret: ${tok}. Done`)).toBe(`client_secret: ${h(tok)}. Done`)
    const b64 = 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBMnZR=='
    expect(redactText(`client-key-data: ${b64}: next`)).toBe(`client-key-data: ${h(b64)}: next`)
    const head = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQQGi71l7MQAQ5aE3epMdxn0+qxsUS\nz6Dbo7WSyquKcuo7b/w5SNHrSLpE0biwDwufZAdnFsiikk2rChQ3agSt+SDD4jW1N4UX'
    expect(redactText(`key: ${head} (that is all)`)).toBe(`key: ${h(head)} (that is all)`)
    // A password keeps its trailing symbols: they are part of it.
    expect(redactText('DB_PASS=Tr0ub4dor!')).toBe(`DB_PASS=${h('Tr0ub4dor!')}`)
  })

  it('keeps what only looks like those secrets (no new false positives)', () => {
    const untouched = [
      'commit 0123456789abcdef0123456789abcdef01234567\nAuthor: A <a@b.c>\n    fix: 3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      'PWD=/home/user/project OLDPWD=/home/user SHLVL=1',
      'const auth = { user, pass }; auth: true, "auth": "none", oauth: provider',
      'Enter your password below, then login with it. The password field is required.',
      "if (pem.startsWith('-----BEGIN RSA PRIVATE KEY-----')) throw new Error('unencrypted key')",
      'git@github.com:acme/app.git and https://github.com/acme/app.git and https://registry.npmjs.org/@scope/pkg',
      'compass=north bypass=1 db_pass: string; --pass-through',
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      '-----BEGIN CERTIFICATE-----\nMIIC8jCCAdqgAwIBAgIIYm9vdHN0cmFwMA0GCSqGSIb3DQEBCwUAMBUxEzARBgNV\n-----END CERTIFICATE-----',
      'client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t and key_data: string',
    ]
    for (const s of untouched) expect(redactText(s), s).toBe(s)
  })

  it('leaves ordinary prose and code alone', () => {
    const untouched = [
      'sorted(items, key=lambda v: v[1]); max_tokens=4096; MAX_TOKENS=8192',
      'Basic understanding of the Token economy. Bearer tokens are short-lived.',
      'sk-learn-classification-model, hf_hub_download_with_retries, task-1234',
      'password: string; token: null; secret = os.environ.get',
      'const password = process.env.PASSWORD',
      'https://docs.anthropic.com/en/docs?lang=en&page=2#section',
      '"input_tokens": 1234, "cache_read_input_tokens": 99, "prompt_cache_key": "0199a1b2"',
      'see http://localhost:8080/path and a:b@c',
      'The quick brown fox jumps over the lazy dog. 🦊 ünïcödé',
      'EqQBCkYIBxgCKkBfixtureSignature==',
      'key=lambda x: x[1]',
      'session_token_count=5 and access_token_ttl=3600',
      "return '<a href=\"topic?key=%s\">%s</a>'",
      ';t.onToken=function(n){return s.push(n)};e.token===134283267?e.key=this.parse(s):0',
      'case SyntaxKind.MinusMinusToken:return!0; lastSignificantToken = "?InterpolationInTemplate"',
      'function f(password: BinaryLike, token: string) { const url = `${host}?token=${wsToken}` }',
      'a referer with ?token=). and text/javascript;key=value',
      '',
    ]
    for (const s of untouched) expect(redactText(s), s).toBe(s)
  })

  it('is idempotent', () => {
    const s = `a ${ANT} b ?token=abcdef123456 Bearer ${JWT} password=Hunter2!x https://u:pw123456@h/`
    const once = redactText(s)
    expect(redactText(once)).toBe(once)
    expect(redactUrl(once)).toBe(once)
  })
})

describe('hostile and huge input', () => {
  it('handles multi-megabyte runs, base64 blobs and binary junk without blowing up', () => {
    const b64 = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 255)).toString('base64')
    expect(redactText(b64)).toBe(b64)
    const run = 'x'.repeat(2_000_000)
    expect(redactText(run)).toBe(run)
    const junk = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 256)).toString('latin1')
    expect(redactText(junk)).toBe(junk)
    const keys = `sk-${'sk-'.repeat(50_000)}`
    expect(redactText(keys)).toBe(keys)
    const many = Array.from({ length: 2000 }, (_, i) => `k${i} ${ANT.slice(0, -4)}${String(i).padStart(4, '0')}`).join('\n')
    const out = redactText(many)
    expect(out).not.toContain('Zx9Qw8Er7Ty6')
    expect(out.match(/\[REDACTED:/g)).toHaveLength(2000)
  })

  it('redacts UTF-8 bytes inside a JSON value and keeps binary bytes', () => {
    const bytes = new TextEncoder().encode(`key ${ANT}`)
    const out = redactJson({ raw: bytes, bin: new Uint8Array([0xff, 0xfe, 0x00]) }) as { raw: Uint8Array; bin: Uint8Array }
    expect(Buffer.from(out.raw).toString('utf8')).toBe(`key sk-ant-api03-${h(ANT)}`)
    const clean = new TextEncoder().encode('nothing secret here')
    expect(redactJson(clean)).toBe(clean)
  })

  it('keeps a "__proto__" key as an own property and leaves small numbers alone', () => {
    const v = JSON.parse(`{"__proto__": {"x": 1}, "note": "${ANT}", "token": 5, "pin_password": 123456}`) as Record<string, unknown>
    const out = redactJson(v) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out)).toEqual(['__proto__', 'note', 'token', 'pin_password'])
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ x: 1 })
    expect(out['token']).toBe(5)
    expect(out['pin_password']).toBe(h('123456'))
  })

  it('redacts a JSON value with a secret in an object key', () => {
    expect(redactJson({ [ANT]: 1, ok: 2 })).toEqual({ [`sk-ant-api03-${h(ANT)}`]: 1, ok: 2 })
  })
})

describe('redactUrl', () => {
  it('redacts secret parameters, fragments and userinfo, keeps the rest', () => {
    expect(redactUrl('https://x.io/cb?code=4/0Ab12&state=xyz#access_token=at999&expires_in=3600')).toBe(`https://x.io/cb?code=${h('4/0Ab12')}&state=xyz#access_token=${h('at999')}&expires_in=3600`)
    expect(redactUrl('https://generativelanguage.googleapis.com/v1/models?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv')).toMatch(/\?key=AIza\[REDACTED:[0-9a-f]{12}\]$/)
    expect(redactUrl('https://s3.amazonaws.com/b/o?X-Amz-Signature=abc123&X-Amz-Expires=60')).toBe(`https://s3.amazonaws.com/b/o?X-Amz-Signature=${h('abc123')}&X-Amz-Expires=60`)
    expect(redactUrl('https://api.anthropic.com/v1/messages?beta=true')).toBe('https://api.anthropic.com/v1/messages?beta=true')
    expect(redactText('<a href="https://x.io/?a=1&amp;access_token=ab12cd34">')).toBe(`<a href="https://x.io/?a=1&amp;access_token=${h('ab12cd34')}">`)
  })
})

describe('redactHeaders', () => {
  it('replaces credentials keeping scheme, prefix, cookie names and attributes', () => {
    const out = redactHeaders({
      Authorization: `Bearer ${OAT}`,
      'X-API-Key': ANT,
      'Proxy-Authorization': 'Basic YWxpY2U6cHc=',
      Cookie: 'sid=abc; theme=dark',
      'Set-Cookie': ['__Secure-next-auth.session-token=xyz123; Path=/; HttpOnly', 'b=2'],
      'ChatGPT-Account-Id': 'acct-1234',
      'OpenAI-Organization': 'org-abc',
      'anthropic-organization-id': 'f0e1',
      'X-Custom-Token': 'ct-1',
      'User-Agent': 'claude-cli/2.0.14 (external, cli)',
      'anthropic-ratelimit-tokens-remaining': '50000',
      'x-claude-code-session-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      Referer: 'https://x.io/?token=t0k3n',
      'content-length': undefined,
    })
    expect(out).toEqual({
      Authorization: `Bearer sk-ant-oat01-${h(OAT)}`,
      'X-API-Key': `sk-ant-api03-${h(ANT)}`,
      'Proxy-Authorization': `Basic ${h('YWxpY2U6cHc=')}`,
      Cookie: `sid=${h('abc')}; theme=${h('dark')}`,
      'Set-Cookie': [`__Secure-next-auth.session-token=${h('xyz123')}; Path=/; HttpOnly`, `b=${h('2')}`],
      'ChatGPT-Account-Id': h('acct-1234'),
      'OpenAI-Organization': h('org-abc'),
      'anthropic-organization-id': h('f0e1'),
      'X-Custom-Token': h('ct-1'),
      'User-Agent': 'claude-cli/2.0.14 (external, cli)',
      'anthropic-ratelimit-tokens-remaining': '50000',
      'x-claude-code-session-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      Referer: `https://x.io/?token=${h('t0k3n')}`,
    })
    expect(redactHeaders(out)).toEqual(out)
  })

  it('correlates the same key across header and body', () => {
    const hdr = redactHeaders({ authorization: `Bearer ${PROJ}` })['authorization'] as string
    const body = redactText(`using ${PROJ}`)
    expect(hdr.slice('Bearer '.length)).toBe(body.slice('using '.length))
  })

  it('classifies names', () => {
    for (const n of ['authorization', 'X-Api-Key', 'x-goog-api-key', 'x-amz-security-token', 'x-auth-token', 'openai-organization', 'chatgpt-account-id', 'x-csrf-token']) expect(isSecretHeaderName(n), n).toBe(true)
    for (const n of ['user-agent', 'anthropic-ratelimit-input-tokens-limit', 'sec-websocket-key', 'idempotency-key', 'x-claude-code-session-id', 'session_id', 'keep-alive']) expect(isSecretHeaderName(n), n).toBe(false)
    for (const n of ['access_token', 'refreshToken', 'api_key', 'apiKey', 'client_secret', 'password', 'github_token', 'private_key']) expect(isSecretFieldName(n), n).toBe(true)
    for (const n of ['max_tokens', 'input_tokens', 'prompt_cache_key', 'key', 'next_page_token', 'signature', 'token_count']) expect(isSecretFieldName(n), n).toBe(false)
  })
})

describe('redactJson', () => {
  it('redacts nested strings and secret-named fields, copy-on-write', () => {
    const clean = { role: 'system', content: [{ type: 'text', text: 'You are Claude Code.' }] }
    const input = {
      model: 'claude-sonnet-4-5',
      max_tokens: 32000,
      system: clean,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: `OPENAI_API_KEY=${PROJ}\nok` }] }],
      auth: { refresh_token: 'plainish', access_token: 'Bearer abcdef', expires_in: 3600 },
      tools: [{ name: 'Login', input_schema: { properties: { password: { type: 'string' } } } }],
    }
    const frozen = JSON.stringify(input)
    const out = redactJson(input) as typeof input
    expect(JSON.stringify(input)).toBe(frozen)
    expect(out.system).toBe(input.system)
    expect(out.tools).toBe(input.tools)
    expect(out.messages[0]?.content[0]?.content).toBe(`OPENAI_API_KEY=sk-proj-${h(PROJ)}\nok`)
    expect(out.auth).toEqual({ refresh_token: h('plainish'), access_token: `Bearer ${h('abcdef')}`, expires_in: 3600 })
    const same = { a: [1, 'two', { b: null }], c: 'plain text' }
    expect(redactJson(same)).toBe(same)
  })

  it('memoizes clean strings without changing any output', () => {
    const body = { system: 'You are Claude Code. '.repeat(20), messages: [{ content: `here ${ANT} and more text after it` }, { content: 'plain words that are long enough to be cached' }] }
    const cached = createRedactor()
    const plain = createRedactor({ cacheChars: 0 })
    const first = cached.json(body)
    const copy = JSON.parse(JSON.stringify(body)) as unknown
    expect(cached.json(copy)).toEqual(first)
    expect(cached.json(copy)).toEqual(plain.json(body))
    expect(JSON.stringify(cached.json(copy))).not.toContain('Zx9Qw8Er7Ty6')
    const tiny = createRedactor({ cacheChars: 100 })
    for (let i = 0; i < 50; i++) tiny.json({ t: `clean string number ${i} with padding to be cached` })
    expect(tiny.json({ t: `k ${ANT}` })).toEqual({ t: `k sk-ant-api03-${h(ANT)}` })
    expect(() => createRedactor({ cacheChars: -1 })).toThrow(/cacheChars/)
  })

  it('honours allowFields by name and dotted path', () => {
    const r = createRedactor({ allowFields: ['metadata.api_key', 'Debug_Token'] })
    const v = { metadata: { api_key: 'keep-me-123456' }, other: { api_key: 'drop-me-123456' }, debug_token: ANT }
    expect(r.json(v)).toEqual({ metadata: { api_key: 'keep-me-123456' }, other: { api_key: h('drop-me-123456') }, debug_token: ANT })
    expect(createRedactor({ allowFields: ['x-api-key'] }).headers({ 'X-Api-Key': 'k' })).toEqual({ 'X-Api-Key': 'k' })
  })

  it('stops at hostile depth instead of overflowing the stack', () => {
    let deep: unknown = 'sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9'
    for (let i = 0; i < 5000; i++) deep = [deep]
    expect(() => redactJson(deep)).not.toThrow()
    expect(JSON.stringify(redactJson(deep))).not.toContain('Ab1Cd2Ef3Gh4')
  })
})

describe('createRedactor options', () => {
  it('applies extra patterns, whole match or the named group `secret`', () => {
    const r = createRedactor({ extraPatterns: [/corp_[a-z0-9]{8}/, /pin is (?<secret>\d{4})/g] })
    expect(r.text('id corp_ab12cd34 and pin is 1234.')).toBe(`id ${h('corp_ab12cd34')} and pin is ${h('1234')}.`)
    expect(r.json({ note: 'corp_zz99yy88' })).toEqual({ note: h('corp_zz99yy88') })
    expect(r.findSecrets('x corp_ab12cd34')).toEqual([{ start: 2, end: 15, replacement: h('corp_ab12cd34') }])
  })

  it('uses HMAC when given a hash key', () => {
    const r = createRedactor({ hashKey: 'k' })
    expect(r.text(ANT)).toBe(`sk-ant-api03-[REDACTED:${createHmac('sha256', 'k').update(ANT).digest('hex').slice(0, 12)}]`)
  })

  it('rejects misuse with a clear error', () => {
    expect(() => createRedactor({ extraPatterns: [/x*/] })).toThrow(/empty string/)
    expect(() => createRedactor({ extraPatterns: ['x' as unknown as RegExp] })).toThrow(SessionExtractorError)
    expect(() => createRedactor({ allowFields: [''] })).toThrow(/allowFields/)
    expect(() => createRedactor({ hashKey: '' })).toThrow(/hashKey/)
    expect(() => redactText(5 as unknown as string)).toThrow(/expected a string/)
  })
})
