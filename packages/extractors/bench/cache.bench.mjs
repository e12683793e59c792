// Benchmark of `agenttap-analyze cache` (issue 20) on a generated ~1 GiB capture (deleted afterwards).
//   node bench/cache.bench.mjs                       # ~1 GiB capture
//   BENCH_SCALE=0.1 node bench/cache.bench.mjs       # ~100 MiB: a quick run
//   node bench/cache.bench.mjs --big-dir=/tmp/cap1g  # reuse a capture (fixtures/generate.mjs --synthetic)
// Target: `cache` on an up-to-date index < 2 s (whole CLI process, node start included; median of
// several runs). The cache breaks are materialized when the index is updated (their segments read
// once), so the figure is a select plus pricing; the build figure (index + breaks) is printed too.
// The synthetic capture's usage is random, so about half of its calls are candidate breaks: more
// than a real capture has. The machine is shared: the load average is printed with the figures.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createExtractor } from '../dist/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const MB = Math.max(20, Math.round(1024 * SCALE))
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 5)
const cli = join(root, 'apps', 'analyze', 'dist', 'bin.js')
const tmp = mkdtempSync(join(tmpdir(), 'agenttap-cache-bench-'))
const cleanup = () => rmSync(tmp, { recursive: true, force: true })
process.on('SIGINT', () => { cleanup(); process.exit(130) })
const FILES = ['sse_flows.jsonl', 'sse_lines.jsonl', 'sse_flow_ends.jsonl']
const given = process.argv.find((a) => a.startsWith('--big-dir='))?.slice(10)
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const load = () => `load ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`
const med = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]

let dir = given
if (dir === undefined) {
  dir = join(tmp, 'big')
  const r = spawnSync(process.execPath, [join(root, 'fixtures', 'generate.mjs'), '--synthetic', dir, '--sessions', '20', '--flows', '10000000', '--seed', '1', '--target-mb', String(MB)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`generate.mjs failed: ${r.stderr}`)
  rmSync(join(dir, 'claude'), { recursive: true, force: true })
  rmSync(join(dir, 'codex'), { recursive: true, force: true })
}
const bytes = FILES.reduce((n, f) => n + statSync(join(dir, 'all-mitm-sse', f)).size, 0)
let ok = true
try {
  const t0 = performance.now()
  const x = await createExtractor({ logDir: dir, rebuildIndex: given === undefined ? false : true })
  await x.refresh()
  const build = performance.now() - t0
  const rows = (await x.run('cache')).rows
  const calls = Number((await x.query('select count(*) as n from calls')).rows[0].n)
  x.close()
  console.log(`capture ${(bytes / 1048576).toFixed(0)} MiB, ${calls} calls, ${rows.length} cache breaks; index + breaks built in ${fmt(build)} (${load()})`)
  const inproc = []
  for (let i = 0; i < RUNS; i++) {
    const a = performance.now()
    const y = await createExtractor({ logDir: dir })
    await y.run('cache')
    y.close()
    inproc.push(performance.now() - a)
  }
  const cliMs = []
  for (let i = 0; i < RUNS; i++) {
    const a = performance.now()
    const r = spawnSync(process.execPath, [cli, 'cache', '--log-dir', dir, '-q', '-f', 'ndjson'], { encoding: 'utf8', maxBuffer: 1 << 30 })
    cliMs.push(performance.now() - a)
    if (r.status !== 0) throw new Error(`cache failed: ${r.stderr}`)
  }
  console.log(`cache on an up-to-date index: in process median ${fmt(med(inproc))}, CLI median ${fmt(med(cliMs))} of ${RUNS} (${load()})`)
  const pass = med(cliMs) < 2000
  ok = pass
  console.log(`${pass ? 'PASS' : 'MISS'}  cache over a ${(bytes / 1048576).toFixed(0)} MiB capture < 2 s: ${fmt(med(cliMs))} (${(2000 / med(cliMs)).toFixed(1)}× the target's margin)`)
} finally {
  cleanup()
}
process.exitCode = ok ? 0 : 1
