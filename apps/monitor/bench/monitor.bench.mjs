#!/usr/bin/env node
// agenttap-monitor benchmark: events/s the monitor sustains reading a generated capture (the
// three files of a log directory, merged by time) with its output going to /dev/null and to a
// pseudo-terminal, and RSS after 100k and 1M events.
//
//   node bench/monitor.bench.mjs                 full run (1M events)
//   BENCH_SCALE=0.1 node bench/monitor.bench.mjs  quick run (100k events; RSS at 10k vs 100k)
//   node bench/monitor.bench.mjs --scale 0.1 --keep   keep the generated capture
//   node bench/monitor.bench.mjs --reference <old>/apps/monitor/dist/bin.js [--rounds 5] [--paired-only]
//        also (or only) the paired run: this build's bin and the reference bin replay the same
//        capture to /dev/null in alternating rounds; CPU seconds of each whole process (bash
//        `times`) and wall; prints the ratio of events per CPU-second and PASS/MISS (target x1.0)
//   --capture <dir>                               use an existing capture directory (not generated, not deleted)
//
// Targets (issue 7): >= 50k events/s to /dev/null; RSS flat within 20% between 100k and 1M events.
// Target (issue 18): events per CPU-second of the whole process >= x1.0 of the build before the
// live pipeline moved out of this app (the reference).
import { spawn, spawnSync } from 'node:child_process'
import { appendFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { loadavg } from 'node:os'
import { openSource, resolveSourceFiles } from '@agenttap/capture-sources'
import { createTerminalView, runTerminalView } from '@agenttap/terminal-view'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
const args = process.argv.slice(2)
const argVal = (name) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const scale = Number(argVal('scale') ?? process.env.BENCH_SCALE ?? 1)
if (!(scale > 0)) throw new Error(`BENCH_SCALE / --scale: expected a number > 0, received ${scale}`)
const keep = args.includes('--keep')
const reference = argVal('reference')
const rounds = Number(argVal('rounds') ?? 5)
const pairedOnly = args.includes('--paired-only')
const givenCapture = argVal('capture')
if (pairedOnly && reference === undefined) throw new Error('--paired-only needs --reference <path to the old bin.js>')
if (!(rounds >= 1)) throw new Error(`--rounds: expected a number >= 1, received ${rounds}`)
const TARGET_PAIRED = 1.0

const TARGET_EVENTS_PER_S = 50_000
const RSS_FLAT = 0.2
const big = Math.round(1_000_000 * scale)
const small = Math.round(100_000 * scale)

if (typeof globalThis.gc !== 'function') setFlagsFromString('--expose-gc')
const gc = globalThis.gc ?? runInNewContext('gc')

// Child mode: run the monitor over <dir> to /dev/null, sample RSS after a GC at every `small`
// events, print one JSON line. Kept in its own process so nothing else shapes its memory.
if (args[0] === '--child') {
  const [, dir, bigS, smallS] = args
  const bigN = Number(bigS)
  const smallN = Number(smallS)
  const files = resolveSourceFiles(dir)
  const samples = []
  let sse = 0
  let next = smallN
  const sample = () => {
    gc()
    const u = process.memoryUsage()
    samples.push({ events: sse, rss: u.rss, heap: u.heapUsed, heapTotal: u.heapTotal, external: u.external })
  }
  async function* counted() {
    for await (const batch of openSource(files, { follow: false, onError: () => {} })) {
      for (const it of batch) if (it.value && it.value.type === 'sse') sse++
      yield batch
      if (sse >= next) {
        sample()
        next += smallN
      }
      if (sse >= bigN) break
    }
  }
  gc()
  const out = createWriteStream('/dev/null')
  const t0 = performance.now()
  const stats = await runTerminalView({ source: counted(), output: out, keepUp: false })
  const secs = (performance.now() - t0) / 1000
  sample() // after close, for reference
  out.end()
  console.log(JSON.stringify({ sse, secs, stats, samples }))
  process.exit(0)
}

// Follow-child mode: follow <file> (live, as the default CLI does) until <n> records were shown,
// print one JSON line with the time from the first to the last record.
if (args[0] === '--follow-child') {
  const [, file, nS] = args
  const n = Number(nS)
  const ac = new AbortController()
  const out = createWriteStream('/dev/null')
  const monitor = createTerminalView({ output: out, signal: ac.signal })
  let seen = 0
  let t0 = 0
  process.stdout.write('ready\n')
  for await (const it of openSource([file], { follow: true, fromStart: true, pollMs: 50, onError: (e) => monitor.warn(e), signal: ac.signal })) {
    if (seen === 0) t0 = performance.now()
    monitor.feed(it.value, it)
    if (++seen >= n) break
  }
  const secs = (performance.now() - t0) / 1000
  const stats = await monitor.end()
  out.end()
  console.log(JSON.stringify({ seen, secs, skipped: stats.writer.skippedChars, coalesced: stats.writer.coalescedOps }))
  process.exit(0)
}

const { writeSynthetic } = await import(join(root, 'fixtures', 'generate.mjs'))
const work = mkdtempSync(join(tmpdir(), 'agenttap-monitor-bench-'))
// ~60-65 sse events per synthetic flow (generated with headroom; reading stops at `events`), 20 sessions interleaved (alternating Claude Code / Codex)
const gen = (dir, events) => {
  const t = performance.now()
  const res = writeSynthetic(dir, { sessions: 20, flows: Math.ceil(events / 58 / 20) + 2, seed: 7 })
  return { ...res, ms: performance.now() - t }
}

function mb(n) {
  return `${(n / 1048576).toFixed(1)} MiB`
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 shared cores: figures are noisy)`)
/**
 * One whole monitor process replaying `dir` to /dev/null: wall seconds, and CPU seconds (user +
 * sys) of the process from bash's `times` (its children line), so nothing of this bench counts.
 */
function timedReplay(binPath, dir) {
  const script = 'start=$(date +%s%N); "$@" > /dev/null || exit $?; end=$(date +%s%N); echo "wall $(( (end - start) / 1000000 ))"; times'
  const r = spawnSync('bash', ['-c', script, 'bench', process.execPath, binPath, '--replay', '--delay-ms', '0', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`${binPath} --replay ${dir} failed (exit ${r.status})`)
  const lines = r.stdout.trim().split('\n')
  const wall = Number(/^wall (\d+)/.exec(lines.find((l) => l.startsWith('wall ')) ?? '')?.[1]) / 1000
  // `times`: the shell's user/sys, then its children's (the monitor), as `0m1.234s 0m0.056s`.
  const secs = (t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t)
    if (!m) throw new Error(`unexpected times output: ${r.stdout}`)
    return Number(m[1]) * 60 + Number(m[2])
  }
  const [user, sys] = (lines[lines.length - 1] ?? '').trim().split(/\s+/).map(secs)
  return { wall, cpu: user + sys }
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y)
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2
}

/** Paired rounds (issue 18): this build's bin and the reference bin, alternating, same capture. */
function paired(dir) {
  const sseFile = join(dir, 'all-mitm-sse', 'sse_lines.jsonl')
  const source = existsSync(sseFile) ? join(dir, 'all-mitm-sse') : dir
  const events = Number(spawnSync('grep', ['-c', '', join(source, 'sse_lines.jsonl')], { encoding: 'utf8' }).stdout.trim())
  const ours = join(here, '..', 'dist', 'bin.js')
  console.log(`paired: ${rounds} rounds, ${events} sse events, this build ${ours} vs reference ${reference} (--replay --delay-ms 0 to /dev/null)`)
  const ratios = []
  const sum = { ours: { wall: 0, cpu: 0 }, ref: { wall: 0, cpu: 0 } }
  for (let i = 0; i < rounds; i++) {
    // Alternate who goes first, so a load that rises or falls during a round is shared.
    const order = i % 2 === 0 ? ['ref', 'ours'] : ['ours', 'ref']
    const res = {}
    for (const who of order) res[who] = timedReplay(who === 'ours' ? ours : reference, source)
    const ratio = res.ref.cpu / res.ours.cpu
    ratios.push(ratio)
    for (const who of ['ours', 'ref']) {
      sum[who].wall += res[who].wall
      sum[who].cpu += res[who].cpu
    }
    console.log(
      `  round ${i + 1}: reference ${res.ref.cpu.toFixed(2)} s CPU (${res.ref.wall.toFixed(2)} s wall, ${Math.round(events / res.ref.cpu)} events/CPU-s) · this build ${res.ours.cpu.toFixed(2)} s CPU (${res.ours.wall.toFixed(2)} s wall, ${Math.round(events / res.ours.cpu)} events/CPU-s) · x${ratio.toFixed(2)} · load ${loadavg()[0].toFixed(1)}`,
    )
  }
  const m = median(ratios)
  console.log(
    `  totals: reference ${sum.ref.cpu.toFixed(2)} s CPU / ${sum.ref.wall.toFixed(2)} s wall, this build ${sum.ours.cpu.toFixed(2)} s CPU / ${sum.ours.wall.toFixed(2)} s wall; wall events/s ${Math.round((events * rounds) / sum.ref.wall)} vs ${Math.round((events * rounds) / sum.ours.wall)}`,
  )
  console.log(
    `${m >= TARGET_PAIRED ? 'PASS' : 'MISS'} monitor events per CPU-second vs the reference: x${m.toFixed(2)} median of ${rounds} paired rounds (x${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; x${(sum.ref.cpu / sum.ours.cpu).toFixed(2)} on the totals; target >= x${TARGET_PAIRED.toFixed(1)})`,
  )
}

try {
  const bigDir = givenCapture ?? join(work, 'big')
  if (givenCapture === undefined) {
    const g = gen(bigDir, big)
    console.log(`capture: ${g.flows} flows, ${g.records} records, ${mb(g.bytes)} (generated in ${(g.ms / 1000).toFixed(1)} s)`)
  } else console.log(`capture: ${givenCapture}`)
  if (!pairedOnly) await measure(bigDir)
  if (reference !== undefined) paired(bigDir)
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true })
  else console.log(`kept ${work}`)
}

async function measure(bigDir) {

  // ---- 1. /dev/null, in a fresh process (RSS not inflated by the generator) -----------------
  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', bigDir, String(big), String(small)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 << 20,
  })
  if (child.status !== 0) throw new Error(`measuring child failed (exit ${child.status})`)
  const m = JSON.parse(child.stdout.trim().split('\n').pop())
  const { sse, secs, stats, samples } = m
  const evps = sse / secs
  console.log(
    `/dev/null: ${sse} sse events (${stats.events} unified events, ${stats.flows} flows, ${mb(stats.writer.chars)} of output) in ${secs.toFixed(2)} s = ${Math.round(evps)} events/s (target >= ${TARGET_EVENTS_PER_S})`,
  )
  for (const s of samples) console.log(`  RSS after ${s.events} events: ${mb(s.rss)} (heap used ${mb(s.heap)}, heap total ${mb(s.heapTotal)}, external ${mb(s.external)})`)

  // ---- 2. a pseudo-terminal (script(1)): the real bin, colours and row erase on --------------
  const smallDir = join(work, 'small')
  gen(smallDir, small)
  const bin = join(here, '..', 'dist', 'bin.js')
  let ptyLine = 'pty: skipped (script(1) not found)'
  if (spawnSync('script', ['--version']).status === 0) {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} --replay --delay-ms 0 ${JSON.stringify(smallDir)}`
    const t1 = performance.now()
    const code = await new Promise((resolve) => {
      const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TERM: 'xterm-256color' } })
      child.on('exit', resolve)
    })
    const ptySecs = (performance.now() - t1) / 1000
    const ptyEvents = spawnSync('grep', ['-c', '', join(smallDir, 'all-mitm-sse', 'sse_lines.jsonl')], { encoding: 'utf8' }).stdout.trim()
    ptyLine = `pty (script, real bin incl. startup): ${ptyEvents} sse events in ${ptySecs.toFixed(2)} s = ${Math.round(Number(ptyEvents) / ptySecs)} events/s (exit ${code}; no target, for comparison with /dev/null)`
  }
  console.log(ptyLine)

  // ---- 3. live follow of a fast writer (the default CLI mode) -----------------------------
  // A writer appends the small capture's lines (mixed types, in 256 KiB line-aligned chunks, as
  // fast as it can) to a file the monitor follows; events/s from its first to its last record.
  {
    const live = join(work, 'live.jsonl')
    writeFileSync(live, '')
    const text = readFileSync(join(smallDir, 'all-mitm-sse', 'sse_lines.jsonl'), 'utf8')
    const lines = text.split('\n').filter((l) => l !== '')
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--follow-child', live, String(lines.length)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    const ready = new Promise((resolve) => child.stdout.on('data', (d) => { buf += d; if (buf.includes('ready\n')) resolve() }))
    const exited = new Promise((resolve) => child.on('exit', resolve))
    await ready
    const tw = performance.now()
    let chunk = []
    let size = 0
    for (const l of lines) {
      chunk.push(l)
      size += l.length + 1
      if (size >= 256 * 1024) {
        appendFileSync(live, chunk.join('\n') + '\n')
        chunk = []
        size = 0
      }
    }
    if (chunk.length > 0) appendFileSync(live, chunk.join('\n') + '\n')
    const writerSecs = (performance.now() - tw) / 1000
    await exited
    const r = JSON.parse(buf.trim().split('\n').pop())
    console.log(
      `follow (live tail, writer done in ${writerSecs.toFixed(2)} s): ${r.seen} records in ${r.secs.toFixed(2)} s = ${Math.round(r.seen / r.secs)} records/s (skipped ${r.skipped} chars of output to keep up; no target)`,
    )
  }

  // ---- verdicts ---------------------------------------------------------------------------
  if (scale < 1) console.log(`(quick run, scale ${scale}: the targets are defined at scale 1 — 1M events, RSS at 100k vs 1M; small runs are dominated by JIT warm-up)`)
  // Both points are taken mid-run (the last sample, after the monitor closed, would flatter it).
  const inRun = samples.length > 1 ? samples.slice(0, -1) : samples
  const first = inRun[0]
  const last = inRun[inRun.length - 1]
  const peak = Math.max(...inRun.map((s) => s.rss))
  console.log(`  peak RSS during the run: ${mb(peak)}`)
  const growth = first && last ? last.rss / first.rss - 1 : NaN
  console.log(`${evps >= TARGET_EVENTS_PER_S ? 'PASS' : 'MISS'} monitor events/s to /dev/null: ${Math.round(evps)} (target >= ${TARGET_EVENTS_PER_S})`)
  console.log(
    `${Number.isFinite(growth) && growth <= RSS_FLAT ? 'PASS' : 'MISS'} monitor RSS flat: ${first ? mb(first.rss) : '?'} at ${first?.events} events → ${last ? mb(last.rss) : '?'} at ${last?.events} events (${(growth * 100).toFixed(1)}%, target within ${RSS_FLAT * 100}%)`,
  )
}
