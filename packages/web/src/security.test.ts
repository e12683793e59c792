import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { cookieName, createHostCheck, generateToken, readCookie, tokenSource } from './security.js'

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

describe('tokenSource', () => {
  const token = generateToken()
  it('generates distinct 32-character URL-safe tokens', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(generateToken()).not.toBe(token)
  })
  it('accepts the token from the query, bearer header, x-agenttap-token or the per-port cookie', () => {
    expect(tokenSource(req({}), new URL(`http://x/?token=${token}`), token, 1)).toBe('query')
    expect(tokenSource(req({ authorization: `Bearer ${token}` }), new URL('http://x/'), token, 1)).toBe('header')
    expect(tokenSource(req({ 'x-agenttap-token': token }), new URL('http://x/'), token, 1)).toBe('header')
    expect(tokenSource(req({ cookie: `a=b; ${cookieName(1)}=${token}` }), new URL('http://x/'), token, 1)).toBe('cookie')
  })
  it('refuses a wrong, partial or other-port token', () => {
    expect(tokenSource(req({}), new URL('http://x/'), token, 1)).toBeUndefined()
    expect(tokenSource(req({}), new URL(`http://x/?token=${token.slice(1)}`), token, 1)).toBeUndefined()
    expect(tokenSource(req({ cookie: `${cookieName(2)}=${token}` }), new URL('http://x/'), token, 1)).toBeUndefined()
    expect(tokenSource(req({ authorization: `Basic ${token}` }), new URL('http://x/'), token, 1)).toBeUndefined()
  })
  it('readCookie finds one cookie among several', () => {
    expect(readCookie('a=1; b=2;c=3', 'c')).toBe('3')
    expect(readCookie(undefined, 'c')).toBeUndefined()
  })
})
