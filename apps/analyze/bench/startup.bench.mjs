#!/usr/bin/env node
// The fixed cost of `agenttap-analyze` (issue 14): `usage`, `cost`, `sessions`, `tool_calls` on an
// up-to-date index < 0.3 s each, `prompts -n 5` < 0.2 s, `--help` for reference — whole CLI
// processes, stdout to /dev/null, median wall and CPU (all threads) of RUNS each.
//
//   node bench/startup.bench.mjs --log-dir=<capture root with a current index>
//   node bench/startup.bench.mjs --log-dir=<dir> --baseline=<other build's dist/bin.js> --baseline-log-dir=<a copy of the capture>
//
// With a baseline the two builds run in alternating pairs (compare them in the same minute on a
// loaded machine). Give the baseline its own copy of the capture (hard links of the .jsonl files
// and a copy of `.index`): an index records the ledger build that made it, so two builds sharing
// one index rebuild it for each other. Without --log-dir it says so and skips (nothing to measure).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const RUNS = Number(arg('runs') ?? 9)
const logDir = arg('log-dir')
const baseline = arg('baseline')
const baselineDir = arg('baseline-log-dir') ?? logDir
// The bin as installed: what package.json names.
const app = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(app, JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).bin['agenttap-analyze'])
const CPU_HOOK = 'data:text/javascript,import{writeSync}from"node:fs";process.on("exit",()=>{const c=process.cpuUsage();writeSync(2,`\\nagenttap-bench-cpu-ms ${(c.user+c.system)/1000}\\n`)})'

if (logDir === undefined) {
  console.log('startup bench: skipped (pass --log-dir=<capture root with a current index>)')
  process.exit(0)
}

const med = (a) => {
  const s = [...a].sort((x, y) => x - y)
  return s[Math.floor((s.length - 1) / 2)]
}
const load = () => `load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`

/** One CLI process (env: the one to run it in, default this process's): wall and CPU ms. */
function once(bin, args, dir, env = process.env) {
  const t = performance.now()
  const r = spawnSync(process.execPath, ['--import', CPU_HOOK, bin, ...args, '--log-dir', resolve(dir), '--quiet', '--format', 'ndjson'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env })
  const wall = performance.now() - t
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return { wall, cpu: Number(/agenttap-bench-cpu-ms ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN) }
}

const cases = [
  { args: ['usage'], target: 300 },
  { args: ['cost'], target: 300 },
  { args: ['sessions'], target: 300 },
  { args: ['tool_calls'], target: 300 },
  { args: ['prompts', '-n', '5'], target: 200 },
]
// NODE_EXTRA_CA_CERTS makes every node process parse that bundle at start (~90 CPU ms here where
// it names the system's CA bundle): part of each figure a user sees, but the machine's, not
// agenttap's. So each figure is given twice: in the inherited environment (the primary PASS/MISS)
// and with the variable removed, next to a bare `node -e ''` under both.
const { NODE_EXTRA_CA_CERTS: extraCa, ...envWithoutCa } = process.env
const envs = [{ name: 'inherited env', env: process.env }, ...(extraCa === undefined ? [] : [{ name: 'NODE_EXTRA_CA_CERTS unset', env: envWithoutCa }])]
const bareNode = (env) => {
  const t = performance.now()
  const r = spawnSync(process.execPath, ['--import', CPU_HOOK, '-e', ''], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env })
  return { wall: performance.now() - t, cpu: Number(/agenttap-bench-cpu-ms ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN) }
}
const fig = (xs) => `${med(xs.map((x) => x.wall)).toFixed(0)} ms wall, ${med(xs.map((x) => x.cpu)).toFixed(0)} CPU ms`
const bare = envs.map(() => [])
for (let i = 0; i < RUNS; i++) envs.forEach((e, k) => bare[k].push(bareNode(e.env)))
console.log(`startup bench · ${RUNS} runs each · ${load()}`)
console.log(`NODE_EXTRA_CA_CERTS ${extraCa === undefined ? 'is not set' : `= ${extraCa}`}`)
envs.forEach((e, k) => console.log(`bare node -e '' (${e.name}): ${fig(bare[k])}`))
// Warm both indexes (a stale one is brought up to date here, not in the figures).
once(cli, ['usage'], logDir)
if (baseline) once(baseline, ['usage'], baselineDir)
for (const c of cases) {
  const name = c.args.join(' ')
  // Per environment: this build and the baseline, alternating in pairs (baseline first, then
  // this build first), the two environments interleaved too.
  const mine = envs.map(() => [])
  const base = envs.map(() => [])
  for (let i = 0; i < RUNS; i++) {
    envs.forEach((e, k) => {
      const b = () => baseline && base[k].push(once(baseline, c.args, baselineDir, e.env))
      const m = () => mine[k].push(once(cli, c.args, logDir, e.env))
      if (i % 2 === 0) { b(); m() } else { m(); b() }
    })
  }
  envs.forEach((e, k) => {
    const own = (xs) => `agenttap's own ≈ ${(med(xs.map((x) => x.cpu)) - med(bare[k].map((x) => x.cpu))).toFixed(0)} CPU ms over bare node`
    if (baseline) console.log(`${name.padEnd(13)} (${e.name}) baseline ${fig(base[k])} (${own(base[k])}) · this build ${fig(mine[k])} (${own(mine[k])})`)
    const ms = med(mine[k].map((x) => x.wall))
    const label = k === 0 ? '' : ` (${e.name})`
    console.log(`${ms < c.target ? 'PASS' : 'MISS'}${label} ${name} on a current index < ${c.target / 1000} s: ${fig(mine[k])}, ${own(mine[k])} (median of ${RUNS}; ${load()})`)
  })
}
