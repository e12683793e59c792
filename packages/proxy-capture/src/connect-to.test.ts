import { describe, expect, it } from 'vitest'
import { createConnectTo, parseConnectTo } from './connect-to.js'

describe('parseConnectTo', () => {
  it('reads curl-style rules, empty fields meaning any (from) or unchanged (to), IPv6 in brackets', () => {
    expect(parseConnectTo('api.anthropic.com:443:127.0.0.1:8443')).toEqual({ fromHost: 'api.anthropic.com', fromPort: 443, toHost: '127.0.0.1', toPort: 8443 })
    expect(parseConnectTo('::[::1]:9000')).toEqual({ toHost: '::1', toPort: 9000 })
    expect(parseConnectTo('[2001:db8::1]:443:localhost:')).toEqual({ fromHost: '2001:db8::1', fromPort: 443, toHost: 'localhost' })
    expect(parseConnectTo('API.OpenAI.com::127.0.0.1:1')).toEqual({ fromHost: 'api.openai.com', toHost: '127.0.0.1', toPort: 1 })
  })

  it('says what is wrong with a bad rule', () => {
    expect(() => parseConnectTo('a:443:b')).toThrow(/3 field\(s\) instead of 4/)
    expect(() => parseConnectTo('a:443:b:1:2')).toThrow(/5 field\(s\)/)
    expect(() => parseConnectTo('a:443:b:70000')).toThrow(/"70000" is not a port/)
    expect(() => parseConnectTo('a:x:b:1')).toThrow(/"x" is not a port/)
    expect(() => parseConnectTo('[::1:443:b:1')).toThrow(/never closed/)
    expect(() => parseConnectTo('a/b:443:c:1')).toThrow(/not a host/)
    expect(() => parseConnectTo('a:1:b:1x')).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }))
  })
})

describe('createConnectTo', () => {
  it('lets the first matching rule decide, and leaves unmatched requests alone', () => {
    const route = createConnectTo(['api.anthropic.com:443:127.0.0.1:8443', ':443:127.0.0.1:9443', { fromHost: 'Plain.Example', toPort: 8080 }])
    expect(route('api.anthropic.com', 443)).toEqual({ host: '127.0.0.1', port: 8443, redirected: true })
    expect(route('API.anthropic.com', 443)).toEqual({ host: '127.0.0.1', port: 8443, redirected: true })
    expect(route('chatgpt.com', 443)).toEqual({ host: '127.0.0.1', port: 9443, redirected: true })
    expect(route('plain.example', 80)).toEqual({ host: 'plain.example', port: 8080, redirected: true })
    expect(route('chatgpt.com', 80)).toEqual({ host: 'chatgpt.com', port: 80, redirected: false })
    expect(createConnectTo()('x', 1)).toEqual({ host: 'x', port: 1, redirected: false })
  })
})
