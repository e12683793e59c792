import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendSession, TRAP_IDS, writeTrapTree } from '@agenttap/transcripts/generate'

// `agenttap-analyze … --source transcripts`, run as a user runs it: the agents' dirs found from
// CLAUDE_CONFIG_DIR / CODEX_HOME, or given with --claude-dir / --codex-dir; the trap tree of
// @agenttap/transcripts, whose exact totals are asserted.
const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js')
let tmp: string
let dirs: { claudeDir: string; codexDir: string }
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'analyze-transcripts-'))
  dirs = writeTrapTree(join(tmp, 'tree'))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: join(tmp, 'home'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}
const rows = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)

describe('agenttap-analyze --source transcripts', () => {
  it('finds the agents’ dirs from CLAUDE_CONFIG_DIR and CODEX_HOME; daily has exact tokens and cost', async () => {
    const r = await run(['daily', '--source', 'transcripts', '--log-dir', join(tmp, 'logs'), '-f', 'ndjson', '-q'], { CLAUDE_CONFIG_DIR: dirs.claudeDir, CODEX_HOME: dirs.codexDir })
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const d = rows(r.out)
    const total = (k: string) => d.reduce((n, x) => n + Number(x[k]), 0)
    expect([total('calls'), total('input_tokens'), total('cache_read_tokens'), total('cache_write_5m_tokens'), total('cache_write_1h_tokens'), total('output_tokens')]).toEqual([10, 2685, 6600, 2500, 1100, 1210])
    expect(Math.round(total('cost_usd') * 1e9) / 1e9).toBe(0.0352275)
    expect(new Set(d.map((x) => x.source))).toEqual(new Set(['claude-transcript', 'codex-rollout']))
  })

  it('daily, usage and cost answered before the CLI loads (quick.ts) are the full CLI\'s bytes, stdout and stderr', async () => {
    const logs = join(tmp, 'logs-quick')
    for (const mode of ['daily', 'usage', 'cost']) {
      const base = [mode, '--source', 'transcripts', '--claude-dir', dirs.claudeDir, '--codex-dir', dirs.codexDir, '--log-dir', logs, '-f', 'ndjson']
      // `--engine index` is not a quick line: the full CLI answers it from the same usage summary.
      const quick = await run(base)
      const full = await run([...base, '--engine', 'index'])
      expect(quick.code).toBe(0)
      expect(full.code).toBe(0)
      expect(quick.out.length).toBeGreaterThan(0)
      expect(quick.out).toBe(full.out)
      expect(quick.err).toBe(full.err)
    }
  })

  it('--claude-dir alone reads only Claude Code; the index is kept under <log root>/transcripts-index', async () => {
    const r = await run(['sessions', '--source', 'transcripts', '--claude-dir', dirs.claudeDir, '--log-dir', join(tmp, 'logs2'), '-f', 'ndjson', '-q'])
    expect(r.code).toBe(0)
    expect(rows(r.out).map((x) => [x.session_id, x.client, x.output_tokens])).toEqual([
      [TRAP_IDS.claudeSessionA, 'claude-code', 450],
      [TRAP_IDS.claudeSessionB, 'claude-code', 300],
    ])
    const again = await run(['sessions', '--source', 'transcripts', '--claude-dir', dirs.claudeDir, '--log-dir', join(tmp, 'logs2'), '-f', 'ndjson', '-q', '-v'])
    expect(again.err).toContain('"bytes":0')
  })

  it('says what is wrong: transcript dirs without --source, a missing dir', async () => {
    const a = await run(['usage', '--claude-dir', dirs.claudeDir, '--log-dir', join(tmp, 'logs3')])
    expect(a.code).toBe(2)
    expect(a.err).toContain('add --source transcripts')
    const b = await run(['usage', '--source', 'transcripts', '--codex-dir', join(tmp, 'nope'), '--log-dir', join(tmp, 'logs3')])
    expect(b.code).toBe(2)
    expect(b.err).toContain('does not exist')
  })

  it('keeps the index from one output format to another (no rebuild)', async () => {
    const args = ['--source', 'transcripts', '--claude-dir', dirs.claudeDir, '--codex-dir', dirs.codexDir, '--log-dir', join(tmp, 'logs4')]
    const first = await run(['usage', ...args, '-f', 'csv'])
    expect(first.code).toBe(0)
    for (const f of ['ndjson', 'csv', 'table', 'ndjson']) {
      const r = await run([f === 'table' ? 'daily' : 'usage', ...args, '-f', f])
      expect(r.code).toBe(0)
      expect(r.err).not.toContain('rebuilt')
    }
  })

  it('a warm quick line reads through the bundle (dist/quick), which checks it is the installed packages\' code', async () => {
    const bundle = (await import(pathToFileURL(join(import.meta.dirname, '..', 'dist', 'quick', 'transcript-usage.js')).href)) as typeof import('../src/transcript-usage-bundle.js')
    expect(bundle.BUNDLED.map(([name]) => name)).toContain('@agenttap/transcripts')
    expect(bundle.bundleCurrent()).toBe(true)
    // Another version installed than bundled, or a package not found: the package's own code answers.
    const [first, ...rest] = bundle.BUNDLED
    expect(bundle.bundleCurrent([[first![0], first![1], `${first![2]}-other`], ...rest])).toBe(false)
    expect(bundle.bundleCurrent([...bundle.BUNDLED, ['@agenttap/no-such-package', null, '0.0.0']])).toBe(false)
    // Warm, one new session read by the bundle: the bytes of the full CLI over a copy of the same summary.
    const logs = join(tmp, 'logs-bundle')
    const base = ['--source', 'transcripts', '--claude-dir', dirs.claudeDir, '--codex-dir', dirs.codexDir, '-f', 'ndjson']
    expect((await run(['daily', ...base, '--log-dir', logs])).code).toBe(0)
    const added = appendSession(dirs.claudeDir, 77, '2026-11-23T08:00:00.000Z')
    try {
      cpSync(logs, `${logs}-full`, { recursive: true })
      const quick = await run(['daily', ...base, '--log-dir', logs])
      const full = await run(['daily', ...base, '--log-dir', `${logs}-full`, '--engine', 'index'])
      expect(quick.code).toBe(0)
      expect(quick.err).toBe('')
      expect(quick.out).toBe(full.out)
      expect(quick.out).toContain('2026-11-23')
    } finally {
      rmSync(added.path, { force: true })
    }
  })
})
