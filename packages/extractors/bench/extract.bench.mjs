// Benchmarks of @agenttap/extractors on a generated capture (deleted afterwards).
//   node bench/extract.bench.mjs                 # ~100 MB and ~1 GB captures
//   BENCH_SCALE=0.1 node bench/extract.bench.mjs # 10 MB and 100 MB: a quick run
//   node bench/extract.bench.mjs --small-dir=/tmp/cap100 --big-dir=/tmp/cap1g   # reuse captures (not deleted)
// Targets (issue 8): `prompts -n 5` under 0.2 s whatever the log size (shown at both sizes,
// end-to-end CLI process and library call); `usage` over the big capture at least 5× faster
// than a line-by-line Node pass. Also shown: sessions via DuckDB, and rg vs DuckDB for
// prefiltered modes.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createExtractor, hasRipgrep } from '../dist/index.js'
import { nodeUsagePass } from './node-usage-pass.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
const argScale = process.argv.find((a) => a.startsWith('--scale='))
const SCALE = Number(argScale ? argScale.slice(8) : (process.env.BENCH_SCALE ?? 1))
const BIG_MB = Math.max(20, Math.round(1024 * SCALE))
const SMALL_MB = Math.max(5, Math.round(100 * SCALE))
const cli = join(root, 'apps', 'analyze', 'dist', 'bin.js')
const results = []

const tmp = mkdtempSync(join(tmpdir(), 'agenttap-extract-bench-'))
const cleanup = () => rmSync(tmp, { recursive: true, force: true })
process.on('SIGINT', () => { cleanup(); process.exit(130) })

const argDir = (k) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3)

function generate(name, mb) {
  // --small-dir=<dir> / --big-dir=<dir> reuse an existing capture instead of generating one.
  const given = argDir(`${name}-dir`)
  const dir = given ?? join(tmp, name)
  if (given) {
    const capDir = join(dir, 'all-mitm-sse')
    return { dir, bytes: readdirSync(capDir).reduce((n, f) => n + statSync(join(capDir, f)).size, 0) }
  }
  const r = spawnSync(process.execPath, [join(root, 'fixtures', 'generate.mjs'), '--synthetic', dir, '--sessions', '40', '--flows', '10000000', '--target-mb', String(mb)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`generate.mjs failed: ${r.stderr}`)
  const capDir = join(dir, 'all-mitm-sse')
  const bytes = readdirSync(capDir).reduce((n, f) => n + statSync(join(capDir, f)).size, 0)
  return { dir, bytes }
}

/** CPU ms of this process and its waited-for children (rg), from /proc on Linux. */
function cpuMs() {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
    // fields after the comm: utime=12, stime=13, cutime=14, cstime=15 (1-based from state=1)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10
  } catch {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
}

async function time(fn, runs = 1) {
  const ms = []
  let out
  const c0 = cpuMs()
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    out = await fn()
    ms.push(performance.now() - t)
  }
  const cpu = (cpuMs() - c0) / runs
  ms.sort((a, b) => a - b)
  return { ms: ms[Math.floor(ms.length / 2)], out, cpu }
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const mbOf = (b) => `${(b / 1048576).toFixed(0)} MiB`
function target(name, ok, detail) {
  results.push(ok)
  console.log(`${ok ? 'PASS' : 'MISS'}  ${name}: ${detail}`)
}

try {
  console.log(`extractors bench · scale ${SCALE} · rg ${hasRipgrep() ? 'on PATH' : 'missing'}`)
  const small = generate('small', SMALL_MB)
  const big = generate('big', BIG_MB)
  console.log(`captures: ${mbOf(small.bytes)} and ${mbOf(big.bytes)}`)

  for (const cap of [small, big]) {
    const label = mbOf(cap.bytes)
    const x = await createExtractor({ logDir: cap.dir })
    const rev = await time(() => x.run('user_prompts', { limit: 5 }), 5)
    const full = await time(() => x.run('user_prompts', { limit: 5, engine: 'duckdb' }))
    const same = JSON.stringify(rev.out.rows) === JSON.stringify(full.out.rows)
    x.close()
    let cliMs = NaN
    if (existsSync(cli)) {
      const ms = []
      for (let i = 0; i < 7; i++) {
        const t = performance.now()
        const r = spawnSync(process.execPath, [cli, 'prompts', '-n', '5', '--log-dir', cap.dir, '--quiet', '--format', 'ndjson'], { encoding: 'utf8' })
        ms.push(performance.now() - t)
        if (r.status !== 0) throw new Error(`CLI failed: ${r.stderr}`)
      }
      cliMs = ms.sort((a, b) => a - b)[3]
    }
    console.log(`prompts -n 5 @ ${label}: reverse scan ${fmt(rev.ms)} (CLI process ${Number.isNaN(cliMs) ? 'n/a (build apps/analyze)' : fmt(cliMs)}) vs full DuckDB scan ${fmt(full.ms)} · ${(full.ms / rev.ms).toFixed(0)}× · same rows: ${same}`)
    const worst = Number.isNaN(cliMs) ? rev.ms : Math.max(cliMs, rev.ms)
    target(`prompts -n 5 under 0.2 s @ ${label}`, worst < 200 && same, `${fmt(worst)} (target < 200 ms)`)
  }

  const linesFile = join(big.dir, 'all-mitm-sse', 'sse_lines.jsonl')
  const x = await createExtractor({ logDir: big.dir })
  const label = mbOf(big.bytes)
  // The machine is shared: run the three contenders in interleaved rounds and compare medians.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
  const nodeMs = [], duckMs = [], autoMs = [], nodeCpu = [], duckCpu = [], autoCpu = []
  let node, duck, auto
  for (let i = 0; i < ROUNDS; i++) {
    node = await time(() => nodeUsagePass([linesFile])); nodeMs.push(node.ms); nodeCpu.push(node.cpu)
    duck = await time(() => x.run('usage', { engine: 'duckdb' })); duckMs.push(duck.ms); duckCpu.push(duck.cpu)
    auto = await time(() => x.run('usage')); autoMs.push(auto.ms); autoCpu.push(auto.cpu)
  }
  const med = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]
  node.ms = med(nodeMs); duck.ms = med(duckMs); auto.ms = med(autoMs)
  const sum = (rows) => rows.reduce((n, r) => n + r.input_tokens + r.cache_read_tokens + r.cache_write_tokens + r.output_tokens, 0)
  const agree = sum(node.out) === sum(duck.out.rows) && sum(auto.out.rows) === sum(duck.out.rows) && node.out.length === duck.out.rows.length
  console.log(`load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} cores; medians of ${ROUNDS} interleaved rounds`)
  console.log(`usage @ ${label}: line-by-line Node pass ${fmt(node.ms)} · DuckDB ${fmt(duck.ms)} (${(node.ms / duck.ms).toFixed(1)}×) · auto engine [${auto.out.engine}] ${fmt(auto.ms)} (${(node.ms / auto.ms).toFixed(1)}×) · ${duck.out.rows.length} flows, same totals: ${agree}`)
  console.log(`  CPU time (process + rg): Node ${fmt(med(nodeCpu))} · DuckDB ${fmt(med(duckCpu))} (${(med(nodeCpu) / med(duckCpu)).toFixed(1)}×) · auto ${fmt(med(autoCpu))} (${(med(nodeCpu) / med(autoCpu)).toFixed(1)}×)`)
  console.log(`  (jq -s is not run: it slurps the whole ${label} into memory; the Node pass is the streaming equivalent)`)
  target(`usage ≥ 5× faster than the Node pass @ ${label}`, node.ms / auto.ms >= 5 && agree, `${(node.ms / auto.ms).toFixed(1)}× with engine ${auto.out.engine} (DuckDB alone ${(node.ms / duck.ms).toFixed(1)}×; target ≥ 5×)`)

  const sDuck = await time(() => x.run('sessions', { engine: 'duckdb' }))
  const sAuto = await time(() => x.run('sessions'))
  console.log(`sessions @ ${label}: DuckDB ${fmt(sDuck.ms)} · auto [${sAuto.out.engine}] ${fmt(sAuto.ms)} · ${sDuck.out.rows.length} sessions, same rows: ${JSON.stringify(sDuck.out.rows) === JSON.stringify(sAuto.out.rows)}`)

  if (hasRipgrep()) {
    for (const mode of ['errors', 'tool_calls']) {
      const d = await time(() => x.run(mode, { engine: 'duckdb' }))
      const r = await time(() => x.run(mode, { engine: 'rg' }))
      console.log(`${mode} @ ${label}: rg prefilter + DuckDB ${fmt(r.ms)} vs DuckDB ${fmt(d.ms)} (${(d.ms / r.ms).toFixed(1)}×) · same rows: ${JSON.stringify(d.out.rows) === JSON.stringify(r.out.rows)}`)
    }
  } else console.log('rg engine: skipped (rg not on PATH)')
  x.close()
} finally {
  cleanup()
}
console.log(results.every(Boolean) ? 'all targets met' : 'some targets missed')
