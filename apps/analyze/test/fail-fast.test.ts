/**
 * The built `agenttap-analyze` as issue 17 lists it: --version, help on stderr with exit 2 when
 * nothing is asked, usage mistakes as one stderr line with exit 2 (--client nobody), one capture
 * file or stdin as input, --out-dir files in NDJSON whatever stdout is, CSV on stdout without
 * comment lines.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js')
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures')
const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }
const tmp = mkdtempSync(join(tmpdir(), 'analyze-failfast-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function run(args: string[], input?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: tmp, AGENTTAP_LOG_DIR: join(tmp, 'logs') }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.on('error', reject)
    child.stdin.on('error', () => {})
    child.stdin.end(input ?? '')
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

describe('agenttap-analyze fails fast and reads what the monitor reads', () => {
  it('--version prints the version', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' })
  })

  it('no arguments: the help on stderr, nothing on stdout, exit 2', async () => {
    const r = await run([])
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toMatch(/^Usage: agenttap-analyze/)
  })

  it('--client nobody: one line naming the clients, exit 2', async () => {
    const r = await run(['usage', '--client', 'nobody', '--log-dir', join(FIXTURES, 'capture'), '--no-index'])
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toBe('agenttap-analyze: --client: expected one of claude-code, codex, unknown, received "nobody"\n')
  })

  it('an unknown flag: one line, exit 2', async () => {
    const r = await run(['usage', '--bogus'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^agenttap-analyze: unknown option '--bogus' \(see agenttap-analyze --help\)\n$/)
  })

  it('one capture file as --log-dir: its calls, every record type in one file', async () => {
    const r = await run(['usage', '--log-dir', join(FIXTURES, 'claude-code-turn.jsonl'), '-q'])
    expect(r.code).toBe(0)
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { flow_id: string; output_tokens: number })
    expect(rows.map((x) => x.flow_id)).toEqual(['cc-turn-1', 'cc-turn-2'])
    expect(rows[0]?.output_tokens).toBe(187)
  })

  it('stdin (--log-dir -): a malformed line is reported with its place, the rest is analyzed', async () => {
    const r = await run(['usage', '--log-dir', '-'], '{bad\n' + readFileSync(join(FIXTURES, 'codex-turn.jsonl'), 'utf8'))
    expect(r.code).toBe(0)
    expect(r.err).toMatch(/warning: stdin:1 \(byte 0\): malformed JSON/)
    const fromStdin = r.out.trim().split('\n').map((l) => (JSON.parse(l) as { flow_id: string }).flow_id)
    expect(fromStdin).toEqual(expect.arrayContaining(['cx-turn-1', 'cx-turn-2']))
    // The same rows as the file read directly.
    const direct = await run(['usage', '--log-dir', join(FIXTURES, 'codex-turn.jsonl'), '-q'])
    expect(fromStdin).toEqual(direct.out.trim().split('\n').map((l) => (JSON.parse(l) as { flow_id: string }).flow_id))
  })

  it('--out-dir writes NDJSON files by default (stdout is not what decides), CSV of several modes needs --out-dir', async () => {
    const out = join(tmp, 'out')
    const r = await run(['extract', '-e', 'usage,errors', '--log-dir', join(FIXTURES, 'codex-turn.jsonl'), '-o', out, '-q'])
    expect(r.code).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['errors.ndjson', 'usage.ndjson'])
    const csv = await run(['extract', '-e', 'usage,errors', '--log-dir', join(FIXTURES, 'codex-turn.jsonl'), '-f', 'csv'])
    expect(csv.code).toBe(2)
    expect(csv.err).toMatch(/--format csv with several modes needs --out-dir/)
  })

  it('CSV of one mode on stdout: a header and rows, no comment lines', async () => {
    const r = await run(['usage', '--log-dir', join(FIXTURES, 'claude-code-turn.jsonl'), '-f', 'csv', '-q'])
    expect(r.code).toBe(0)
    const lines = r.out.trim().split('\n')
    expect(lines[0]).toMatch(/^ts,session_id,flow_id,/)
    expect(lines).toHaveLength(3)
    expect(lines.some((l) => l.startsWith('#'))).toBe(false)
  })
})
