/**
 * The built bin replaying a capture of many flows that never end (issue 16 item 5). At the end of
 * the input every open flow is ended (`✗ dead (input ended)`); with 60,000 of them that used to be
 * one quadratic, synchronous step during which SIGTERM was ignored. Now SIGTERM stops it: exit 0,
 * the flows not ended yet are left as they were.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js')
const dir = mkdtempSync(join(tmpdir(), 'agenttap-monitor-sigterm-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `n` flows that start streaming and never end, one sse_lines-style file. */
async function openFlows(file: string, n: number): Promise<void> {
  const out = createWriteStream(file)
  const t0 = Date.parse('2026-01-01T00:00:00.000Z')
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i).toISOString()
    const base = `"v":1,"ts":"${ts}","flow_id":"open-${i}","session_id":"s${i % 40}"`
    const chunk =
      `{${base},"type":"flow","client":"claude-code","provider":"anthropic","url":"https://api.anthropic.com/v1/messages"}\n` +
      `{${base},"type":"sse","seq":0,"event":"message_start","data":"{\\"type\\":\\"message_start\\",\\"message\\":{\\"id\\":\\"m\\",\\"model\\":\\"claude-x\\",\\"role\\":\\"assistant\\"}}"}\n` +
      `{${base},"type":"sse","seq":1,"event":"content_block_delta","data":"{\\"type\\":\\"content_block_delta\\",\\"index\\":0,\\"delta\\":{\\"type\\":\\"text_delta\\",\\"text\\":\\"flow ${i} says hi\\"}}"}\n`
    if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()))
  }
  await new Promise<void>((r) => out.end(() => r()))
}

describe('agenttap-monitor bin: SIGTERM during a replay', () => {
  it('SIGTERM while 60,000 never-ending flows are being ended stops it: exit 0, the rest left open', async () => {
    const n = 60_000
    const file = join(dir, 'open-flows.jsonl')
    await openFlows(file, n)
    const child = spawn(process.execPath, [bin, '--replay', '--delay-ms', '0', '--no-siblings', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    // The signal: the first flow ended by the end of the input.
    await new Promise<void>((resolve) => {
      let sent = false
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (!sent && out.includes('✗ dead (input ended)')) {
          sent = true
          resolve()
        }
      })
    })
    child.kill('SIGTERM')
    const code = await exited
    expect(code, err).toBe(0)
    const ended = out.match(/✗ dead \(input ended\)/g)?.length ?? 0
    // it stopped in the middle of ending them
    expect(ended).toBeGreaterThan(0)
    expect(ended).toBeLessThan(n)
  }, 120_000)
})
