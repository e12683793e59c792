// Request analysis (`analyzeRequest`) on the requests of a synthetic capture with real-size
// requests (fixtures/generate.mjs --mix real-sizes: Claude Code's and Codex's system prompts and
// tools, the whole history resent every turn), 20 agents side by side, in capture order.
//   node bench/request.bench.mjs                  # ~64 MB of requests
//   BENCH_SCALE=0.25 node bench/request.bench.mjs # a quick run
// Analyzed twice, alternating in rounds: as a process does it (the request memo takes what each
// request shares with the conversation's last one) and with the memo cleared before every
// request (the full work). Checks both give the same anatomies, and prints MB/s of request JSON.
// Target (request-memo.ts): the memo at least doubles the throughput on such conversations.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isDeepStrictEqual } from 'node:util'
import { join } from 'node:path'
import { analyzeRequest, clearRequestMemo } from '../dist/index.js'
import { writeSynthetic } from '../../../fixtures/generate.mjs'

const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const dir = mkdtempSync(join(tmpdir(), 'agenttap-request-bench-'))
let reqs
try {
  writeSynthetic(dir, { sessions: 20, flows: 1e7, seed: 2, targetMb: Math.max(8, Math.round(64 * SCALE)), mix: 'real-sizes' })
  reqs = readFileSync(join(dir, 'all-mitm-sse', 'sse_flows.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const f = JSON.parse(l)
    return { url: f.url, body: f.request_body, client: f.client, provider: f.provider, headers: f.request_headers }
  })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const bytes = reqs.reduce((n, r) => n + JSON.stringify(r.body).length, 0)
const mbs = (ms) => bytes / 1e6 / (ms / 1000)

function run(memo) {
  clearRequestMemo()
  const out = new Array(reqs.length)
  const t0 = performance.now()
  for (let i = 0; i < reqs.length; i++) {
    if (!memo) clearRequestMemo()
    out[i] = analyzeRequest(reqs[i])
  }
  return { ms: performance.now() - t0, out }
}

console.log(`request analysis bench · ${reqs.length} requests, ${(bytes / 1e6).toFixed(0)} MB of request JSON (real-size mix, 20 agents)`)
run(true) // warm-up
const with_ = []
const without = []
let same = true
for (let round = 0; round < 3; round++) {
  const a = run(true)
  const b = run(false)
  with_.push(a.ms)
  without.push(b.ms)
  if (round === 0) same = a.out.every((x, i) => isDeepStrictEqual(x, b.out[i]))
  console.log(`  round ${round + 1}: memo ${a.ms.toFixed(0)} ms (${mbs(a.ms).toFixed(0)} MB/s) · full work ${b.ms.toFixed(0)} ms (${mbs(b.ms).toFixed(0)} MB/s)`)
}
const best = (xs) => Math.min(...xs)
const ratio = best(without) / best(with_)
console.log(`analyzeRequest: ${mbs(best(with_)).toFixed(0)} MB/s with the memo, ${mbs(best(without)).toFixed(0)} MB/s without (best of 3): ${ratio.toFixed(1)}×`)
console.log(`${same ? 'PASS' : 'MISS'}  the memo's anatomies equal the full work's (${reqs.length} requests)`)
console.log(`${ratio >= 2 ? 'PASS' : 'MISS'}  the memo at least doubles request analysis on real-size conversations: ${ratio.toFixed(1)}×`)
process.exitCode = same && ratio >= 2 ? 0 : 1
