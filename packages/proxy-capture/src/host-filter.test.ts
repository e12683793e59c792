import { describe, expect, it } from 'vitest'
import { createHostFilter, hostOnly } from './host-filter.js'

describe('createHostFilter', () => {
  it('captures the known LLM hosts and anything answering text/event-stream by default', () => {
    const f = createHostFilter()
    expect(f.captures('api.anthropic.com')).toBe(true)
    expect(f.captures('chatgpt.com:443')).toBe(true)
    expect(f.captures('my.openai.azure.com')).toBe(true)
    expect(f.captures('example.com')).toBe(false)
    expect(f.captures('example.com', 'text/event-stream; charset=utf-8')).toBe(true)
    expect(f.captures('example.com', 'application/json')).toBe(false)
  })

  it('with include, captures only those hosts; exclude always wins', () => {
    const f = createHostFilter({ include: ['*.internal', 'llm.local'], exclude: ['secret.internal'] })
    expect(f.captures('a.internal')).toBe(true)
    expect(f.captures('llm.local', 'text/event-stream')).toBe(true)
    expect(f.captures('secret.internal')).toBe(false)
    expect(f.captures('api.anthropic.com')).toBe(false)
    expect(createHostFilter({ exclude: ['api.anthropic.com'] }).captures('api.anthropic.com', 'text/event-stream')).toBe(false)
  })

  it('hostOnly strips ports and IPv6 brackets', () => {
    expect(hostOnly('[::1]:9110')).toBe('::1')
    expect(hostOnly('::1')).toBe('::1')
    expect(hostOnly('a.b:443')).toBe('a.b')
    expect(hostOnly('a.b')).toBe('a.b')
  })
})
