// The live delay the SSE redactor adds: how long each record of a 1,000-delta answer is held
// between entering createSseRedactor and coming out of it.
// Run: node bench/live-delay.bench.mjs   (after pnpm --filter @agenttap/session-extractor build)
//
// The bound (README "What the live views wait for"): a record waits for the first later piece of
// its channel that brings whitespace (a secret is held until it is complete), or its block's
// end, and for the records before it. It is computed from the stream below and checked for every
// record. Time is measured two ways: back-to-back feeding (the redactor's own cost while a record
// is held) and at a realistic pace (deltas every 25 ms: the wait for the next delta dominates).
import { loadavg } from 'node:os'
import { createSseRedactor } from '../dist/index.js'

const DELTAS = 1000
const PACE_MS = 25
const TARGET_P50_EVENTS = 1
const TARGET_P99_US = 1000

let seed = 7
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296)
const pick = (xs) => xs[Math.floor(rand() * xs.length)]
const WORDS = 'the agent reads the file then writes a test that passes because the function returns early when the input is empty so we add a guard'.split(' ')
const CODE = ['src/index.ts', 'createSseRedactor(', 'opts.onRecord', '{"command":', 'pnpm', '--filter', 'vitest', 'run', '&&', 'git', 'commit']
const KEY = 'sk-ant-api03-Q7xZp2Lk9VwR4tYb8NcM1sHd6JfG3eUa0OiKq5Wz-Xy_Rt7Bn2Vc8Lm4Pk9Jh6Gf3Ds1Az0SwEdRfTgYhUjIkOlP0o9I8u7Y6tT5rAA'
const JWT = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMyIsImV4cCI6MTcwMDAwMDAwMH0.${'Ab9-_xYz'.repeat(20)}`

/** Text deltas as models send them: a few words, sometimes glued to the next, sometimes code. */
function answer(secrets) {
  const pieces = []
  while (pieces.length < DELTAS) {
    const r = rand()
    if (r < 0.7) pieces.push(`${rand() < 0.85 ? ' ' : ''}${Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(WORDS)).join(' ')}`)
    else if (r < 0.9) pieces.push(pick(CODE))
    else pieces.push(`${pick(WORDS)}${rand() < 0.5 ? '.' : ','}`)
    if (secrets && pieces.length === 250) pieces.push(' my key is ', KEY.slice(0, 30), KEY.slice(30, 60), KEY.slice(60, 90), `${KEY.slice(90)} keep it safe.`)
    if (secrets && pieces.length === 600) {
      pieces.push(' the token: ')
      for (let i = 0; i < JWT.length; i += 2) pieces.push(JWT.slice(i, i + 2))
      pieces.push(' expires soon.')
    }
  }
  return pieces
}

function records(secrets) {
  const text = answer(secrets)
  const args = JSON.stringify({ command: 'pnpm --filter @agenttap/session-extractor test', description: 'Run the tests of the package' })
  const toolPieces = []
  for (let i = 0; i < args.length; i += 1 + Math.floor(rand() * 6)) toolPieces.push(args.slice(i, i + 1 + Math.floor(rand() * 6)))
  const recs = []
  const push = (event, obj, channel, piece) => recs.push({ rec: { type: 'sse', seq: recs.length, event, data: JSON.stringify(obj) }, channel, piece })
  push('message_start', { type: 'message_start', message: { id: 'msg_1', content: [], usage: { input_tokens: 5 } } })
  push('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  for (const p of text) push('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }, 0, p)
  push('content_block_stop', { type: 'content_block_stop', index: 0 }, 0, undefined)
  push('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} } })
  for (const p of toolPieces) push('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: p } }, 1, p)
  push('content_block_stop', { type: 'content_block_stop', index: 1 }, 1, undefined)
  push('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 900 } })
  push('message_stop', { type: 'message_stop' })
  return { recs, deltas: text.length + toolPieces.length }
}

/** For each record, the index of the record by which it must be out (see the bound above). */
function bounds(recs) {
  const out = new Array(recs.length)
  let prev = 0
  for (let i = 0; i < recs.length; i++) {
    const { channel, piece } = recs[i]
    let b = i
    if (piece !== undefined) {
      // Released once a later piece of its channel brings whitespace, or the block ends.
      b = recs.length - 1
      if (!/\s$/.test(piece)) {
        for (let j = i + 1; j < recs.length; j++) {
          const r = recs[j]
          if (r.channel === channel && (r.piece === undefined || /\s/.test(r.piece))) {
            b = j
            break
          }
        }
      } else b = i
    }
    prev = Math.max(prev, b)
    out[i] = prev
  }
  return out
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

function measure(secrets) {
  const { recs, deltas } = records(secrets)
  const bound = bounds(recs)
  let bestUs
  let heldEvents
  let withinBound = true
  for (let round = 0; round < 7; round++) {
    const enteredAt = new Array(recs.length)
    const releasedAt = new Array(recs.length)
    const releasedAfter = new Array(recs.length)
    let fed = 0
    const red = createSseRedactor({
      onRecord: (r) => {
        releasedAt[r.seq] = performance.now()
        releasedAfter[r.seq] = fed - 1
      },
    })
    for (const { rec } of recs) {
      enteredAt[fed] = performance.now()
      fed++
      red.feed({ ...rec })
    }
    red.end()
    const us = recs.map((_, i) => (releasedAt[i] - enteredAt[i]) * 1000)
    const held = recs.map((_, i) => releasedAfter[i] - i)
    for (let i = 0; i < recs.length; i++) if (releasedAfter[i] > bound[i]) withinBound = false
    if (bestUs === undefined || pct(us, 99) < pct(bestUs, 99)) {
      bestUs = us
      heldEvents = held
    }
  }
  return { recs, deltas, bound: bound.map((b, i) => b - i), us: bestUs, held: heldEvents, withinBound }
}

const results = [
  ['prose and code', measure(false)],
  [`with secrets (a key in 4 deltas, a ${JWT.length}-char JWT in 2-char deltas)`, measure(true)],
]
console.log(`SSE redactor live delay on ${DELTAS}+-delta answers (Anthropic text and a tool call); load ${loadavg()[0].toFixed(2)}; best p99 of 7 rounds each`)
for (const [name, m] of results) {
  const paced = m.held.map((e, i) => e * PACE_MS + m.us[i] / 1000)
  console.log(`  ${name}: ${m.recs.length} records, ${m.deltas} deltas`)
  console.log(`    held for (events)        p50 ${pct(m.held, 50)}  p99 ${pct(m.held, 99)}  max ${Math.max(...m.held)}   (the stream's own bound: p50 ${pct(m.bound, 50)}, p99 ${pct(m.bound, 99)}, max ${Math.max(...m.bound)})`)
  console.log(`    entering → release (µs)  p50 ${pct(m.us, 50).toFixed(1)}  p99 ${pct(m.us, 99).toFixed(1)}  max ${Math.max(...m.us).toFixed(1)}   (fed back-to-back: the redactor's own time)`)
  console.log(`    at ${PACE_MS} ms per delta (ms)  p50 ${pct(paced, 50).toFixed(2)}  p99 ${pct(paced, 99).toFixed(2)}  max ${Math.max(...paced).toFixed(2)}`)
}
for (const [name, m] of results) {
  console.log(`${m.withinBound ? 'PASS' : 'MISS'} ${name}: every record released within its bound (the first later piece of its channel with whitespace, or its block end)`)
  console.log(`${pct(m.held, 50) <= TARGET_P50_EVENTS ? 'PASS' : 'MISS'} ${name}: held p50 <= ${TARGET_P50_EVENTS} event (${pct(m.held, 50)})`)
  console.log(`${pct(m.us, 99) <= TARGET_P99_US ? 'PASS' : 'MISS'} ${name}: entering → release p99 <= ${TARGET_P99_US} µs back-to-back (${pct(m.us, 99).toFixed(1)})`)
}
