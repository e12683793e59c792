// Benchmark: what chaining SDK conversations by history costs the capture, in CPU per flow.
// The capture engine (in-process, no files) is fed the same SDK conversations twice per round,
// with the session chain (the default) and without it (`sessionChain: false`, the derived ids the
// capture wrote before), order alternating, and the CPU time of each is compared (paired). Each
// conversation is `--turns` requests of a growing history (a user message, a streamed answer with
// a tool call, the tool's result), like an SDK agent loop.
// Target: the chain adds ≤ 50% CPU per captured SDK flow. This is a worst case: answers of a dozen
// events (real ones have hundreds, which the chain does not add to) and histories of 30 messages on
// average. The chain's work grows with the history, like the parse and redaction of the body the
// capture already does (about 1.6 µs per message here, two thirds of it building the canonical units).
// It runs on the capture thread, not on the relay's.
// Run: pnpm --filter @agenttap/proxy-capture build && node bench/session-chain.bench.mjs [--rounds 5] [--conversations 40] [--turns 30]
import { loadavg } from 'node:os'

const { createCaptureEngine } = await import(new URL('../dist/index.js', import.meta.url).href)

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const ROUNDS = arg('--rounds', 5)
const CONVERSATIONS = arg('--conversations', 40)
const TURNS = arg('--turns', 30)
const enc = new TextEncoder()
const sse = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/** The ops of one flow: an SDK request (no session id) and its streamed answer. */
function flowOps(id, seq, messages, answer, callId) {
  const t = performance.timeOrigin + performance.now()
  const body = enc.encode(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, tools: [{ name: 'run', description: 'Runs a shell command.', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }], messages }))
  const events = [
    sse('message_start', { type: 'message_start', message: { id: `msg_${id}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 900, output_tokens: 1 } } }),
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...answer.match(/.{1,24}/g).map((text) => sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: callId, name: 'run', input: {} } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"command":"ls -la /tmp"}' } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 60 } }),
    sse('message_stop', { type: 'message_stop' }),
  ]
  return [
    ['open', id, { seq, t, method: 'POST', url: 'https://api.anthropic.com/v1/messages', host: 'api.anthropic.com', transport: 'http', headers: { 'content-type': 'application/json', 'user-agent': 'Anthropic/JS 1.17.0', 'x-api-key': 'sk-ant-api03-benchbenchbenchbench' }, clientIp: '127.0.0.1' }],
    ['req', id, body],
    ['head', id, t + 1, 200, { 'content-type': 'text/event-stream' }, true],
    ...events.map((e) => ['body', id, t + 2, enc.encode(e)]),
    ['end', id, t + 3, 'completed', undefined, undefined, false],
  ]
}

/** Every flow of every conversation, in the order an SDK would send them. */
function traffic() {
  const flows = []
  let seq = 0
  for (let c = 0; c < CONVERSATIONS; c++) {
    const messages = [{ role: 'user', content: `bench conversation ${c}: find what fills /tmp and tidy it up, step by step.` }]
    for (let t = 0; t < TURNS; t++) {
      const answer = `Turn ${t} of conversation ${c}: I will look at the directory listing next and report what I find there. `.repeat(3)
      const callId = `toolu_${c}_${t}`
      flows.push(flowOps(`c${c}t${t}`, seq++, messages.slice(), answer, callId))
      messages.push({ role: 'assistant', content: [{ type: 'text', text: answer }, { type: 'tool_use', id: callId, name: 'run', input: { command: 'ls -la /tmp' } }] })
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: callId, content: `total ${t}\n-rw-r--r-- 1 dev dev 4096 file-${t}.log\n`.repeat(4) }] })
    }
  }
  return flows
}

async function run(flows, sessionChain) {
  const sessions = new Set()
  const engine = createCaptureEngine({ rawBodies: 'off', sessionChain, redaction: { hashKey: 'b'.repeat(64) } }, { emit: (r) => r.type === 'flow' && sessions.add(r.session_id), raw: () => undefined, log: () => undefined })
  const c0 = process.cpuUsage()
  const w0 = performance.now()
  for (const ops of flows) engine.apply(ops)
  await engine.drain()
  const cpu = process.cpuUsage(c0)
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - w0, sessions: sessions.size }
}

const flows = traffic()
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
// Warm-up (JIT), both ways.
await run(flows.slice(0, 50), {})
await run(flows.slice(0, 50), false)
const on = []
const off = []
const ratios = []
let sessionsOn = 0
let sessionsOff = 0
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [true, false] : [false, true]
  const got = {}
  for (const chained of order) got[chained] = await run(flows, chained ? {} : false)
  on.push(got[true])
  off.push(got[false])
  ratios.push(got[true].cpuMs / got[false].cpuMs)
  sessionsOn = got[true].sessions
  sessionsOff = got[false].sessions
}
const n = flows.length
const perFlow = (xs, k) => (median(xs.map((x) => x[k])) / n) * 1000
console.log(`session chain bench: ${CONVERSATIONS} conversations × ${TURNS} turns = ${n} SDK flows, ${ROUNDS} rounds, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
console.log(`  chained  : ${perFlow(on, 'cpuMs').toFixed(1)} µs CPU / flow, ${perFlow(on, 'wallMs').toFixed(1)} µs wall / flow, ${sessionsOn} sessions`)
console.log(`  derived  : ${perFlow(off, 'cpuMs').toFixed(1)} µs CPU / flow, ${perFlow(off, 'wallMs').toFixed(1)} µs wall / flow, ${sessionsOff} sessions`)
const overhead = median(ratios) - 1
console.log(`  chain overhead (median of paired CPU ratios): ${(overhead * 100).toFixed(1)}% (rounds: ${ratios.map((r) => `×${r.toFixed(2)}`).join(' ')})`)
console.log(`${sessionsOn === CONVERSATIONS ? 'PASS' : 'MISS'} one session per conversation (${sessionsOn} for ${CONVERSATIONS})`)
console.log(`  chain cost: ${(perFlow(on, 'cpuMs') - perFlow(off, 'cpuMs')).toFixed(1)} µs CPU per SDK flow (medians), histories of ${TURNS * 2 - 1} messages at most`)
console.log(`${overhead <= 0.5 ? 'PASS' : 'MISS'} the chain adds ≤ 50% CPU per captured SDK flow`)
