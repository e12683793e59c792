/**
 * A corpus of agent sessions with planted cache breaks, as capture records a real ledger reads.
 *
 * Requests are real Anthropic Messages / OpenAI Responses bodies. Their usage comes from a small
 * simulation of the provider's prompt cache, written here independently of the analysis (it
 * works on the raw JSON, not on the ledger's segments):
 * - Anthropic: prefixes are stored at `cache_control` breakpoints with their TTL (refreshed on a
 *   hit); a request reads the longest stored prefix found at one of its breakpoints or up to 20
 *   segments before it; what lies between that and its last breakpoint is written (the part up
 *   to its last 1-hour breakpoint at 1 h, the rest at 5 min); the rest is uncached input;
 * - OpenAI: every request's prefixes are stored (5-minute idle TTL) per `prompt_cache_key` and
 *   model; a request reads its longest stored prefix, in 128-token steps from 1024.
 * Tokens are `ceil(bytes / 4)` of each segment's JSON. Caches are per model.
 *
 * Each planted change says what a correct analysis must report: the cause (and kind of message
 * change), the byte offset of the first divergent segment (from this file's own serialization),
 * and the wasted dollars (the issue's rule: rewritten tokens × (write − read price)).
 */
import { createHash } from 'node:crypto'

export interface Truth {
  flow_id: string
  cause: string
  change?: string
  offset: number | null
  wasted_usd: number
}

export interface Corpus {
  records: Record<string, unknown>[]
  truths: Truth[]
  /** Every model call's flow id, with the number of calls. */
  calls: number
  scenarios: string[]
}

type Json = Record<string, unknown>

const stripCC = (v: unknown): string => JSON.stringify(v, (k, x: unknown) => (k === 'cache_control' ? undefined : x))
const bytes = (s: string): number => Buffer.byteLength(s)
const tokensOf = (s: string): number => Math.ceil(bytes(s) / 4)
const h = (prev: string, s: string): string => createHash('sha256').update(prev).update('\n').update(s).digest('hex').slice(0, 24)

interface Seg {
  json: string
  bp?: '5m' | '1h'
}

function ttlOf(v: unknown): '5m' | '1h' | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const cc = (v as Json)['cache_control'] as Json | undefined
  if (cc === undefined) return undefined
  return cc['ttl'] === '1h' ? '1h' : '5m'
}

/** The segments of a body in cache order (this file's own reading of the providers' order). */
export function segmentsOf(body: Json, api: 'anthropic' | 'openai'): Seg[] {
  const out: Seg[] = []
  const push = (v: unknown, bp?: '5m' | '1h'): void => {
    out.push(bp === undefined ? { json: stripCC(v) } : { json: stripCC(v), bp })
  }
  if (api === 'anthropic') {
    for (const t of (body['tools'] as unknown[]) ?? []) push(t, ttlOf(t))
    const sys = body['system']
    if (Array.isArray(sys)) for (const b of sys) push(b, ttlOf(b))
    for (const m of (body['messages'] as Json[]) ?? []) {
      let bp: '5m' | '1h' | undefined
      const c = m['content']
      if (Array.isArray(c)) for (const b of c) bp = ttlOf(b) ?? bp
      push(m, bp)
    }
  } else {
    if (typeof body['instructions'] === 'string') push(body['instructions'])
    for (const t of (body['tools'] as unknown[]) ?? []) push(t)
    for (const it of (body['input'] as unknown[]) ?? []) push(it)
  }
  return out
}

/** Byte offset of segment `i` in the canonical request. */
export const offsetOf = (segs: Seg[], i: number): number => segs.slice(0, i).reduce((n, s) => n + bytes(s.json), 0)

interface Usage {
  input: number
  read: number
  w5: number
  w1: number
}

/** The simulated provider caches. */
class ProviderCache {
  private entries = new Map<string, { expires: number; ttl: number; scope: string }>()

  anthropic(scope: string, model: string, segs: Seg[], now: number): Usage {
    const cum: number[] = [0]
    const keys: string[] = [model]
    for (const s of segs) {
      cum.push(cum[cum.length - 1]! + tokensOf(s.json))
      keys.push(h(keys[keys.length - 1]!, s.json))
    }
    const bps = segs.map((s, i) => (s.bp ? i + 1 : -1)).filter((i) => i > 0)
    let readEnd = 0
    for (const b of bps) {
      for (let k = b; k >= Math.max(1, b - 20); k--) {
        const e = this.entries.get(keys[k]!)
        if (e !== undefined && e.expires >= now) {
          if (k > readEnd) readEnd = k
          break
        }
      }
    }
    const last = bps.length > 0 ? bps[bps.length - 1]! : 0
    const last1h = Math.max(0, ...segs.map((s, i) => (s.bp === '1h' ? i + 1 : 0)))
    const read = cum[readEnd]!
    const writeEnd = Math.max(last, readEnd)
    const w1 = Math.max(0, cum[Math.max(last1h, readEnd)]! - read)
    const w5 = cum[writeEnd]! - read - w1
    // Stored (or refreshed) at every breakpoint.
    for (const b of bps) {
      const ttl = segs[b - 1]!.bp === '1h' ? 3_600_000 : 300_000
      this.entries.set(keys[b]!, { expires: now + ttl, ttl, scope })
    }
    if (readEnd > 0) {
      const e = this.entries.get(keys[readEnd]!)!
      e.expires = now + e.ttl
    }
    return { input: cum[segs.length]! - cum[writeEnd]!, read, w5, w1 }
  }

  openai(scope: string, model: string, pck: string, segs: Seg[], now: number): Usage {
    const cum: number[] = [0]
    const keys: string[] = [`${model}\u0000${pck}`]
    for (const s of segs) {
      cum.push(cum[cum.length - 1]! + tokensOf(s.json))
      keys.push(h(keys[keys.length - 1]!, s.json))
    }
    let hit = 0
    for (let k = segs.length; k >= 1; k--) {
      const e = this.entries.get(keys[k]!)
      if (e !== undefined && e.expires >= now) {
        hit = cum[k]!
        break
      }
    }
    const read = hit >= 1024 ? Math.floor(hit / 128) * 128 : 0
    for (let k = 1; k <= segs.length; k++) this.entries.set(keys[k]!, { expires: now + 300_000, ttl: 300_000, scope })
    return { input: cum[segs.length]! - read, read, w5: 0, w1: 0 }
  }

  /** The provider drops one scenario's entries (the others' stay). */
  evict(scope: string): void {
    for (const [k, e] of this.entries) if (e.scope === scope) this.entries.delete(k)
  }
}

/** USD per million tokens of the models the corpus uses (the ledger's bundled table). */
const PRICE: Record<string, { input: number; read: number; w5: number; w1: number }> = {
  'claude-sonnet-4-5-20250929': { input: 3, read: 0.3, w5: 3.75, w1: 6 },
  'claude-opus-4-5-20251101': { input: 5, read: 0.5, w5: 6.25, w1: 10 },
  'claude-haiku-4-5': { input: 1, read: 0.1, w5: 1.25, w1: 2 },
  'gpt-5-codex': { input: 1.25, read: 0.125, w5: 1.25, w1: 2.5 },
}

const round8 = (x: number): number => Math.round(x * 1e8) / 1e8

/** The issue's rule: rewritten tokens × (write − read price); the 1-hour writes first (they are the prefix). */
function waste(model: string, openai: boolean, lost: number, u: Usage): number {
  const p = PRICE[model]!
  if (openai) return round8((lost * (p.input - p.read)) / 1e6)
  const a = Math.min(u.w1, lost)
  const b = Math.min(u.w5, lost - a)
  return round8((a * (p.w1 - p.read) + b * (p.w5 - p.read) + (lost - a - b) * (p.input - p.read)) / 1e6)
}

// ── content ──────────────────────────────────────────────────────────────────────────────────

const filler = (seed: string, n: number): string => {
  let out = ''
  let i = 0
  while (out.length < n) out += `${seed} line ${i++}: keep edits small, run the tests, read before you write. `
  return out.slice(0, n)
}

const toolDef = (name: string, size = 900): Json => ({ name, description: filler(`${name} tool`, size), input_schema: { type: 'object', properties: { arg: { type: 'string' } }, required: ['arg'] } })

const BASE_TOOLS = ['Bash', 'Read', 'Edit', 'Write', 'Grep', 'Glob', 'WebFetch', 'TodoWrite']

interface Step {
  /** Minutes since the previous call of the scenario started. */
  gapMin: number
  /** Mutates the conversation before the request is built. */
  mutate?: (s: ConvState) => void
  /** The planted break this call must be reported as. */
  expect?: { cause: string; change?: string; at?: (prev: Seg[], next: Seg[]) => number | null }
  evict?: boolean
  model?: string
  pck?: string
}

interface ConvState {
  tools: Json[]
  system: Json[]
  messages: Json[]
  /** Responses input items. */
  input: Json[]
  instructions: string
}

/** The first index where two segment lists differ (the corpus's own, for planted offsets). */
const firstDiff = (a: Seg[], b: Seg[]): number => {
  let i = 0
  while (i < a.length && i < b.length && a[i]!.json === b[i]!.json) i++
  return i
}

const divergence = (prev: Seg[], next: Seg[]): number => offsetOf(next, firstDiff(prev, next))

interface Scenario {
  name: string
  api: 'anthropic' | 'openai'
  session: string
  agent?: string
  model: string
  /** 1h breakpoints on the system blocks (and on messages when `allHour`). */
  systemTtl?: '5m' | '1h'
  messageTtl?: '5m' | '1h'
  tools?: Json[]
  steps: Step[]
  /** Starts at this minute of the corpus clock. */
  startMin: number
}

function anthropicBody(s: ConvState, model: string, msgTtl: '5m' | '1h'): Json {
  const messages = s.messages.map((m, i) => {
    if (i !== s.messages.length - 1) return m
    const c = Array.isArray(m['content']) ? (m['content'] as Json[]) : [{ type: 'text', text: String(m['content']) }]
    const lastBlock = { ...c[c.length - 1]!, cache_control: msgTtl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' } }
    return { ...m, content: [...c.slice(0, -1), lastBlock] }
  })
  return { model, max_tokens: 32000, stream: true, tools: s.tools, system: s.system, messages }
}

function responsesBody(s: ConvState, model: string, pck: string): Json {
  return { model, instructions: s.instructions, tools: s.tools.map((t) => ({ type: 'function', name: t['name'], description: t['description'], parameters: t['input_schema'] })), input: s.input, stream: true, prompt_cache_key: pck }
}

let flowSeq = 0

/**
 * Rate-limit headers: the account's 5-hour window grows by 0.4 % per Anthropic call (a 0.6 %
 * step per Codex call), the interleaved sessions sharing it; past 100 % it starts a new window.
 */
function rateHeaders(api: 'anthropic' | 'openai', n: number): Record<string, string> {
  if (api === 'anthropic') {
    const used = (n * 0.004) % 1
    return { 'content-type': 'text/event-stream', 'anthropic-ratelimit-unified-status': 'allowed', 'anthropic-ratelimit-unified-5h-utilization': used.toFixed(3), 'anthropic-ratelimit-unified-5h-reset': '1795680000' }
  }
  return { 'content-type': 'text/event-stream', 'x-codex-primary-used-percent': ((n * 0.6) % 100).toFixed(1), 'x-codex-primary-window-minutes': '300' }
}

function records(sc: Scenario, flow: string, at: number, body: Json, u: Usage, model: string, idx: number): Record<string, unknown>[] {
  const ts = (dms: number): string => new Date(at + dms).toISOString()
  const base = { v: 1, flow_id: flow, session_id: sc.session }
  const rec: Record<string, unknown>[] = []
  const reqHeaders: Record<string, string> = { 'content-type': 'application/json', 'user-agent': sc.api === 'anthropic' ? 'claude-cli/2.0.30 (external, cli)' : 'codex_cli_rs/0.50.0' }
  const flowRec: Record<string, unknown> = {
    ...base, type: 'flow', ts: ts(0), flow_seq: ++flowSeq, client: sc.api === 'anthropic' ? 'claude-code' : 'codex', provider: sc.api, session_source: 'header:x-claude-code-session-id',
    method: 'POST', url: sc.api === 'anthropic' ? 'https://api.anthropic.com/v1/messages?beta=true' : 'https://chatgpt.com/backend-api/codex/responses', status: 200,
    request_headers: reqHeaders, response_headers: rateHeaders(sc.api, flowSeq), request_body: structuredClone(body),
  }
  if (sc.agent !== undefined) flowRec['subagent'] = sc.agent
  rec.push(flowRec)
  const events: [string, Json][] = []
  if (sc.api === 'anthropic') {
    events.push(['message_start', { type: 'message_start', message: { id: `msg_${flow}`, type: 'message', role: 'assistant', model, content: [], usage: { input_tokens: u.input, cache_read_input_tokens: u.read, cache_creation_input_tokens: u.w5 + u.w1, cache_creation: { ephemeral_5m_input_tokens: u.w5, ephemeral_1h_input_tokens: u.w1 }, output_tokens: 1 } } }])
    events.push(['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }])
    events.push(['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `answer ${idx}` } }])
    events.push(['content_block_stop', { type: 'content_block_stop', index: 0 }])
    events.push(['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 12 } }])
    events.push(['message_stop', { type: 'message_stop' }])
  } else {
    events.push(['response.created', { type: 'response.created', response: { id: `resp_${flow}`, status: 'in_progress', model, output: [] } }])
    events.push(['response.output_text.delta', { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: `answer ${idx}` }])
    events.push(['response.completed', { type: 'response.completed', response: { id: `resp_${flow}`, status: 'completed', model, output: [{ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${idx}` }] }], usage: { input_tokens: u.input + u.read, input_tokens_details: { cached_tokens: u.read }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 0 } } } }])
  }
  events.forEach(([event, data], seq) => rec.push({ ...base, type: 'sse', ts: ts(200 + seq), seq, t_ms: 200 + seq, event, data: JSON.stringify(data) }))
  rec.push({ ...base, type: 'flow_end', ts: ts(2000), outcome: 'completed', status: 200, events: events.length, bytes: 1000, ttfb_ms: 200, duration_ms: 2000 })
  return rec
}

function userMsg(text: string, reminder?: string): Json {
  const content: Json[] = []
  if (reminder !== undefined) content.push({ type: 'text', text: `<system-reminder>${reminder}</system-reminder>` })
  content.push({ type: 'text', text })
  return { role: 'user', content }
}

function assistantMsg(i: number, thinking: boolean): Json {
  const content: Json[] = []
  if (thinking) content.push({ type: 'thinking', thinking: filler(`thought ${i}`, 400), signature: `sig${i}` })
  content.push({ type: 'text', text: `Done with step ${i}. ${filler(`step ${i}`, 300)}` })
  content.push({ type: 'tool_use', id: `toolu_${i}`, name: 'Bash', input: { command: `make step${i}` } })
  return { role: 'assistant', content }
}

const toolResult = (i: number, text?: string): Json => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: text ?? `ok ${i}: ${filler(`out ${i}`, 600)}` }] })

/** Appends one agent turn (assistant tool call + its result) to the conversation. */
function grow(s: ConvState, i: number, thinking = true): void {
  s.messages.push(assistantMsg(i, thinking), toolResult(i))
  s.input.push({ type: 'function_call', call_id: `call_${i}`, name: 'shell', arguments: JSON.stringify({ command: ['make', `step${i}`] }) }, { type: 'function_call_output', call_id: `call_${i}`, output: `ok ${i}: ${filler(`out ${i}`, 600)}` })
}

function initial(sc: Scenario): ConvState {
  const ttl = sc.systemTtl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' }
  return {
    tools: (sc.tools ?? BASE_TOOLS.map((n) => toolDef(n))).map((t) => ({ ...t })),
    system: [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: ttl },
      { type: 'text', text: `${filler(`${sc.name} system`, 6000)}\ngitStatus: clean`, cache_control: ttl },
    ],
    messages: [userMsg(`Task for ${sc.name}: fix the failing build`, 'The todo list is empty.')],
    input: [{ role: 'user', content: [{ type: 'input_text', text: `Task for ${sc.name}: fix the failing build` }] }],
    instructions: filler(`${sc.name} codex instructions`, 9000),
  }
}

/** Runs every scenario on one provider simulation and one corpus clock. */
function build(scenarios: Scenario[]): Corpus {
  const T0 = Date.parse('2026-11-20T09:00:00.000Z')
  const cache = new ProviderCache()
  // Every call of every scenario, on one clock (interleaved between scenarios and lanes).
  interface Planned { sc: Scenario; at: number; step: Step; idx: number }
  const planned: Planned[] = []
  for (const sc of scenarios) {
    // Scenarios one second apart: no two responses at the same instant.
    let t = T0 + sc.startMin * 60_000 + scenarios.indexOf(sc) * 1000
    sc.steps.forEach((step, idx) => {
      t += step.gapMin * 60_000
      planned.push({ sc, at: t, step, idx })
    })
  }
  planned.sort((a, b) => a.at - b.at)
  const state = new Map<Scenario, { conv: ConvState; prevSegs?: Seg[]; prevCached?: number; turn: number; model: string; pck: string }>()
  const records_: Record<string, unknown>[] = []
  const truths: Truth[] = []
  for (const p of planned) {
    const { sc, step } = p
    let st = state.get(sc)
    if (st === undefined) {
      st = { conv: initial(sc), turn: 0, model: sc.model, pck: `pck-${sc.session}` }
      state.set(sc, st)
    } else {
      grow(st.conv, ++st.turn, sc.name !== 'no-thinking')
    }
    step.mutate?.(st.conv)
    const model = step.model ?? sc.model
    if (step.pck !== undefined) st.pck = step.pck
    const body = sc.api === 'anthropic' ? anthropicBody(st.conv, model, sc.messageTtl ?? '5m') : responsesBody(st.conv, model, st.pck)
    const segs = segmentsOf(body, sc.api)
    if (step.evict) cache.evict(sc.name)
    const u = sc.api === 'anthropic' ? cache.anthropic(sc.name, model, segs, p.at) : cache.openai(sc.name, model, st.pck, segs, p.at)
    const flow = `${sc.name}-${p.idx}`
    records_.push(...records(sc, flow, p.at, body, u, model, p.idx))
    if (step.expect !== undefined) {
      const prevSegs = st.prevSegs ?? []
      const expected = st.prevCached ?? 0
      const lost = Math.max(0, Math.min(expected - u.read, u.input + u.w5 + u.w1))
      const at = step.expect.at === undefined ? divergence(prevSegs, segs) : step.expect.at(prevSegs, segs)
      const t: Truth = { flow_id: flow, cause: step.expect.cause, offset: at, wasted_usd: waste(model, sc.api === 'openai', lost, u) }
      if (step.expect.change !== undefined) t.change = step.expect.change
      truths.push(t)
    }
    st.prevSegs = segs
    st.prevCached = sc.api === 'openai' ? u.input + u.read : u.read + u.w5 + u.w1
    st.model = model
  }
  return { records: records_, truths, calls: planned.length, scenarios: scenarios.map((s) => s.name) }
}

const intact = (): null => null
const normal = (n: number, gapMin = 1): Step[] => Array.from({ length: n }, () => ({ gapMin }))

/** The corpus: every cause, several breakpoints, subagent lanes interleaved, idle-but-hit sequences. */
export function buildCorpus(): Corpus {
  flowSeq = 0
  const S: Scenario[] = []
  let start = 0
  const sc = (name: string, steps: Step[], extra: Partial<Scenario> = {}): void => {
    S.push({ name, api: 'anthropic', session: `sess-${name}`, model: 'claude-sonnet-4-5-20250929', steps, startMin: start, ...extra })
    start += 3
  }
  // Idle but hit: gaps under the 5-minute TTL, and 40-minute gaps with 1-hour breakpoints.
  sc('steady', normal(8, 1))
  sc('idle-4min', [...normal(2), { gapMin: 4.5 }, { gapMin: 4.8 }, ...normal(2)])
  sc('idle-1h-ttl', [...normal(2), { gapMin: 40 }, { gapMin: 55 }, ...normal(1)], { systemTtl: '1h', messageTtl: '1h' })
  // TTL expiry: everything 5 min; and a 1-hour system prefix with 5-minute messages (the prefix still reads).
  sc('ttl-5m', [...normal(3), { gapMin: 7, expect: { cause: 'ttl_expiry', at: intact } }, ...normal(2)])
  sc('ttl-mixed', [...normal(3), { gapMin: 12, expect: { cause: 'ttl_expiry', at: intact } }, ...normal(1)], { systemTtl: '1h' })
  sc('ttl-1h', [...normal(2), { gapMin: 75, expect: { cause: 'ttl_expiry', at: intact } }, ...normal(1)], { systemTtl: '1h', messageTtl: '1h' })
  // Model switch and back (the first model's cache is still warm: no break on the way back).
  sc('model-switch', [...normal(3), { gapMin: 1, model: 'claude-opus-4-5-20251101', expect: { cause: 'model_switch', at: intact } }, { gapMin: 1 }, ...normal(2)])
  // Tools: added (an MCP server connected), removed, edited.
  sc('tool-added', [...normal(3), { gapMin: 1, mutate: (s) => void s.tools.push(toolDef('mcp__github__create_issue', 700)), expect: { cause: 'tools_changed' } }, ...normal(2)])
  sc('tool-removed', [...normal(2), { gapMin: 1, mutate: (s) => void s.tools.splice(2, 1), expect: { cause: 'tools_changed' } }, ...normal(1)])
  sc('tool-edited', [...normal(2), { gapMin: 1, mutate: (s) => void (s.tools[5] = { ...s.tools[5]!, description: `${String(s.tools[5]!['description'])} (v2)` }), expect: { cause: 'tools_changed' } }, ...normal(1)])
  // System: the git status block changed; with two system breakpoints, block 0 still reads.
  sc('system-edited', [...normal(3), { gapMin: 1, mutate: (s) => void (s.system[1] = { ...s.system[1]!, text: String(s.system[1]!['text']).replace('gitStatus: clean', 'gitStatus: M src/a.ts') }), expect: { cause: 'system_changed' } }, ...normal(2)])
  // Messages: a reminder changed in the first user message; thinking stripped from an old turn;
  // a middle pair removed; a tool result edited; the history compacted.
  sc('reminder', [...normal(3), { gapMin: 1, mutate: (s) => void (s.messages[0] = userMsg(`Task for reminder: fix the failing build`, 'The todo list has 2 items.')), expect: { cause: 'message_changed', change: 'reminder' } }, ...normal(2)])
  sc('thinking-stripped', [...normal(4), { gapMin: 1, mutate: (s) => void (s.messages[3] = { ...s.messages[3]!, content: (s.messages[3]!['content'] as Json[]).filter((b) => b['type'] !== 'thinking') }), expect: { cause: 'message_changed', change: 'thinking_stripped' } }, ...normal(2)])
  sc('message-removed', [...normal(4), { gapMin: 1, mutate: (s) => void s.messages.splice(3, 2), expect: { cause: 'message_changed', change: 'removed' } }, ...normal(1)])
  sc('message-edited', [...normal(4), { gapMin: 1, mutate: (s) => void (s.messages[4] = toolResult(2, 'output truncated by the client')), expect: { cause: 'message_changed', change: 'edited' } }, ...normal(1)])
  const compact = (text: string) => (s: ConvState): void => void s.messages.splice(0, s.messages.length, userMsg(`This session is being continued from a previous conversation that ran out of context. The conversation is summarized below: ${filler(text, 800)}`), userMsg('continue'))
  sc('compaction', [...normal(5), { gapMin: 1, mutate: compact('summary'), expect: { cause: 'message_changed', change: 'compaction' } }, ...normal(2)])
  // Compacted again: the new summary replaces the one the history began with.
  sc('recompaction', [...normal(3), { gapMin: 1, mutate: compact('summary'), expect: { cause: 'message_changed', change: 'compaction' } }, ...normal(3), { gapMin: 1, mutate: compact('second summary'), expect: { cause: 'message_changed', change: 'compaction' } }, ...normal(1)])
  // Provider-side: the prefix was sent intact within its TTL and still not read.
  sc('provider', [...normal(3), { gapMin: 1, evict: true, expect: { cause: 'provider', at: intact } }, ...normal(2)])
  // Subagent lanes interleaved with the main lane of one session: different tools and system, no break.
  const session = 'sess-main-with-agents'
  S.push({ name: 'main-lane', api: 'anthropic', session, model: 'claude-sonnet-4-5-20250929', steps: normal(8, 1), startMin: start })
  S.push({ name: 'agent-a', api: 'anthropic', session, agent: 'agent-a', model: 'claude-sonnet-4-5-20250929', tools: ['Read', 'Grep', 'Glob'].map((n) => toolDef(n, 500)), steps: [{ gapMin: 0.5 }, ...normal(5, 1)], startMin: start })
  S.push({ name: 'agent-b', api: 'anthropic', session, agent: 'agent-b', model: 'claude-haiku-4-5', tools: ['Bash'].map((n) => toolDef(n, 500)), steps: [{ gapMin: 0.7 }, { gapMin: 1 }, { gapMin: 1, mutate: (s) => void (s.messages[0] = userMsg('Task for agent-b: fix the failing build', 'Files changed on disk.')), expect: { cause: 'message_changed', change: 'reminder' } }, ...normal(3, 1)], startMin: start })
  start += 3
  // OpenAI Responses: steady growth hits; the cache key changes; instructions change; tools change; TTL.
  const ox = (name: string, steps: Step[]): void => {
    S.push({ name, api: 'openai', session: `sess-${name}`, model: 'gpt-5-codex', steps, startMin: start })
    start += 3
  }
  ox('codex-steady', normal(6, 1))
  ox('codex-key', [...normal(3), { gapMin: 1, pck: 'pck-other', expect: { cause: 'cache_key_changed', at: intact } }, ...normal(2)])
  ox('codex-instructions', [...normal(3), { gapMin: 1, mutate: (s) => void (s.instructions = `${s.instructions}\n# AGENTS.md changed`), expect: { cause: 'system_changed' } }, ...normal(1)])
  ox('codex-tools', [...normal(2), { gapMin: 1, mutate: (s) => void s.tools.splice(1, 0, toolDef('view_image', 400)), expect: { cause: 'tools_changed' } }, ...normal(1)])
  ox('codex-ttl', [...normal(2), { gapMin: 70, expect: { cause: 'ttl_expiry', at: intact } }, ...normal(1)])
  // Breakpoints only in tools, system and messages of an agent with 1h system and several system blocks already covered above.
  return build(S)
}

/** The breaks the naive rule flags (`cache_read(N) < cache_read(N-1) + cache_write(N-1)`, per session). */
export function naiveBreaks(calls: { flow_id: string; session_id: string; started_at: string; usage?: { cache_read: number; cache_write_5m: number; cache_write_1h: number } | undefined }[]): string[] {
  const sorted = [...calls].filter((c) => c.usage !== undefined).sort((a, b) => (a.started_at < b.started_at ? -1 : 1))
  const last = new Map<string, number>()
  const out: string[] = []
  for (const c of sorted) {
    const u = c.usage!
    const prev = last.get(c.session_id)
    if (prev !== undefined && u.cache_read < prev) out.push(c.flow_id)
    last.set(c.session_id, u.cache_read + u.cache_write_5m + u.cache_write_1h)
  }
  return out
}
