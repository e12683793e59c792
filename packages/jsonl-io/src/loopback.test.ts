import { describe, expect, it } from 'vitest'
import { isLoopbackAddress, isUnspecifiedAddress, resolveAddresses, resolveLoopback } from './loopback.js'

describe('isLoopbackAddress: addresses, not names', () => {
  it('is true for 127/8 and ::1 in every spelling, and their IPv4-mapped forms', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '127.255.0.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '::ffff:127.0.0.1', '0:0:0:0:0:ffff:127.0.0.1', '::ffff:7f00:1', '[::FFFF:127.0.0.1]']) {
      expect(isLoopbackAddress(a), a).toBe(true)
    }
  })

  it('is false for every other address and for any name, whatever it looks like', () => {
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.20', '::ffff:10.0.0.1', '128.0.0.1', '126.255.255.255', '::2', '127.evil.example', 'localhost', '2130706433', '0x7f000001', '']) {
      expect(isLoopbackAddress(a), a).toBe(false)
    }
  })
})

describe('isUnspecifiedAddress', () => {
  it('is "any" in both families and the mapped form, nothing else', () => {
    for (const a of ['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0']) expect(isUnspecifiedAddress(a), a).toBe(true)
    for (const a of ['127.0.0.1', '::1', '0.0.0.1', 'localhost', '']) expect(isUnspecifiedAddress(a), a).toBe(false)
  })
})

describe('resolveLoopback: THE loopback rule of every agenttap server', () => {
  it('judges names by what they resolve to, and needs every address to be loopback', async () => {
    expect(await resolveLoopback('localhost')).toMatchObject({ loopback: true })
    expect((await resolveAddresses('localhost')).length).toBeGreaterThan(0)
    expect(await resolveLoopback('127.0.0.1')).toEqual({ loopback: true, addresses: ['127.0.0.1'] })
    expect(await resolveLoopback('[::1]')).toEqual({ loopback: true, addresses: ['::1'] })
    // Numeric spellings resolve as a connect or a listen would resolve them.
    expect(await resolveLoopback('2130706433')).toEqual({ loopback: true, addresses: ['127.0.0.1'] })
    expect(await resolveLoopback('0x7f000001')).toEqual({ loopback: true, addresses: ['127.0.0.1'] })
    expect(await resolveLoopback('0.0.0.0')).toEqual({ loopback: false, addresses: ['0.0.0.0'] })
    expect(await resolveLoopback('::')).toEqual({ loopback: false, addresses: ['::'] })
    expect(await resolveLoopback('10.0.0.1')).toEqual({ loopback: false, addresses: ['10.0.0.1'] })
  })

  it('an empty host or a name that does not resolve is not loopback, and says why', async () => {
    expect(await resolveLoopback('  ')).toMatchObject({ loopback: false, addresses: [], error: expect.stringMatching(/every interface/) })
    // Looks like loopback, is a name: it does not resolve here (no network), so it is refused.
    expect(await resolveLoopback('127.evil.example')).toMatchObject({ loopback: false, addresses: [], error: expect.stringMatching(/cannot resolve/) })
  })
})
