import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readRawRef } from '@agenttap/jsonl-io'
import { createFileSink } from '../src/index.js'
import { tempDir } from './helpers.js'

describe('file sink raw bodies', () => {
  it('appends small bodies to one body log by range, gives large ones a file, and skips empty ones', async () => {
    const logDir = tempDir('sink-raw')
    const sink = createFileSink({ logDir })
    const small = Array.from({ length: 200 }, (_, i) => {
      const w = sink.raw!(`flow-${i}.request.json`)
      w.write(JSON.stringify({ i, text: 'é'.repeat(i) }))
      w.end()
      return { i, ref: w.ref }
    })
    const big = sink.raw!('flow-big.response.raw')
    const bigBody = Buffer.alloc(600 * 1024, 7)
    for (let o = 0; o < bigBody.length; o += 64 * 1024) big.write(bigBody.subarray(o, o + 64 * 1024))
    big.end()
    const empty = sink.raw!('flow-empty.response.raw')
    empty.end()
    await sink.close()

    const dir = join(logDir, 'all-mitm-sse')
    for (const { i, ref } of small) {
      expect(ref).toMatch(/^sse_logs\/bodies-\d{8}T\d{6}Z-\d+\.log#bytes=\d+-\d+$/)
      expect(JSON.parse((await readRawRef(dir, ref)).toString())).toEqual({ i, text: 'é'.repeat(i) })
    }
    expect(big.ref).toBe('sse_logs/flow-big.response.raw')
    expect((await readRawRef(dir, big.ref)).equals(bigBody)).toBe(true)
    expect(empty.ref).toBe('')
    // One body log for the 200 small bodies, each under a header line that names it.
    const files = readdirSync(join(dir, 'sse_logs')).sort()
    expect(files).toHaveLength(2)
    const log = readFileSync(join(dir, 'sse_logs', files.find((f) => f.startsWith('bodies-'))!), 'utf8')
    expect(log.split('\n').filter((l) => l.startsWith('=== agenttap flow-'))).toHaveLength(200)
  })
})
