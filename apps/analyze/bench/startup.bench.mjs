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
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const RUNS = Number(arg('runs') ?? 9)
const logDir = arg('log-dir')
const baseline = arg('baseline')
const baselineDir = arg('baseline-log-dir') ?? logDir
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js')
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

/** One CLI process: wall and CPU ms. */
function once(bin, args, dir) {
  const t = performance.now()
  const r = spawnSync(process.execPath, ['--import', CPU_HOOK, bin, ...args, '--log-dir', resolve(dir), '--quiet', '--format', 'ndjson'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
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
const bare = []
// NODE_EXTRA_CA_CERTS makes every node process parse that bundle at start (~35–55 CPU ms where
// it names a full CA bundle): part of each figure below, but the machine's, not agenttap's.
const { NODE_EXTRA_CA_CERTS: extraCa, ...envWithoutCa } = process.env
const bareNoCa = []
for (let i = 0; i < RUNS; i++) {
  let t = performance.now()
  spawnSync(process.execPath, ['-e', ''])
  bare.push(performance.now() - t)
  if (extraCa === undefined) continue
  t = performance.now()
  spawnSync(process.execPath, ['-e', ''], { env: envWithoutCa })
  bareNoCa.push(performance.now() - t)
}
const caNote = extraCa === undefined ? '' : ` (${med(bareNoCa).toFixed(0)} ms without the NODE_EXTRA_CA_CERTS this environment sets)`
console.log(`startup bench · ${RUNS} runs each · bare node ${med(bare).toFixed(0)} ms${caNote} · ${load()}`)
// Warm both indexes (a stale one is brought up to date here, not in the figures).
once(cli, ['usage'], logDir)
if (baseline) once(baseline, ['usage'], baselineDir)
for (const c of cases) {
  const mine = []
  const base = []
  for (let i = 0; i < RUNS; i++) {
    if (baseline) base.push(once(baseline, c.args, baselineDir))
    mine.push(once(cli, c.args, logDir))
  }
  const fig = (xs) => `${med(xs.map((x) => x.wall)).toFixed(0)} ms wall, ${med(xs.map((x) => x.cpu)).toFixed(0)} CPU ms`
  const name = c.args.join(' ')
  if (baseline) console.log(`${name.padEnd(13)} baseline ${fig(base)} · this build ${fig(mine)}`)
  const ms = med(mine.map((x) => x.wall))
  console.log(`${ms < c.target ? 'PASS' : 'MISS'} ${name} on a current index < ${c.target / 1000} s: ${fig(mine)} (median of ${RUNS}; ${load()})`)
}
