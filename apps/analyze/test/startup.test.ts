import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeTrapTree } from '@agenttap/transcripts/generate'

// What a mode's start-up loads, seen from the built CLI run as a user runs it: a preload records
// the Node built-ins the process loaded (process.moduleLoadList) when it exits. The modes over a
// current index and the transcripts' usage summary must not pay for built-ins only other paths
// use: worker_threads (an index built on several threads), readline (cache --explain), dns (a
// host name to resolve, the proxy's bind check). Build first: pnpm --filter @agenttap/analyze build.
const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js')
const BASIC = join(import.meta.dirname, '..', '..', '..', 'packages', 'extractors', 'test', 'fixtures', 'basic')
const NOT_ON_A_MODE_PATH = ['worker_threads', 'readline', 'dns']
const tmp = mkdtempSync(join(tmpdir(), 'analyze-startup-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const PRELOAD = join(tmp, 'loaded.mjs')
writeFileSync(PRELOAD, `import { writeFileSync } from 'node:fs'
process.on('exit', () => writeFileSync(process.env.LOADED_OUT, process.moduleLoadList.join('\\n')))
`)

/** Runs the bin; returns its stdout and the built-in modules it loaded (`NativeModule x` → `x`). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; loaded: string[] }> {
  const list = join(tmp, `loaded-${Math.random().toString(36).slice(2)}.txt`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: join(tmp, 'home'), LOADED_OUT: list, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const loaded = readFileSync(list, 'utf8').split('\n').filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length))
      resolve({ code, out, loaded })
    })
  })
}

describe.runIf(existsSync(BIN))('agenttap-analyze start-up', () => {
  it('usage over a current index loads no worker_threads, readline or dns', async () => {
    const root = join(tmp, 'capture')
    cpSync(BASIC, root, { recursive: true })
    const first = await run(['usage', '--log-dir', root, '-q'])
    expect(first.code).toBe(0)
    const warm = await run(['usage', '--log-dir', root, '-q'])
    expect(warm.code).toBe(0)
    expect(warm.out).toBe(first.out)
    expect(warm.out.length).toBeGreaterThan(0)
    expect(warm.loaded.filter((m) => NOT_ON_A_MODE_PATH.includes(m))).toEqual([])
  })

  it('daily --source transcripts from its usage summary loads no worker_threads, readline, dns or commander', async () => {
    const dirs = writeTrapTree(join(tmp, 'tree'))
    const args = ['daily', '--source', 'transcripts', '--claude-dir', dirs.claudeDir, '--codex-dir', dirs.codexDir, '--log-dir', join(tmp, 'logs'), '-f', 'ndjson', '-q']
    const first = await run(args)
    expect(first.code).toBe(0)
    const warm = await run(args)
    expect(warm.code).toBe(0)
    expect(warm.out).toBe(first.out)
    expect(warm.out.length).toBeGreaterThan(0)
    expect(warm.loaded.filter((m) => NOT_ON_A_MODE_PATH.includes(m))).toEqual([])
    // Its plain command line is read without commander (fast-args.ts), which loads child_process.
    expect(warm.loaded).not.toContain('child_process')
  })
})
