import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { secureLogDir } from './log-dir.js'

const base = mkdtempSync(join(tmpdir(), 'agenttap-logdir-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
const isRoot = process.getuid?.() === 0

describe('secureLogDir', () => {
  it('makes capture dirs and files others could read or write private, and says which', () => {
    const root = join(base, 'open')
    const cap = join(root, 'all-mitm-sse')
    mkdirSync(join(cap, 'sse_logs'), { recursive: true })
    mkdirSync(join(root, 'claude'))
    writeFileSync(join(cap, 'sse_lines.jsonl'), '{}\n')
    writeFileSync(join(cap, 'sse_logs', 'bodies-x.log'), 'x')
    writeFileSync(join(root, 'claude', 'sse_lines.jsonl'), '{}\n')
    writeFileSync(join(cap, 'sse_flows.jsonl'), '{}\n', { mode: 0o600 })
    for (const p of [cap, join(cap, 'sse_logs'), join(root, 'claude')]) chmodSync(p, 0o777)
    for (const p of [join(cap, 'sse_lines.jsonl'), join(cap, 'sse_logs', 'bodies-x.log'), join(root, 'claude', 'sse_lines.jsonl')]) chmodSync(p, 0o666)
    chmodSync(join(cap, 'sse_flows.jsonl'), 0o600)
    const { fixed } = secureLogDir(root)
    expect(fixed.sort()).toEqual(
      [
        `${cap}: 0777 → 0700`,
        `${join(cap, 'sse_lines.jsonl')}: 0666 → 0600`,
        `${join(cap, 'sse_logs')}: 0777 → 0700`,
        `${join(cap, 'sse_logs', 'bodies-x.log')}: 0666 → 0600`,
        `${join(root, 'claude')}: 0777 → 0700`,
        `${join(root, 'claude', 'sse_lines.jsonl')}: 0666 → 0600`,
      ].sort(),
    )
    expect(statSync(join(cap, 'sse_lines.jsonl')).mode & 0o777).toBe(0o600)
    expect(statSync(cap).mode & 0o777).toBe(0o700)
    // A second look finds nothing left to fix; a log root that does not exist yet is fine.
    expect(secureLogDir(root).fixed).toEqual([])
    expect(secureLogDir(join(base, 'not-yet')).fixed).toEqual([])
  })

  it.skipIf(!isRoot)('refuses a capture directory or file that belongs to another user, naming it', () => {
    const root = join(base, 'foreign')
    const cap = join(root, 'all-mitm-sse')
    mkdirSync(cap, { recursive: true })
    writeFileSync(join(cap, 'sse_flows.jsonl'), '{}\n')
    chownSync(join(cap, 'sse_flows.jsonl'), 65534, 65534)
    expect(() => secureLogDir(root)).toThrow(expect.objectContaining({ code: 'LOG_DIR_UNSAFE', file: join(cap, 'sse_flows.jsonl'), message: expect.stringMatching(/belongs to user 65534, not to you/) }))
    chownSync(join(cap, 'sse_flows.jsonl'), 0, 0)
    chownSync(cap, 65534, 65534)
    expect(() => secureLogDir(root)).toThrow(expect.objectContaining({ code: 'LOG_DIR_UNSAFE', file: cap }))
  })
})

describe('prepareLogDir', () => {
  it('creates the capture dir of a new log root and returns it', async () => {
    const { prepareLogDir } = await import('./log-dir.js')
    const root = join(base, 'fresh')
    expect(prepareLogDir(root)).toBe(join(root, 'all-mitm-sse'))
    expect(statSync(join(root, 'all-mitm-sse')).isDirectory()).toBe(true)
  })
  it('refuses a file, a path it cannot create, and a shared sticky directory, saying why', async () => {
    const { prepareLogDir } = await import('./log-dir.js')
    const file = join(base, 'a-file')
    writeFileSync(file, 'x')
    expect(() => prepareLogDir(file)).toThrow(expect.objectContaining({ code: 'LOG_DIR_INVALID', message: expect.stringMatching(/is a file/) }))
    expect(() => prepareLogDir(join(file, 'below'))).toThrow(expect.objectContaining({ code: 'LOG_DIR_INVALID', message: expect.stringMatching(/cannot create .*ENOTDIR/) }))
    expect(() => prepareLogDir('/proc/x')).toThrow(expect.objectContaining({ code: 'LOG_DIR_INVALID', message: expect.stringMatching(/cannot create/) }))
    const sticky = join(base, 'sticky')
    mkdirSync(join(sticky, 'all-mitm-sse'), { recursive: true })
    chmodSync(join(sticky, 'all-mitm-sse'), 0o1777)
    expect(() => prepareLogDir(sticky)).toThrow(expect.objectContaining({ code: 'LOG_DIR_INVALID', message: expect.stringMatching(/shared directory/) }))
  })
})
