/**
 * `agenttap-proxy demo` end to end on a real terminal (tmux): the live monitor shows the demo's
 * cards, the web API lists the demo's flows, Ctrl-C ends it with exit code 0.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'agenttap-demo-test-'))
const session = `agenttap-demo-${process.pid}`
const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' })
afterAll(() => {
  try {
    tmux('kill-session', '-t', session)
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('agenttap-proxy demo', () => {
  it('fills the live monitor and the web view within seconds, says what to try next, and stops on Ctrl-C', async () => {
    const exitFile = join(dir, 'exit-code')
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} demo --ca-dir ${JSON.stringify(join(dir, 'ca'))} --log-dir ${JSON.stringify(join(dir, 'logs'))}; echo $? > ${JSON.stringify(exitFile)}; sleep 60`
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '80', cmd)
    const pane = (): string => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session)
    await expect.poll(pane, { timeout: 45_000, interval: 250 }).toContain('# try next:')
    const screen = pane()
    // Cards of both agents, the tool call's command, the error and the 429, with end lines from the ledger.
    expect(screen).toMatch(/── claude-code · session 5b6f7a8c/)
    expect(screen).toMatch(/── codex · session 019a0c1d/)
    expect(screen).toContain('$ npm test -- tests/parse.test.ts')
    expect(screen).toMatch(/■ completed · tool_use · claude-sonnet-4-5/)
    expect(screen).toContain('overloaded_error: Overloaded')
    expect(screen).toContain('HTTP 429')
    expect(screen).toContain(`agenttap-analyze usage --log-dir ${join(dir, 'logs')}`)
    expect(screen).toContain('agenttap-monitor --replay fixtures/capture/')
    const url = new URL(/live web view: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(screen)![1] as string)
    const res = await fetch(new URL('/api/flows', url), { headers: { 'x-agenttap-token': url.searchParams.get('token') as string } })
    expect(res.status).toBe(200)
    const flows = ((await res.json()) as { flows: { client: string; session_id: string }[] }).flows
    expect(flows).toHaveLength(5)
    expect(new Set(flows.map((f) => f.client))).toEqual(new Set(['claude-code', 'codex']))
    tmux('send-keys', '-t', session, 'C-c')
    await expect.poll(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim(), { timeout: 20_000 }).toBe('0')
  }, 90_000)
})
