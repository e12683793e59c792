/**
 * End-to-end: the real bin in a real terminal (tmux, 200×50) following a file that grows while
 * it runs. Asserts on what the screen shows.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureText } from './helpers.js'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(appDir, 'dist', 'bin.js')
const session = `agenttap-monitor-e2e-${process.pid}`
const dir = mkdtempSync(join(tmpdir(), 'agenttap-monitor-e2e-'))
const file = join(dir, 'capture.jsonl')
const hasTmux = spawnSync('tmux', ['-V']).status === 0

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' })
}

function screen(): string {
  // -J joins wrapped rows, -S - includes the scrollback
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)
}

async function waitFor(re: RegExp, ms = 15_000): Promise<string> {
  const until = Date.now() + ms
  let s = ''
  while (Date.now() < until) {
    s = screen()
    if (re.test(s)) return s
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`screen never matched ${re}:\n${s}`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function appendSlowly(text: string, perLineMs: number): Promise<void> {
  for (const line of text.split('\n').filter((l) => l !== '')) {
    appendFileSync(file, line + '\n')
    await sleep(perLineMs)
  }
}

describe.skipIf(!hasTmux)('agenttap-monitor under tmux', () => {
  beforeAll(() => {
    // The test runs the built bin (test/global-setup.ts rebuilds it when stale).
    if (!existsSync(bin)) throw new Error(`${bin} missing: run pnpm --filter @agenttap/monitor build`)
    writeFileSync(file, '')
    // --from-start: the file is empty, so this shows what is appended whenever the follower opens it (no race with the first appends).
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', `node ${bin} --poll-ms 50 --session-guard 5000 --from-start ${file}`)
    tmux('set-option', '-t', session, 'history-limit', '5000')
  }, 60_000)

  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session])
    rmSync(dir, { recursive: true, force: true })
  })

  it('shows interleaved sessions card by card, $ commands, a malformed-line warning, and goes on', async () => {
    await waitFor(/agenttap-monitor · following .*capture\.jsonl/)

    // Two sessions streaming at once: their records alternate in the file.
    await appendSlowly(fixtureText('interleaved-sessions.jsonl'), 15)
    await waitFor(/── claude-code · session bbbbbbbb[\s\S]*■ completed · end_turn/)

    await appendSlowly(fixtureText('claude-code-turn.jsonl'), 5)
    await appendSlowly(fixtureText('codex-turn.jsonl'), 2)
    const before = fixtureText('interleaved-sessions.jsonl').split('\n').filter((l) => l).length +
      fixtureText('claude-code-turn.jsonl').split('\n').filter((l) => l).length +
      fixtureText('codex-turn.jsonl').split('\n').filter((l) => l).length
    appendFileSync(file, '{"v":1,"type":"sse","flow_id":"half-written", "data": \n')
    await appendSlowly(fixtureText('api-error-in-200.jsonl'), 5)

    const s = await waitFor(/✗ rate_limit_exceeded[\s\S]*✗ error · failed/)
    const lines = s.split('\n')

    // Interleaved: A keeps the screen (guard) until it ends; then B, whole. No ping-pong.
    const hA = lines.findIndex((l) => l.includes('── claude-code · session aaaaaaaa'))
    const hB = lines.findIndex((l) => l.includes('── claude-code · session bbbbbbbb'))
    expect(hA).toBeGreaterThanOrEqual(0)
    expect(hB).toBeGreaterThan(hA)
    const aBlock = lines.slice(hA, hB).join('\n')
    expect(aBlock).toContain('Session A: checking the git status first.')
    expect(aBlock).toContain('$ git status --short')
    expect(aBlock).not.toContain('Session B')
    expect(lines.slice(hB).join('\n')).toContain('Session B: lines removed, lines added, green and red.')
    expect(s.match(/session aaaaaaaa/g)).toHaveLength(1)
    expect(s.match(/session bbbbbbbb/g)).toHaveLength(1)

    // The bash -lc / Bash raw-argument row was replaced in place by `$ …`.
    expect(s).toContain('$ cd repo && npm test -- tests/parse.test.ts 2>&1 | tail -n 20')
    expect(s).toContain('$ printf "café\\n" && ls -la src/')
    expect(s).toContain('$ rg -n "parseLine" src/ | head -n 5')
    expect(s).not.toMatch(/"-lc"/)
    expect(s).not.toMatch(/\{"command"/)

    // One dim warning with the line number; the view went on after it.
    const warn = new RegExp(`⚠ .*capture\\.jsonl:${before + 1} \\(byte \\d+\\).*malformed JSON`)
    expect(s).toMatch(warn)
    expect(s.match(/⚠ /g)).toHaveLength(1)
    expect(s.indexOf('✗ overloaded_error: Overloaded')).toBeGreaterThan(s.search(warn))

    // End lines with outcome, tokens and duration.
    expect(s).toContain('■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 495 ms')
  }, 60_000)

  it('keeps running and exits cleanly on Ctrl-C', async () => {
    tmux('send-keys', '-t', session, 'C-c')
    // remain-on-exit is off: the session disappears with the process
    for (let i = 0; i < 100 && spawnSync('tmux', ['has-session', '-t', session]).status === 0; i++) await sleep(50)
    expect(spawnSync('tmux', ['has-session', '-t', session]).status).not.toBe(0)
  }, 20_000)
})
