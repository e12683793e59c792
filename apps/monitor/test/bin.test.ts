/** The built bin as a process: stdin pipes, `| head`, exit codes. */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, fixtureText } from './helpers.js'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(appDir, 'dist', 'bin.js')

// test/global-setup.ts builds dist/ when stale
beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} missing: run pnpm --filter @agenttap/monitor build`)
})

describe('agenttap-monitor bin', () => {
  it('reads canonical records from stdin (-), piped output has no escape codes, malformed lines are warned about on stderr', () => {
    const input = fixtureText('claude-code-turn.jsonl') + '{"oops\n' + fixtureText('truncated-stream.jsonl')
    const r = spawnSync(process.execPath, [bin, '-'], { input, encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('$ printf "café\\n" && ls -la src/')
    // Piped: the warning goes to stderr, stdout is only the view.
    expect(r.stderr).toMatch(/⚠ stdin:39 \(byte \d+\).*malformed JSON/)
    expect(r.stdout).not.toContain('⚠')
    expect(r.stdout).toContain('✗ truncated · claude-sonnet-4-5-20250929')
    expect(r.stdout).not.toContain('\x1b')
  })

  it('--json from stdin is NDJSON a jq-like consumer can parse line by line', () => {
    const r = spawnSync(process.execPath, [bin, '-', '--json'], { input: fixtureText('codex-turn.jsonl'), encoding: 'utf8' })
    expect(r.status).toBe(0)
    const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; client?: string })
    expect(events.filter((e) => e.type === 'tool_call_end')).toHaveLength(4)
    expect(events.every((e) => e.client === 'codex')).toBe(true)
  })

  it('--verbose logs stream diagnostics to stderr as JSON (pino); stdout stays the view', () => {
    const head = fixtureText('claude-code-turn.jsonl').split('\n').slice(0, 3).join('\n') + '\n'
    const bad = JSON.stringify({ v: 1, type: 'sse', ts: '2026-11-20T10:00:00.500Z', flow_id: 'cc-turn-1', session_id: 's', seq: 3, event: 'content_block_delta', data: '{not json' })
    const r = spawnSync(process.execPath, [bin, '-', '--verbose'], { input: head + bad + '\n', encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('? unknown content_block_delta (malformed JSON')
    const logs = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { code?: string; flow_id?: string; seq?: number })
    expect(logs.find((l) => l.code === 'MALFORMED_JSON')).toMatchObject({ flow_id: 'cc-turn-1', seq: 3 })
    // without --verbose: nothing on stderr
    const quiet = spawnSync(process.execPath, [bin, '-'], { input: head + bad + '\n', encoding: 'utf8' })
    expect(quiet.stderr).toBe('')
  })

  it('| head closes the pipe early: exit 0, no EPIPE stack trace', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" --replay --delay-ms 0 "${join(FIXTURES, 'codex-turn.jsonl')}" | head -n 2`], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout.split('\n').filter((l) => l !== '')).toHaveLength(2)
    expect(r.stderr).not.toMatch(/EPIPE|Error/)
  })
})
