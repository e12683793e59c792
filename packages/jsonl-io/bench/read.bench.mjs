// Read + parse a ≥200 MB generated capture three ways in one run: jsonl-io's reader, Node's
// readline + JSON.parse, and a bare split + JSON.parse loop. Then readLast(…, 10) beside a full scan.
// Targets: jsonl-io ≥ 90% of the bare loop and ≥ 1.3× readline.
//   BENCH_SCALE=0.1 node bench/read.bench.mjs   (a quick run on ~20 MB)
import { createReadStream, existsSync, rmSync, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createJsonlParser, readLast } from '../dist/index.js'
import { writeSynthetic } from '../../../fixtures/generate.mjs'

const scale = Number(process.env.BENCH_SCALE ?? 1)
const targetMb = Math.max(5, Math.round(210 * scale))
const dir = join(tmpdir(), `agenttap-bench-jsonl-${targetMb}`)
const file = join(dir, 'all-mitm-sse', 'sse_lines.jsonl')
if (!existsSync(file) || statSync(file).size < targetMb * 0.9 * 1048576) {
  rmSync(dir, { recursive: true, force: true })
  // sse_lines is ~85% of a capture: ask for a bit more in total.
  writeSynthetic(dir, { sessions: 16, flows: 1e9, seed: 42, targetMb: targetMb * 1.2 })
}
const size = statSync(file).size
const MB = size / 1048576
console.log(`file: ${file} (${MB.toFixed(0)} MiB)`)

const CHUNK = 1 << 20
async function jsonlIo() {
  let n = 0
  const p = createJsonlParser({ onRecord: () => void n++, onError: (e) => { throw e } })
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) p.feed(chunk)
  p.end()
  return n
}
async function readlineParse() {
  let n = 0
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: CHUNK }), crlfDelay: Infinity })
  for await (const line of rl) {
    if (line) {
      JSON.parse(line)
      n++
    }
  }
  return n
}
async function bareSplit() {
  let n = 0
  let rest = ''
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK, encoding: 'utf8' })) {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop() ?? ''
    for (const l of lines) if (l) { JSON.parse(l); n++ }
  }
  if (rest) { JSON.parse(rest); n++ }
  return n
}

async function time(name, fn) {
  globalThis.gc?.()
  const t = process.hrtime.bigint()
  const n = await fn()
  const s = Number(process.hrtime.bigint() - t) / 1e9
  return { name, n, s, mbs: MB / s }
}
const runs = { 'jsonl-io': [], readline: [], 'bare split': [] }
const fns = { 'jsonl-io': jsonlIo, readline: readlineParse, 'bare split': bareSplit }
await time('warmup', jsonlIo)
for (let round = 0; round < 3; round++) for (const [k, f] of Object.entries(fns)) runs[k].push(await time(k, f))
const best = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.reduce((a, b) => (a.s < b.s ? a : b))]))
for (const r of Object.values(best)) console.log(`${r.name.padEnd(12)} ${r.mbs.toFixed(0).padStart(5)} MB/s  ${(r.n / r.s / 1e6).toFixed(2)} M lines/s  (${r.n} lines, best of 3: ${r.s.toFixed(2)} s)`)
if (best['jsonl-io'].n !== best['bare split'].n || best.readline.n !== best['bare split'].n) throw new Error('line counts differ')
const vsBare = best['jsonl-io'].mbs / best['bare split'].mbs
const vsRl = best['jsonl-io'].mbs / best.readline.mbs
console.log(`jsonl-io / bare split = ${(vsBare * 100).toFixed(0)}%   jsonl-io / readline = ${vsRl.toFixed(2)}x`)

const t0 = process.hrtime.bigint()
const last = await readLast(file, 10)
const lastMs = Number(process.hrtime.bigint() - t0) / 1e6
console.log(`readLast(…, 10): ${lastMs.toFixed(2)} ms for ${last.length} records vs full scan ${(best['jsonl-io'].s * 1000).toFixed(0)} ms (${(best['jsonl-io'].s * 1000 / lastMs).toFixed(0)}x faster)`)
console.log(`${vsBare >= 0.9 ? 'PASS' : 'MISS'} jsonl-io ≥ 90% of bare split+JSON.parse: ${(vsBare * 100).toFixed(0)}%`)
console.log(`${vsRl >= 1.3 ? 'PASS' : 'MISS'} jsonl-io ≥ 1.3x readline+JSON.parse: ${vsRl.toFixed(2)}x`)
console.log(`${lastMs < best['jsonl-io'].s * 1000 / 100 ? 'PASS' : 'MISS'} readLast(10) ≥ 100x faster than a full scan`)
if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true })
