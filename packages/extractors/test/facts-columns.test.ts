import { describe, expect, it } from 'vitest'
import { Text, decode, encode } from '../src/facts-columns.js'

// A section's text columns are checked when read: offsets that go down (a writer's bug, or bytes
// changed under a matching checksum) make the section unreadable rather than cut values wrongly.
const section = (): Buffer => {
  const vals = ['a', 'bb', null, '', 'ccc', 'é']
  return encode(vals.length, [], [{ name: 't', type: 'text', get: (i) => vals[i]! }, { name: 'x', type: 'f64', get: (i) => i }])
}
/** Where the text column's offsets start in the section (after the head, at a multiple of 8). */
const offsetsAt = (b: Buffer): number => (4 + b.readUInt32LE(0) + 7) & ~7

describe('facts columns', () => {
  it('reads back the values of a section', () => {
    const b = Buffer.from(section()) // a buffer of its own: aligned views
    const p = decode(b)
    expect((p.cols.t as Text).all()).toEqual(['a', 'bb', null, '', 'ccc', 'é'])
    expect([...(p.cols.x as Float64Array)]).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('refuses text offsets that go down', () => {
    const b = Buffer.from(section())
    const at = offsetsAt(b)
    // Offsets 0,1,3,3,3,6,8: make the second larger than the third.
    expect(b.readUInt32LE(at + 4)).toBe(1)
    b.writeUInt32LE(5, at + 4)
    expect(() => decode(b)).toThrow('bad text offsets')
  })
})

describe('encode', () => {
  it('a text column given as bytes is the same section as the values read one by one', () => {
    const vals = ['{"a":1}\n', null, 'é "x"\n', '', '😀\n', null]
    const parts = vals.map((v) => (v === null ? Buffer.alloc(0) : Buffer.from(v, 'utf8')))
    const off = new Uint32Array(vals.length + 1)
    for (let i = 0; i < vals.length; i++) off[i + 1] = off[i]! + parts[i]!.length
    const nul = Uint8Array.from(vals.map((v) => (v === null ? 1 : 0)))
    for (const plain of [false, true]) {
      const pick = plain ? vals.map((v) => (v === null ? null : 'abc')) : vals
      const bytes = plain ? pick.map((v) => Buffer.from(v ?? '', 'utf8')) : parts
      const o = new Uint32Array(vals.length + 1)
      for (let i = 0; i < vals.length; i++) o[i + 1] = o[i]! + bytes[i]!.length
      const fromGet = encode(vals.length, ['d'], [{ name: 'line', type: 'text', get: (i) => pick[i]! }, { name: 'x', type: 'f64', get: (i) => i }])
      const fromBlock = encode(vals.length, ['d'], [{ name: 'line', type: 'text', block: { block: Buffer.concat(bytes), off: plain ? o : off, nul, plain } }, { name: 'x', type: 'f64', get: (i) => i }])
      expect(fromBlock.equals(fromGet)).toBe(true)
      expect((decode(Buffer.from(fromBlock)).cols.line as Text).all()).toEqual(pick)
    }
  })
})
