#!/usr/bin/env node
// `pnpm test`: runs every package's vitest through turbo (builds what they depend on first),
// streams the output, and closes with one summary line "N passed, N failed" over all packages.
import { spawn, spawnSync } from 'node:child_process'

// Build everything first (cached by turbo): some tests drive other packages' built bins (the web
// view's end-to-end test starts apps/proxy), which no dependency edge would build for them.
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } })
if (build.status !== 0) {
  console.log('\ntests: 0 passed, 1 failed (the build failed)')
  process.exit(build.status ?? 1)
}

const args = ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', '--output-logs=full', ...process.argv.slice(2)]
const child = spawn('pnpm', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: process.stdout.isTTY ? '1' : '0' } })
let passed = 0
let failed = 0
let skipped = 0
let rest = ''
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '')
const count = (line) => {
  const m = /\bTests\s+(.*)\(\d+\)\s*$/.exec(strip(line))
  if (!m) return
  for (const [, n, kind] of m[1].matchAll(/(\d+)\s+(passed|failed|skipped|todo)/g)) {
    if (kind === 'passed') passed += Number(n)
    else if (kind === 'failed') failed += Number(n)
    else skipped += Number(n)
  }
}
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  const lines = (rest + chunk.toString('utf8')).split('\n')
  rest = lines.pop() ?? ''
  for (const l of lines) count(l)
})
child.on('close', (code) => {
  if (rest) count(rest)
  console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
  process.exitCode = code === 0 && failed === 0 ? 0 : code || 1
})
