#!/usr/bin/env node
// The ledger's cost per core, against the floor any reader of a capture pays: a bare
// `split('\n') + JSON.parse` of every line. The index builds the ledger on worker threads sharded
// by flow_id, so what matters per core is how much the ledger adds to parsing each line once.
//
//   node bench/ledger.bench.mjs                   default size (~60 MB of sse_lines)
//   BENCH_SCALE=0.2 node bench/ledger.bench.mjs   quick run
//   node bench/ledger.bench.mjs --scale 2 --rounds 7
//
// It writes a synthetic capture with fixtures/generate.mjs (Claude Code and Codex sessions
// interleaved), then measures in rounds:
//   lines:   sse_lines.jsonl split + parsed + fed to a ledger that already has the flow records,
//            then the flow ends; vs split + parse of sse_lines.jsonl.        Target ≥ 0.5×.
//            The two contenders alternate batch by batch (2,000 lines of the floor, the same
//            2,000 lines through the ledger, …): the 2-core machine is shared with other work, and
//            alternating at this grain exposes both to the same load.
//   capture: all three files split + parsed + fed;  vs split + parse of all three (information,
//            whole passes alternated, so noisier).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLedger } from '../dist/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const scale = Number(arg('scale') ?? process.env.BENCH_SCALE ?? 1)
const rounds = Number(arg('rounds') ?? 7)
const TARGET = 0.5
const MB = 1024 * 1024
const { writeSynthetic } = await import(join(here, '../../../fixtures/generate.mjs'))

const dir = mkdtempSync(join(tmpdir(), 'agenttap-ledger-bench-'))
let files
try {
  const t0 = performance.now()
  const res = writeSynthetic(dir, { sessions: 20, flows: Math.max(1, Math.round(240 * scale)), seed: 11 })
  const cap = join(dir, 'all-mitm-sse')
  files = {
    flows: readFileSync(join(cap, 'sse_flows.jsonl'), 'utf8'),
    lines: readFileSync(join(cap, 'sse_lines.jsonl'), 'utf8'),
    ends: readFileSync(join(cap, 'sse_flow_ends.jsonl'), 'utf8'),
  }
  console.log(`synthetic capture: ${res.flows} flows, ${res.records} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const bytes = (s) => Buffer.byteLength(s)
const linesMB = bytes(files.lines) / MB
const captureMB = (bytes(files.flows) + bytes(files.lines) + bytes(files.ends)) / MB
console.log(`sse_lines ${linesMB.toFixed(1)} MB, whole capture ${captureMB.toFixed(1)} MB`)

let sink = 0
function parseAll(text) {
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    if (l === '') continue
    const v = JSON.parse(l)
    sink += v.seq === undefined ? 0 : 1
  }
}

function newLedger() {
  let calls = 0
  let errors = 0
  const ledger = createLedger({ onCall: () => calls++, onError: () => errors++, onContent: () => undefined, onFlow: () => undefined })
  return { ledger, stats: () => ({ calls, errors }) }
}
function feedText(ledger, text) {
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    if (l !== '') ledger.feed(JSON.parse(l))
  }
}

const time = (fn) => {
  globalThis.gc?.()
  const t = performance.now()
  fn()
  return performance.now() - t
}

// Warm-up (JIT) on everything once.
{
  parseAll(files.lines)
  const { ledger, stats } = newLedger()
  feedText(ledger, files.flows)
  feedText(ledger, files.lines)
  feedText(ledger, files.ends)
  ledger.end()
  const s = stats()
  console.log(`warm-up: ${s.calls} calls, ${s.errors} errors`)
  if (s.errors > 0) process.exitCode = 1
}

const linesRatios = []
const captureRatios = []
const linesRates = []
const floorRates = []
const BATCH = 2000
const lineList = files.lines.split('\n')
for (let r = 0; r < rounds; r++) {
  // The flow records go in first, untimed (parsed and fed one by one: nothing but what the ledger keeps stays alive).
  const { ledger } = newLedger()
  feedText(ledger, files.flows)
  globalThis.gc?.()
  let floor = 0
  let led = 0
  for (let b = 0; b < lineList.length; b += BATCH) {
    const end = Math.min(lineList.length, b + BATCH)
    let t = performance.now()
    for (let i = b; i < end; i++) {
      const l = lineList[i]
      if (l !== '') sink += JSON.parse(l).seq === undefined ? 0 : 1
    }
    floor += performance.now() - t
    t = performance.now()
    for (let i = b; i < end; i++) {
      const l = lineList[i]
      if (l !== '') ledger.feed(JSON.parse(l))
    }
    led += performance.now() - t
  }
  led += time(() => {
    feedText(ledger, files.ends)
    ledger.end()
  })
  const floorAll = time(() => {
    parseAll(files.flows)
    parseAll(files.lines)
    parseAll(files.ends)
  })
  const ledAll = time(() => {
    const { ledger: l2 } = newLedger()
    feedText(l2, files.flows)
    feedText(l2, files.lines)
    feedText(l2, files.ends)
    l2.end()
  })
  linesRatios.push(floor / led)
  captureRatios.push(floorAll / ledAll)
  linesRates.push(linesMB / (led / 1000))
  floorRates.push(linesMB / (floor / 1000))
  console.log(`round ${r + 1}: lines floor ${(linesMB / (floor / 1000)).toFixed(0)} MB/s, ledger ${(linesMB / (led / 1000)).toFixed(0)} MB/s (${(floor / led).toFixed(2)}×) | capture floor ${(captureMB / (floorAll / 1000)).toFixed(0)} MB/s, ledger ${(captureMB / (ledAll / 1000)).toFixed(0)} MB/s (${(floorAll / ledAll).toFixed(2)}×) | load ${loadavg()[0].toFixed(2)}`)
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`\nload average (1, 5, 15 min): ${loadavg().map((x) => x.toFixed(2)).join(', ')}`)
console.log(`sse_lines through the ledger: median ${median(linesRates).toFixed(0)} MB/s on one core (floor ${median(floorRates).toFixed(0)} MB/s); ratio median ${median(linesRatios).toFixed(2)}×, range ${Math.min(...linesRatios).toFixed(2)}–${Math.max(...linesRatios).toFixed(2)}×`)
console.log(`whole capture through the ledger: ratio median ${median(captureRatios).toFixed(2)}×, range ${Math.min(...captureRatios).toFixed(2)}–${Math.max(...captureRatios).toFixed(2)}×`)
const ok = median(linesRatios) >= TARGET
console.log(`${ok ? 'PASS' : 'MISS'} ledger over sse_lines ≥ ${TARGET}× a bare split + JSON.parse pass (median of ${rounds} rounds of alternated batches: ${median(linesRatios).toFixed(2)}×)`)
if (sink < 0) console.log(sink)
