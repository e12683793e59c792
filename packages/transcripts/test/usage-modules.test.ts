import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeTrapTree } from '../src/generate.ts'

// What a usage-only read loads, seen from the built package as a CLI loads it: a preload records
// every module file the process loaded (a loader hook) and the Node built-ins (moduleLoadList).
// Counting tokens after one new session (`daily --source transcripts`) must not pay for the
// ledger's call assembly, the stream normalizer, session detection, node:crypto or
// worker_threads (a read on this thread): the importers take what they need from the light
// entries (`@agenttap/ledger/pricing`, `@agenttap/stream-normalizer/usage`,
// `@agenttap/session-extractor/redact`), the redactor loads node:crypto only when it marks a
// secret, and worker_threads is loaded when workers start. Build first: pnpm build.
const DIST = join(import.meta.dirname, '..', 'dist', 'index.js')
const tmp = mkdtempSync(join(tmpdir(), 'transcripts-modules-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const HOOKS = join(tmp, 'hooks.mjs')
writeFileSync(HOOKS, `import { appendFileSync } from 'node:fs'
export async function load(url, context, next) {
  appendFileSync(process.env.FILES_OUT, url + '\\n')
  return next(url, context)
}
`)
// Two preloads: module hooks run on a thread of their own (worker_threads loaded), so the
// built-ins are recorded in a run without them.
const PRELOAD_FILES = join(tmp, 'preload-files.mjs')
writeFileSync(PRELOAD_FILES, `import { register } from 'node:module'
register(${JSON.stringify(new URL(`file://${HOOKS}`).href)})
`)
const PRELOAD_BUILTINS = join(tmp, 'preload-builtins.mjs')
writeFileSync(PRELOAD_BUILTINS, `import { writeFileSync } from 'node:fs'
process.on('exit', () => writeFileSync(process.env.BUILTINS_OUT, process.moduleLoadList.join('\\n')))
`)

/** Runs `script` (an ES module) with a preload; the module files or the built-ins it loaded. */
function run(script: string, preload: string): Promise<{ code: number | null; out: string; files: string[]; builtins: string[] }> {
  const id = Math.random().toString(36).slice(2)
  const files = join(tmp, `files-${id}.txt`)
  const builtins = join(tmp, `builtins-${id}.txt`)
  const main = join(tmp, `main-${id}.mjs`)
  writeFileSync(main, script)
  writeFileSync(files, '')
  writeFileSync(builtins, '')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', preload, main], { env: { PATH: process.env.PATH ?? '', FILES_OUT: files, BUILTINS_OUT: builtins }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      resolve({
        code,
        out,
        files: readFileSync(files, 'utf8').split('\n').filter((l) => l !== ''),
        builtins: readFileSync(builtins, 'utf8').split('\n').filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length)),
      })
    })
  })
}

describe.runIf(existsSync(DIST))('the usage-only read', () => {
  it('loads no ledger call assembly, stream normalizer, session detection, node:crypto or worker_threads', async () => {
    const dirs = writeTrapTree(join(tmp, 'tree'))
    const script = `import { findTranscripts, importTranscripts, startCursors } from ${JSON.stringify(new URL(`file://${DIST}`).href)}
const files = findTranscripts({ claude: [${JSON.stringify(dirs.claudeDir)}], codex: [${JSON.stringify(dirs.codexDir)}] })
const r = await importTranscripts(startCursors(files), { usageOnly: true, threads: 1 })
console.log(r.rows?.facts().length ?? r.calls.length)
`
    const r = await run(script, PRELOAD_FILES)
    expect(r.code).toBe(0)
    expect(Number(r.out.trim())).toBeGreaterThan(0)
    // The light entries are what it reads through…
    const pkg = (name: string, file: string) => r.files.some((u) => u.includes(`/${name}/dist/${file}`))
    expect(pkg('ledger', 'pricing-entry.js')).toBe(true)
    expect(pkg('stream-normalizer', 'usage-entry.js')).toBe(true)
    expect(pkg('session-extractor', 'redact-entry.js')).toBe(true)
    // …and the main entries stay unloaded.
    expect(r.files.filter((u) => /\/(ledger|stream-normalizer|session-extractor)\/dist\/index\.js$/.test(u))).toEqual([])
    expect(r.files.filter((u) => u.includes('eventsource-parser'))).toEqual([])
    const b = await run(script, PRELOAD_BUILTINS)
    expect(b.code).toBe(0)
    expect(b.out).toBe(r.out)
    expect(b.builtins).toContain('fs')
    expect(b.builtins).not.toContain('crypto')
    // Read on this thread: no worker_threads either.
    expect(b.builtins).not.toContain('worker_threads')
  })
})
