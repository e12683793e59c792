/**
 * The repository's `pnpm start` wrapper (scripts/start.mjs) stopped as a terminal stops it: Ctrl-C
 * sends SIGINT to the whole foreground process group (the wrapper and the proxy it started). The
 * proxy must end its flows, flush the capture and say so; the wrapper must exit 0 with no stack.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const script = join(repo, 'scripts', 'start.mjs')
const root = mkdtempSync(join(tmpdir(), 'agenttap-start-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('scripts/start.mjs (pnpm start)', () => {
  it('Ctrl-C to its process group: the proxy flushes and stops, the wrapper exits 0 without a stack', async () => {
    const child = spawn(process.execPath, [script, '--port', '0', '--no-web', '--log-dir', join(root, 'logs')], {
      cwd: repo,
      detached: true, // its own process group, as the shell gives a foreground job
      env: { ...process.env, AGENTTAP_SKIP_BUILD: '1', HOME: join(root, 'home'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000)
    await expect.poll(() => out, { timeout: 30_000, interval: 50 }).toContain('export HTTPS_PROXY=')
    process.kill(-child.pid!, 'SIGINT')
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
    clearTimeout(killer)
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(out).toMatch(/shutting down: ending open flows and flushing the capture/)
    expect(out).toMatch(/agenttap proxy stopped/)
    expect(out).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/) // no stack trace
    expect(out).not.toContain('ELIFECYCLE')
    expect(existsSync(join(root, 'logs', 'all-mitm-sse'))).toBe(true)
  })
})
