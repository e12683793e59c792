import { describe, expect, it } from 'vitest'
import { bindAddresses, firstRemoteAddress, isLoopbackAddress } from './loopback.js'

describe('the loopback rule: addresses, not names', () => {
  it('loopback addresses are 127.0.0.0/8, ::1 and IPv4-mapped 127.x', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLoopbackAddress(a), a).toBe(true)
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.20', '::ffff:10.0.0.1', '128.0.0.1', '127.evil.example', 'localhost']) expect(isLoopbackAddress(a), a).toBe(false)
  })

  it('a name is resolved and every address checked; 0.0.0.0 and :: are not loopback', async () => {
    expect(await firstRemoteAddress('127.0.0.1')).toBeUndefined()
    expect(await firstRemoteAddress('localhost')).toBeUndefined()
    expect(await firstRemoteAddress('0.0.0.0')).toBe('0.0.0.0')
    expect(await firstRemoteAddress('::')).toBe('::')
    expect((await bindAddresses('localhost')).length).toBeGreaterThan(0)
  })
})
