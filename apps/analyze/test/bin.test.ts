import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// The built CLI, run as a user runs it (a process per command): the index flags, and the path
// and output hardening of issue 16 item 10. Build first: pnpm --filter @agenttap/analyze build.
const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js')
const BASIC = join(import.meta.dirname, '..', '..', '..', 'packages', 'extractors', 'test', 'fixtures', 'basic')
const tmp = mkdtempSync(join(tmpdir(), 'analyze-bin-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: tmp, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}
const rows = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)

/** A capture of one Claude Code flow, with `text` as its answer. */
function capture(root: string, flowId: string, text: string): void {
  const dir = join(root, 'all-mitm-sse')
  mkdirSync(dir, { recursive: true })
  const base = { v: 1, flow_id: flowId, session_id: 's' }
  writeFileSync(join(dir, 'sse_flows.jsonl'), JSON.stringify({ ...base, type: 'flow', ts: '2026-04-01T00:00:00.000Z', client: 'claude-code', provider: 'anthropic',
    url: 'https://api.anthropic.com/v1/messages', request_body: { model: 'claude-sonnet-4-5', tools: [{ name: 'Bash' }], messages: [{ role: 'user', content: `prompt of ${flowId}` }] } }) + '\n')
  const ev = (seq: number, d: object) => JSON.stringify({ ...base, type: 'sse', ts: `2026-04-01T00:00:00.${100 + seq}Z`, seq, event: (d as { type: string }).type, data: JSON.stringify(d) })
  writeFileSync(join(dir, 'sse_lines.jsonl'), [
    ev(0, { type: 'message_start', message: { id: 'm', model: 'claude-sonnet-4-5', usage: { input_tokens: 3, output_tokens: 1 } } }),
    ev(1, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ev(2, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
    ev(3, { type: 'content_block_stop', index: 0 }),
    ev(4, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }),
    ev(5, { type: 'message_stop' }),
  ].join('\n') + '\n')
  writeFileSync(join(dir, 'sse_flow_ends.jsonl'), JSON.stringify({ ...base, type: 'flow_end', ts: '2026-04-01T00:00:01.000Z', outcome: 'completed', status: 200, events: 6 }) + '\n')
}

describe.runIf(existsSync(BIN))('agenttap-analyze (built bin)', () => {
  it('--log-dir with glob characters reads that dir only, never a sibling the pattern matches', async () => {
    const base = join(tmp, 'globs')
    capture(join(base, 'logs[1]'), 'mine', 'from logs[1]')
    capture(join(base, 'logs1'), 'sibling', 'from logs1')
    capture(join(base, 'logs*x'), 'star', 'from logs*x')
    capture(join(base, 'logsAx'), 'other', 'from logsAx')
    for (const extra of [[], ['--no-index']]) {
      const r = await run(['assistant_text', '--log-dir', join(base, 'logs[1]'), '-q', ...extra])
      expect(r.code).toBe(0)
      expect(rows(r.out).map((x) => x.text)).toEqual(['from logs[1]'])
      const s = await run(['assistant_text', '--log-dir', join(base, 'logs*x'), '-q', ...extra])
      expect(rows(s.out).map((x) => x.text)).toEqual(['from logs*x'])
    }
  })

  it('CSV never prints raw terminal escapes: control characters are written as \\xNN', async () => {
    const root = join(tmp, 'escapes')
    capture(root, 'esc', 'evil \u001b]0;pwned\u0007 \u001b[2J\u009b31m done')
    const r = await run(['assistant_text', '--log-dir', root, '-f', 'csv', '-q'])
    expect(r.code).toBe(0)
    expect(r.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
    expect(r.out).toContain('evil \\x1b]0;pwned\\x07 \\x1b[2J\\x9b31m done')
    const t = await run(['assistant_text', '--log-dir', root, '-f', 'table', '-q'])
    expect(t.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  })

  it('--out-dir files are private (0600), like the capture', async () => {
    const out = join(tmp, 'out')
    const r = await run(['extract', '-e', 'usage,tool_calls', '--log-dir', BASIC, '--no-index', '-o', out, '-f', 'csv', '-q'])
    expect(r.code).toBe(0)
    for (const f of readdirSync(out)) expect(statSync(join(out, f)).mode & 0o777).toBe(0o600)
    const pq = await run(['usage', '--log-dir', BASIC, '--no-index', '-o', out, '-f', 'parquet', '-q'])
    expect(pq.code).toBe(0)
    expect(statSync(join(out, 'usage.parquet')).mode & 0o777).toBe(0o600)
  })

  it('NDJSON to a pipe that closes early ends quietly; to --out-dir it is a private file', async () => {
    // Through a shell pipe (a real pipe, which DuckDB writes itself) into `head -n 1`.
    // (a failure would print `agenttap-analyze: …` on stderr)
    const sh = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" usage --log-dir "${BASIC}" --no-index -q | head -n 1`], { env: { PATH: process.env.PATH ?? '', HOME: tmp }, stdio: ['ignore', 'pipe', 'pipe'] })
    let piped = ''
    let err = ''
    sh.stdout.on('data', (b: Buffer) => (piped += b.toString()))
    sh.stderr.on('data', (b: Buffer) => (err += b.toString()))
    await new Promise((resolve) => sh.on('close', resolve))
    expect(piped.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse(piped)).toMatchObject({ flow_id: 'a1' })
    expect(err).toBe('')
    const out = join(tmp, 'nd')
    const r = await run(['usage', '--log-dir', BASIC, '--no-index', '-o', out, '-q'])
    expect(r.code).toBe(0)
    expect(statSync(join(out, 'usage.ndjson')).mode & 0o777).toBe(0o600)
    expect(rows(readFileSync(join(out, 'usage.ndjson'), 'utf8')).map((x) => x.flow_id)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2'])
  })

  it('NDJSON to stdout redirected into a file keeps what the file held and what follows (no truncation)', async () => {
    // Found by e2e/clients: DuckDB reopened /dev/stdout, truncating the file and writing from its start.
    const file = join(tmp, 'appended.ndjson')
    const sh = spawn('sh', ['-c', `(echo header; "${process.execPath}" "${BIN}" usage --log-dir "${BASIC}" --no-index -q; echo footer) > "${file}"; "${process.execPath}" "${BIN}" usage --log-dir "${BASIC}" --no-index -q >> "${file}"`], { env: { PATH: process.env.PATH ?? '', HOME: tmp }, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    sh.stderr.on('data', (b: Buffer) => (err += b.toString()))
    await new Promise((resolve) => sh.on('close', resolve))
    expect(err).toBe('')
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2']
    expect(lines[0]).toBe('header')
    expect(lines.slice(1, 8).map((l) => (JSON.parse(l) as { flow_id: string }).flow_id)).toEqual(ids)
    expect(lines[8]).toBe('footer')
    expect(lines.slice(9).map((l) => (JSON.parse(l) as { flow_id: string }).flow_id)).toEqual(ids)
  })

  it('--since 999999999999d is a clear usage error, not "Invalid time value"', async () => {
    const r = await run(['usage', '--log-dir', BASIC, '--no-index', '--since', '999999999999d'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--since "999999999999d" reaches back before any date/)
    expect(r.err).not.toMatch(/Invalid time value/)
  })

  it('a captured $ref to a sibling dir is not read', async () => {
    const root = join(tmp, 'refs')
    capture(root, 'f1', 'hi')
    const dir = join(root, 'all-mitm-sse')
    mkdirSync(join(root, 'all-mitm-sse-evil'))
    writeFileSync(join(root, 'all-mitm-sse-evil', 'x.json'), JSON.stringify({ model: 'm', tools: [{ name: 'Bash' }], messages: [{ role: 'user', content: 'STOLEN' }] }))
    const flows = readFileSync(join(dir, 'sse_flows.jsonl'), 'utf8').replace(/"request_body":\{.*\}\}\n$/, '"request_body":{"$ref":"../all-mitm-sse-evil/x.json"}}\n')
    writeFileSync(join(dir, 'sse_flows.jsonl'), flows)
    for (const args of [['prompts', '-n', '5'], ['prompts'], ['check']]) {
      const r = await run([...args, '--log-dir', root])
      expect(r.out + r.err).not.toContain('STOLEN')
    }
    expect((await run(['check', '--log-dir', root])).out).toMatch(/BODY_UNREADABLE.*outside the capture directory/)
  })

  it('the index: kept under the capture, reused, rebuilt on request, bypassed with --no-index', async () => {
    const root = join(tmp, 'idx')
    cpSync(BASIC, root, { recursive: true })
    const idx = join(root, 'all-mitm-sse', '.index')
    const first = await run(['usage', '--log-dir', root, '-q'])
    expect(first.code).toBe(0)
    expect(existsSync(join(idx, 'index.duckdb'))).toBe(true)
    expect(statSync(idx).mode & 0o777).toBe(0o700)
    const again = await run(['usage', '--log-dir', root, '-q'])
    expect(again.out).toBe(first.out)
    const rebuilt = await run(['usage', '--log-dir', root, '--rebuild-index'])
    expect(rebuilt.out).toBe(first.out)
    expect(rebuilt.err).toMatch(/note: the index was rebuilt \(asked to \(--rebuild-index\)\)/)
    rmSync(idx, { recursive: true })
    const none = await run(['usage', '--log-dir', root, '--no-index', '-q'])
    expect(none.out).toBe(first.out)
    expect(existsSync(idx)).toBe(false)
  })

  it('--include-aux brings auxiliary requests back', async () => {
    const cap = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'capture')
    const plain = rows((await run(['flows', '--log-dir', cap, '--no-index', '-q'])).out)
    const aux = rows((await run(['flows', '--log-dir', cap, '--no-index', '--include-aux', '-q'])).out)
    expect(plain.every((f) => f.kind === 'model')).toBe(true)
    expect(aux.filter((f) => f.kind === 'aux').length).toBeGreaterThan(0)
  })

  it('prompts -n N answered before the rest of the CLI loads (quick.ts) prints what the full CLI prints', async () => {
    const cap = join(tmp, 'quick')
    cpSync(BASIC, cap, { recursive: true })
    const lines = [['-n', '3'], ['-n', '50'], ['-n', '2', '--client', 'claude-code'], ['-n', '2', '--client', 'codex'], ['-n', '5', '--since', '2020-01-01'], ['-n', '1', '--session', 'nope'], ['-n', '0']]
    const same = async (): Promise<void> => {
      for (const args of lines) {
        // -v: a line quick.ts leaves to the full CLI (its debug lines go to stderr only).
        const quick = await run(['prompts', '--log-dir', cap, '-q', '-f', 'ndjson', ...args])
        const full = await run(['prompts', '--log-dir', cap, '-q', '-f', 'ndjson', '-v', ...args])
        expect(quick.code, args.join(' ')).toBe(0)
        expect(quick.err).toBe('')
        expect(quick.out, args.join(' ')).toBe(full.out)
      }
    }
    // No index yet: the flows read backwards (and no index made by it).
    await same()
    expect(existsSync(join(cap, 'all-mitm-sse', '.index'))).toBe(false)
    expect(rows((await run(['prompts', '--log-dir', cap, '-q', '-n', '50'])).out).length).toBeGreaterThan(0)
    // A current index: its prompt cache.
    expect((await run(['usage', '--log-dir', cap, '-q'])).code).toBe(0)
    await same()
    // Errors are the full CLI's.
    const bad = await run(['prompts', '--log-dir', cap, '-q', '-n', '2', '--since', 'yesterday-ish'])
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('--since')
    const missing = await run(['prompts', '--log-dir', join(tmp, 'no-such-dir'), '-q', '-n', '2'])
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('no-such-dir')
  })

  it('usage, cost, sessions, tool_calls answered from the facts before the rest of the CLI loads print what the full CLI prints', async () => {
    const cap = join(tmp, 'quick-facts')
    cpSync(BASIC, cap, { recursive: true })
    const same = async (): Promise<void> => {
      for (const mode of ['usage', 'cost', 'sessions', 'tool_calls', 'tool-calls']) {
        const quick = await run([mode, '--log-dir', cap, '-q', '-f', 'ndjson'])
        // -v: a line quick.ts leaves to the full CLI (its debug lines go to stderr only).
        const full = await run([mode, '--log-dir', cap, '-q', '-f', 'ndjson', '-v'])
        expect(quick.code, mode).toBe(0)
        expect(quick.err).toBe('')
        expect(quick.out.length, mode).toBeGreaterThan(0)
        expect(quick.out, mode).toBe(full.out)
      }
    }
    // No index yet (built by the full CLI), then a current one (the facts).
    await same()
    await same()
    // An append: the index is not current, the full CLI updates it.
    capture(join(tmp, 'quick-extra'), 'extra-flow', 'appended')
    for (const f of ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']) writeFileSync(join(cap, 'all-mitm-sse', f), readFileSync(join(tmp, 'quick-extra', 'all-mitm-sse', f)), { flag: 'a' })
    const after = await run(['usage', '--log-dir', cap, '-q', '-f', 'ndjson'])
    expect(rows(after.out).map((r) => r.flow_id)).toContain('extra-flow')
    await same()
  })
})
