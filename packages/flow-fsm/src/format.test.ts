import { describe, expect, it } from 'vitest'
import { endLine, errorLine, formatDuration, formatTokens, usageText } from './format.js'

describe('formatters', () => {
  it('tokens and durations', () => {
    expect(formatTokens(999)).toBe('999')
    expect(formatTokens(1320)).toBe('1.3k')
    expect(formatTokens(14210)).toBe('14k')
    expect(formatTokens(2_500_000)).toBe('2.5M')
    expect(formatDuration(497)).toBe('497 ms')
    expect(formatDuration(30432)).toBe('30.4 s')
    expect(formatDuration(125000)).toBe('2m05s')
  })

  it('usage: in is the uncached prompt, cache writes of both TTLs together, reasoning inside out', () => {
    expect(usageText({ input: 9, cache_read: 14210, cache_write_5m: 1000, cache_write_1h: 320, output: 187 })).toBe('in 9 (cache read 14k, cache write 1.3k) · out 187')
    expect(usageText({ input: 346, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 312, reasoning: 192 })).toBe('in 346 · out 312 (reasoning 192)')
  })

  it('one error-line format: type, code in parentheses when both, message on one line, controls made visible', () => {
    expect(errorLine({ type: 'overloaded_error', message: 'Overloaded' })).toBe('✗ overloaded_error: Overloaded')
    expect(errorLine({ code: 'rate_limit_exceeded', message: 'slow\n down' })).toBe('✗ rate_limit_exceeded: slow down')
    expect(errorLine({ type: 'invalid_request_error', code: 'context_length', message: 'too long' })).toBe('✗ invalid_request_error (context_length): too long')
    expect(errorLine({ message: 'x\u001b[2J' })).toBe('✗ error: x␛[2J')
  })

  it('end line of a failed call names status and error; a call the view gave up on is dead', () => {
    const l = endLine({ outcome: 'error', http_status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } })
    expect(l).toEqual({ text: '✗ error · HTTP 529 · overloaded_error: Overloaded', failed: true })
    expect(endLine({ outcome: 'open', model: 'm' }, 'idle')).toEqual({ text: '✗ dead (idle) · m', failed: true })
    expect(endLine({ outcome: 'completed', stop_reason: 'completed', http_status: 101, duration_ms: 5 })).toEqual({ text: '■ completed · 5 ms', failed: false })
  })
})
