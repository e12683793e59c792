/**
 * The monitor turns off V8's allocation-site pretenuring for its process (src/v8-flags.ts): which
 * literal V8 pretenures depends on where the scavenges fall, and a pretenured literal whose objects
 * die young keeps their young records alive until the next full GC (a replay of the 100 MiB bench
 * capture promoted 140 MB instead of 55 MB in two runs of three). With V8's pretenuring on, its
 * `--trace-pretenuring-statistics` prints a line per allocation site it weighs at each scavenge;
 * with it off there is none.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js')
const dir = mkdtempSync(join(tmpdir(), 'agenttap-monitor-pretenuring-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `n` complete Anthropic flows of a few text deltas each, one sse_lines-style file. */
function flows(n: number): string {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z')
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i * 10).toISOString()
    const base = `"v":1,"ts":"${ts}","flow_id":"f-${i}","session_id":"s${i % 7}"`
    const sse = (seq: number, event: string, data: object): string => `{${base},"type":"sse","seq":${seq},"event":"${event}","data":${JSON.stringify(JSON.stringify(data))}}`
    lines.push(`{${base},"type":"flow","client":"claude-code","provider":"anthropic","url":"https://api.anthropic.com/v1/messages"}`)
    lines.push(sse(0, 'message_start', { type: 'message_start', message: { id: `m${i}`, model: 'claude-x', role: 'assistant', usage: { input_tokens: 5, output_tokens: 1 } } }))
    lines.push(sse(1, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }))
    for (let k = 0; k < 8; k++) lines.push(sse(2 + k, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `flow ${i} word ${k} ` } }))
    lines.push(sse(10, 'content_block_stop', { type: 'content_block_stop', index: 0 }))
    lines.push(sse(11, 'message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }))
    lines.push(sse(12, 'message_stop', { type: 'message_stop' }))
  }
  return lines.join('\n') + '\n'
}

describe('agenttap-monitor bin: V8 pretenuring', () => {
  it('is off in the monitor process: V8 weighs no allocation site for pretenuring during a replay', () => {
    const file = join(dir, 'sse_lines.jsonl')
    writeFileSync(file, flows(4000))
    // A 1 MiB young generation: many scavenges, each of which would weigh the sites.
    const r = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '--max-semi-space-size=1', bin, '--replay', '--delay-ms', '0', '--no-siblings', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('■ completed · end_turn · claude-x')
    expect(r.stdout.match(/pretenuring: AllocationSite/g) ?? []).toEqual([])
  })
})
