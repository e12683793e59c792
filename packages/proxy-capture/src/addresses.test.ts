import { describe, expect, it } from 'vitest'
import { createSelfGuard, LOOP_ERROR_CODE } from './addresses.js'

// The loopback rule itself (isLoopbackAddress, resolveLoopback) lives in jsonl-io, with its tests.
describe('createSelfGuard', () => {
  it('recognises the proxy\'s own address under any spelling, and nothing else', async () => {
    const guard = createSelfGuard(() => ({ address: '127.0.0.1', port: 9110 }))
    expect(guard.isSelf('127.0.0.1', 9110)).toBe(true)
    expect(guard.isSelf('0.0.0.0', 9110)).toBe(true)
    expect(guard.isSelf('::', 9110)).toBe(true)
    expect(guard.isSelf('::ffff:127.0.0.1', 9110)).toBe(true)
    expect(guard.isSelf('127.0.0.1', 9111)).toBe(false)
    expect(guard.isSelf('127.0.0.2', 9110)).toBe(false)
    expect(guard.check('[::ffff:127.0.0.1]', 9110)?.code).toBe(LOOP_ERROR_CODE)
    expect(guard.check('2130706433', 9110)).toBeUndefined() // a name: the lookup decides
    const lookup = guard.lookupFor(9110)
    const viaLookup = (name: string, all: boolean): Promise<{ err: NodeJS.ErrnoException | null; address: unknown }> =>
      new Promise((resolve) => lookup(name, { all }, (err, address) => resolve({ err, address })))
    for (const name of ['2130706433', '0x7f000001', 'localhost']) {
      const r = await viaLookup(name, false)
      expect(r.err?.code, name).toBe(LOOP_ERROR_CODE)
      expect(r.err?.message).toMatch(/refusing to forward to .*9110: that is this proxy's own address/)
    }
    const other = guard.lookupFor(9111)
    const ok = await new Promise<{ err: unknown; address: unknown }>((resolve) => other('localhost', { all: true }, (err, address) => resolve({ err, address })))
    expect(ok.err).toBeNull()
    expect(Array.isArray(ok.address)).toBe(true)
  })

  it('bound to every interface, counts every loopback address as its own', () => {
    const guard = createSelfGuard(() => ({ address: '0.0.0.0', port: 9110 }))
    expect(guard.isSelf('127.0.0.2', 9110)).toBe(true)
    expect(guard.isSelf('::1', 9110)).toBe(true)
    expect(guard.isSelf('192.0.2.1', 9110)).toBe(false) // TEST-NET: no interface has it
  })
})
