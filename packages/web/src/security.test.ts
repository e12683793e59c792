import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { createHostCheck, generateToken, hasToken, TOKEN_HEADER } from './security.js'

describe('createHostCheck (DNS rebinding guard)', () => {
  const check = createHostCheck(() => 9115)
  it('accepts the loopback names on our port only', () => {
    for (const h of ['127.0.0.1:9115', 'localhost:9115', 'LOCALHOST:9115', '[::1]:9115']) expect(check(h)).toBe(true)
    for (const h of ['127.0.0.1:9116', 'localhost', 'evil.example:9115', 'evil.example', '127.0.0.1.nip.io:9115', '', undefined]) expect(check(h)).toBe(false)
  })
  it('adds allowHosts: a bare name for our port, name:port exactly', () => {
    const c = createHostCheck(() => 9115, ['box.lan', 'proxy.lan:443', '[fd00::1]'])
    expect(c('box.lan:9115')).toBe(true)
    expect(c('box.lan')).toBe(true)
    expect(c('box.lan:9999')).toBe(false)
    expect(c('proxy.lan:443')).toBe(true)
    expect(c('proxy.lan:9115')).toBe(false)
    expect(c('[fd00::1]:9115')).toBe(true)
  })
})

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage
}

describe('hasToken', () => {
  const token = generateToken()
  it('generates distinct 32-character URL-safe tokens', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(generateToken()).not.toBe(token)
  })
  it('accepts the token in the x-agenttap-token header or as a bearer token', () => {
    expect(hasToken(req({ authorization: `Bearer ${token}` }), token)).toBe(true)
    expect(hasToken(req({ [TOKEN_HEADER]: token }), token)).toBe(true)
  })
  it('refuses a wrong or partial token, and never reads cookies or the query string', () => {
    expect(hasToken(req({}), token)).toBe(false)
    expect(hasToken(req({ [TOKEN_HEADER]: token.slice(1) }), token)).toBe(false)
    expect(hasToken(req({ authorization: `Basic ${token}` }), token)).toBe(false)
    // a cookie of 127.0.0.1 is sent to every port: it is not a credential here
    expect(hasToken(req({ cookie: `agenttap_token=${token}; agenttap_token_9115=${token}` }), token)).toBe(false)
    expect(hasToken({ headers: {}, url: `/api/flows?token=${token}` } as never, token)).toBe(false)
  })
})
