import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readLinesAt, scanForFlow, searchFlows } from './line-reader.js'

const dir = mkdtempSync(join(tmpdir(), 'agenttap-web-lr-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function build(): { path: string; offsets: number[]; values: unknown[] } {
  const lines: string[] = []
  const values: unknown[] = []
  for (let i = 0; i < 400; i++) {
    // A few long lines cross the 64 KiB read steps and the 1 MiB scan chunks.
    const pad = i % 97 === 0 ? 'x'.repeat(300_000) : 'é'.repeat(i % 13)
    const v = { type: 'sse', flow_id: `f${i % 7}`, seq: i, data: pad }
    values.push(v)
    lines.push(JSON.stringify(v))
  }
  lines.splice(50, 0, '{"broken": ')
  values.splice(50, 0, undefined)
  const path = join(dir, 'lines.jsonl')
  writeFileSync(path, `${lines.join('\n')}\n`)
  const offsets: number[] = []
  let off = 0
  for (const l of lines) {
    offsets.push(off)
    off += Buffer.byteLength(l) + 1
  }
  return { path, offsets, values }
}

describe('readLinesAt', () => {
  const { path, offsets, values } = build()
  it('reads the lines at any set of offsets, in the order asked, coalescing reads', async () => {
    const pick = offsets.map((o, i) => [o, i] as const).filter(([, i]) => i % 3 === 0 || i === 50).reverse()
    const got = await readLinesAt(path, pick.map(([o]) => o))
    got.forEach((r, k) => {
      const i = (pick[k] as readonly [number, number])[1]
      if (i === 50) expect(r.error).toMatch(/byte \d+/)
      else expect(r.value).toEqual(values[i])
    })
  })
  it('reports an offset past the end instead of throwing', async () => {
    const [r] = await readLinesAt(path, [10 ** 9])
    expect(r?.error).toMatch(/past the end/)
  })
})

describe('scanForFlow', () => {
  const { path, values } = build()
  it('finds every line of one flow across chunk boundaries', async () => {
    const got = await scanForFlow(path, 'f3')
    const want = values.filter((v) => (v as { flow_id?: string } | undefined)?.flow_id === 'f3')
    expect(got.map((r) => r.value)).toEqual(want)
  })
  it('returns nothing for a missing file', async () => {
    expect(await scanForFlow(join(dir, 'nope.jsonl'), 'f1')).toEqual([])
  })
})

describe('searchFlows', () => {
  it('finds a needle in lines that straddle the 4 MiB read chunks, case-insensitively, with ids in their original case', async () => {
    const path = join(dir, 'big.jsonl')
    const lines: string[] = []
    for (let i = 0; i < 100; i++) {
      const mark = i % 9 === 4 ? (i === 40 ? 'the Needle-\\u03a9 here' : 'the Needle-Ω here') : 'nothing'
      lines.push(JSON.stringify({ type: 'sse', flow_id: `Flow-${i}`, data: `${'y'.repeat(97_000 + i)} ${mark}` }))
    }
    writeFileSync(path, `${lines.join('\n')}\n`)
    const r = await searchFlows([path, join(dir, 'missing.jsonl')], 'NEEDLE-Ω')
    expect(r.flowIds.sort()).toEqual(['Flow-13', 'Flow-22', 'Flow-31', 'Flow-4', 'Flow-40', 'Flow-49', 'Flow-58', 'Flow-67', 'Flow-76', 'Flow-85', 'Flow-94'].sort())
    expect(r.truncated).toBe(false)
    expect((await searchFlows([path], 'needle-ω')).flowIds).toEqual([]) // non-ASCII matches as typed
    const capped = await searchFlows([path], 'needle', { limit: 2 })
    expect(capped.flowIds).toHaveLength(2)
    expect(capped.truncated).toBe(true)
  })
})
