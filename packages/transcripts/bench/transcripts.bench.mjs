#!/usr/bin/env node
// Import + `usage` over a generated transcript tree (Claude Code + Codex), cold and after one new
// session is appended, side by side with ccusage 20.0.24 on the same tree in the same run.
//   node bench/transcripts.bench.mjs            (AGENTTAP_BENCH_MB=400 by default: 300 MB–1 GiB)
// The tree is generated once (deterministic) and cached under /tmp; the appended session is
// removed afterwards so the cache stays as generated. Targets: cold no slower than ccusage, warm
// (index up to date, one new session appended) at least 5× faster than ccusage. Each figure is
// the median of AGENTTAP_BENCH_ROUNDS rounds (5 by default), the tools' order rotating from one
// round to the next: one run of each says little on a shared machine.
//   AGENTTAP_BENCH_WARM=N node bench/transcripts.bench.mjs   only the warm `daily`: the index is
// built once (not timed), then N rounds, each from a copy of that index with the session appended,
// ours and ccusage's alternating who goes first; medians of CPU and wall (N ≥ 5 on a shared machine).
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { appendSession, writeBulkTree } from '../dist/generate.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..', '..')
const analyze = join(repo, 'apps', 'analyze', 'dist', 'bin.js')
const ccusage = join(dirname(createRequire(import.meta.url).resolve('ccusage/package.json')), 'src', 'cli.js')
const MB = Number(process.env.AGENTTAP_BENCH_MB ?? 400)
const cache = join(tmpdir(), `agenttap-transcripts-bench-${MB}mb-v1`)

if (!existsSync(analyze)) {
  console.error(`build first: ${analyze} is missing (pnpm build)`)
  process.exit(1)
}
let truth
if (existsSync(join(cache, 'truth.json'))) {
  truth = JSON.parse(readFileSync(join(cache, 'truth.json'), 'utf8'))
} else {
  rmSync(cache, { recursive: true, force: true })
  const t0 = performance.now()
  truth = writeBulkTree(cache, { bytes: MB * 1e6, seed: 7 })
  writeFileSync(join(cache, 'truth.json'), JSON.stringify(truth))
  console.log(`generated ${(truth.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${cache}`)
}
const work = mkdtempSync(join(tmpdir(), 'agenttap-transcripts-bench-run-'))
const home = join(work, 'home')
mkdirSync(home)
const env = { PATH: process.env.PATH ?? '', HOME: home, CLAUDE_CONFIG_DIR: truth.claudeDir, CODEX_HOME: truth.codexDir, TZ: 'UTC', NO_COLOR: '1' }

// CPU seconds (user + system, all threads and children) next to the wall clock: on a shared
// machine the wall clock measures the other load as much as the tool.
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
function time(label, args) {
  const out = join(work, `${label}.out`)
  const cpuFile = join(work, `${label}.cpu`)
  const t0 = performance.now()
  const r = gnuTime !== undefined
    ? spawnSync(gnuTime, ['-o', cpuFile, '-f', '%U %S', process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 })
    : spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 })
  const ms = performance.now() - t0
  if (r.status !== 0) {
    console.error(`${label} failed (${r.status}): ${r.stderr.toString().slice(0, 2000)}`)
    process.exit(1)
  }
  writeFileSync(out, r.stdout)
  const cpu = gnuTime !== undefined ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).reduce((n, x) => n + Number(x), 0) : NaN
  return { ms, cpu, stdout: r.stdout.toString() }
}
const ours = (label, index = 'index') => time(label, [analyze, 'usage', '--source', 'transcripts', '--claude-dir', truth.claudeDir, '--codex-dir', truth.codexDir, '--index-dir', join(work, index), '-f', 'ndjson', '-q'])
const oursDaily = (label, index = 'index') => time(label, [analyze, 'daily', '--source', 'transcripts', '--claude-dir', truth.claudeDir, '--codex-dir', truth.codexDir, '--index-dir', join(work, index), '-f', 'ndjson', '-q'])
const theirs = (label) => time(label, [ccusage, 'daily', '--json', '--offline', '--timezone', 'UTC'])

const sumUsage = (ndjson) => {
  const t = { calls: 0, input: 0, cache_read: 0, cache_write: 0, output: 0 }
  for (const l of ndjson.split('\n')) {
    if (l === '') continue
    const r = JSON.parse(l)
    t.calls++
    t.input += r.input_tokens
    t.cache_read += r.cache_read_tokens
    t.cache_write += r.cache_write_tokens
    t.output += r.output_tokens
  }
  return t
}

const bytes = truth.bytes
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const med = (rs) => ({ ms: median(rs.map((r) => r.ms)), cpu: median(rs.map((r) => r.cpu)) })
const walls = (rs) => `[${rs.map((r) => (r.ms / 1000).toFixed(2)).join(' ')}]`
const cpus = (rs) => `[${rs.map((r) => r.cpu.toFixed(2)).join(' ')}]`
/** Each answer must be the same bytes in every round. */
const firsts = {}
function stable(what, r) {
  firsts[what] ??= r.stdout
  if (r.stdout !== firsts[what]) {
    console.error(`${what} answered differently from one round to the next`)
    process.exit(1)
  }
  return r
}

/**
 * Warm rounds: from a copy of the index in `index-base`, one new session appended, our `daily`
 * (reads the new bytes into the index, then reports) and ccusage's, alternating which goes first;
 * with `usage`, then our `usage` on the updated summary (a report ccusage does not print).
 */
function warmLoop(n, usage) {
  const warm = { cc: [], daily: [], usage: [] }
  for (let i = 0; i < n; i++) {
    rmSync(join(work, 'index'), { recursive: true, force: true })
    cpSync(join(work, 'index-base'), join(work, 'index'), { recursive: true })
    const added = appendSession(truth.claudeDir, 4242)
    try {
      const pair = [() => warm.daily.push(stable('warm daily', oursDaily('ours-warm-daily'))), () => warm.cc.push(theirs('ccusage-warm'))]
      if (i % 2 === 1) pair.reverse()
      for (const run of pair) run()
      if (usage) warm.usage.push(ours('ours-usage-warm'))
    } finally {
      // Keep the cached tree as generated: remove the appended session.
      rmSync(added.path, { force: true })
    }
  }
  return warm
}

const warmRounds = Number(process.env.AGENTTAP_BENCH_WARM ?? 0)
if (warmRounds > 0) {
  console.log(`tree: ${(bytes / 1e6).toFixed(0)} MB (${truth.calls} calls), ${availableParallelism()} cores, node ${process.version}; warm daily only, ${warmRounds} rounds`)
  oursDaily('ours-cold-daily', 'index-base')
  const warm = warmLoop(warmRounds, false)
  const ours = med(warm.daily)
  const cc = med(warm.cc)
  console.log(`load average (1 min) at the end: ${(await import('node:os')).loadavg()[0].toFixed(1)}`)
  console.log(`warm daily, medians of ${warmRounds}: ccusage ${(cc.ms / 1000).toFixed(2)} s wall, ${cc.cpu.toFixed(2)} s CPU   agenttap ${(ours.ms / 1000).toFixed(2)} s wall, ${ours.cpu.toFixed(2)} s CPU   wall ratio ${(cc.ms / ours.ms).toFixed(1)}×, CPU ratio ${(cc.cpu / ours.cpu).toFixed(1)}×`)
  console.log(`  agenttap wall ${walls(warm.daily)} CPU ${cpus(warm.daily)}`)
  console.log(`  ccusage  wall ${walls(warm.cc)} CPU ${cpus(warm.cc)}`)
  console.log(`${cc.ms >= 5 * ours.ms ? 'PASS' : 'MISS'} warm ≥ 5× faster than ccusage (wall): ${(cc.ms / ours.ms).toFixed(1)}×; CPU ${(cc.cpu / ours.cpu).toFixed(1)}×`)
  rmSync(work, { recursive: true, force: true })
  process.exit(0)
}
const rounds = Number(process.env.AGENTTAP_BENCH_ROUNDS ?? 5)
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`AGENTTAP_BENCH_ROUNDS must be a whole number ≥ 1, got ${process.env.AGENTTAP_BENCH_ROUNDS}`)
  process.exit(1)
}
console.log(`tree: ${(bytes / 1e6).toFixed(0)} MB (${truth.calls} calls), ${availableParallelism()} cores, node ${process.version}; ${rounds} round(s), medians`)
const want = { calls: truth.calls, input: truth.totals.input, cache_read: truth.totals.cache_read, cache_write: truth.totals.cache_write_5m + truth.totals.cache_write_1h, output: truth.totals.output }
// Cold: each round runs ccusage, our `usage` (import + one row per call) and our `daily` (like
// with like), each of ours from nothing (a fresh index), in an order that rotates round by round
// so no tool always runs first or last; medians of wall and CPU. One run of each says little
// here: ccusage alone moves ±15% run to run on an idle machine.
const cold = { cc: [], usage: [], daily: [] }
let exact = true
for (let i = 0; i < rounds; i++) {
  const steps = [
    () => cold.cc.push(theirs('ccusage-cold')),
    () => {
      rmSync(join(work, 'index'), { recursive: true, force: true })
      const r = ours('ours-cold')
      const got = sumUsage(r.stdout)
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        exact = false
        console.log(`usage totals vs the generator's truth DIFFER in round ${i + 1}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`)
      }
      cold.usage.push(stable('cold usage', r))
    },
    () => {
      rmSync(join(work, 'index-base'), { recursive: true, force: true })
      cold.daily.push(stable('cold daily', oursDaily('ours-cold-daily', 'index-base')))
    },
  ]
  for (let k = 0; k < steps.length; k++) steps[(i + k) % steps.length]()
}
if (exact) console.log(`usage totals vs the generator's truth: equal in every round (${truth.calls} calls)`)

// Warm: from a copy of the index the last cold `daily` left.
const warm = warmLoop(rounds, true)
const rate = (ms) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`
const ccC = med(cold.cc)
const ourC = med(cold.usage)
const ourCD = med(cold.daily)
const ccW = med(warm.cc)
const ourW = med(warm.daily)
const ourWU = med(warm.usage)
const load = (await import('node:os')).loadavg()[0].toFixed(1)
console.log(`load average (1 min) at the end: ${load}`)
console.log(`cold  ccusage ${(ccC.ms / 1000).toFixed(2)} s wall (${rate(ccC.ms)}), ${ccC.cpu.toFixed(2)} s CPU   agenttap import+usage ${(ourC.ms / 1000).toFixed(2)} s wall (${rate(ourC.ms)}), ${ourC.cpu.toFixed(2)} s CPU   wall ratio ${(ccC.ms / ourC.ms).toFixed(2)}×, CPU ratio ${(ccC.cpu / ourC.cpu).toFixed(2)}×`)
console.log(`cold  daily  ccusage ${(ccC.ms / 1000).toFixed(2)} s wall, ${ccC.cpu.toFixed(2)} s CPU   agenttap ${(ourCD.ms / 1000).toFixed(2)} s wall, ${ourCD.cpu.toFixed(2)} s CPU   wall ratio ${(ccC.ms / ourCD.ms).toFixed(2)}×, CPU ratio ${(ccC.cpu / ourCD.cpu).toFixed(2)}×`)
console.log(`  wall per round: ccusage ${walls(cold.cc)}  usage ${walls(cold.usage)}  daily ${walls(cold.daily)}`)
console.log(`warm  (+1 session) daily  ccusage ${(ccW.ms / 1000).toFixed(2)} s wall, ${ccW.cpu.toFixed(2)} s CPU   agenttap ${(ourW.ms / 1000).toFixed(2)} s wall, ${ourW.cpu.toFixed(2)} s CPU   wall ratio ${(ccW.ms / ourW.ms).toFixed(1)}×, CPU ratio ${(ccW.cpu / ourW.cpu).toFixed(1)}×`)
console.log(`  wall per round: ccusage ${walls(warm.cc)}  daily ${walls(warm.daily)}`)
console.log(`usage, one row per call (index up to date) agenttap ${(ourWU.ms / 1000).toFixed(2)} s wall, ${ourWU.cpu.toFixed(2)} s CPU`)
console.log(`${ourC.ms <= ccC.ms ? 'PASS' : 'MISS'} cold import+usage no slower than ccusage (medians of ${rounds}): ${(ourC.ms / 1000).toFixed(2)} s vs ${(ccC.ms / 1000).toFixed(2)} s`)
console.log(`${ourCD.ms <= ccC.ms ? 'PASS' : 'MISS'} cold daily no slower than ccusage daily (medians of ${rounds}): ${(ourCD.ms / 1000).toFixed(2)} s vs ${(ccC.ms / 1000).toFixed(2)} s`)
console.log(`${ccW.ms >= 5 * ourW.ms ? 'PASS' : 'MISS'} warm ≥ 5× faster than ccusage (medians of ${rounds}): ${(ccW.ms / ourW.ms).toFixed(1)}×`)
console.log(`${exact ? 'PASS' : 'MISS'} usage totals equal the generated truth`)
rmSync(work, { recursive: true, force: true })
