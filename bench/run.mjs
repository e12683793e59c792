#!/usr/bin/env node
// Runs every benchmark of the workspace: packages/*/bench/*.bench.mjs and apps/*/bench/*.bench.mjs,
// one at a time (they measure throughput; running them together would measure contention).
//   pnpm bench                 all of them
//   pnpm bench -- jsonl-io     only files whose path contains "jsonl-io"
// Each bench prints its figures and a PASS/MISS line per target (STRESS lines for stress figures
// held against a target's threshold, not targets themselves); this prints a summary.
import { spawnSync } from 'node:child_process'
import { readdirSync, existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const filters = process.argv.slice(2).filter((a) => a !== '--')
const files = []
for (const group of ['packages', 'apps']) {
  for (const pkg of readdirSync(join(root, group))) {
    const dir = join(root, group, pkg, 'bench')
    if (!existsSync(dir)) continue
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.bench.mjs')) files.push(join(dir, f))
  }
}
const chosen = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
const summary = []
for (const f of chosen) {
  const rel = f.slice(root.length + 1)
  console.log(`\n=== ${rel}`)
  const res = spawnSync(process.execPath, ['--expose-gc', f], { cwd: dirname(dirname(f)), stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 })
  process.stdout.write(res.stdout ?? '')
  const lines = (res.stdout ?? '').split('\n').filter((l) => /^(PASS|MISS|STRESS)\b/.test(l))
  summary.push({ rel, code: res.status, lines })
}
console.log('\n=== summary')
for (const s of summary) {
  console.log(`${s.code === 0 ? 'ok  ' : 'FAIL'} ${s.rel}`)
  for (const l of s.lines) console.log(`     ${l}`)
}
process.exitCode = summary.some((s) => s.code !== 0) ? 1 : 0
