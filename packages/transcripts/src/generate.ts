import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * Deterministic transcript trees for tests and benchmarks (`@agenttap/transcripts/generate`):
 * - {@link writeTrapTree}: a small tree with one fixture per counting trap (per-block Claude
 *   lines, partial output, a subagent file, 1-hour cache writes, compaction; Codex re-emits,
 *   a fork that replays its parent, a subagent whose counter starts over, compaction, rate
 *   limits), whose true totals are written out in the tests;
 * - {@link writeBulkTree}: a large tree of realistic sessions (big tool results, per-block
 *   lines, re-emits) of a given size, with the true totals of what it wrote;
 * - {@link appendSession}: one more session (the "after one new session" benchmark).
 * Same arguments, same bytes.
 */

/** The true usage of a tree, by the keys tests compare on. */
export interface TreeTruth {
  calls: number
  /** Sums over every call (input excludes cache reads and writes; output includes reasoning). */
  totals: TokenTotals
  /** By UTC day (`YYYY-MM-DD`). */
  byDay: Record<string, TokenTotals>
  bySession: Record<string, TokenTotals>
  byModel: Record<string, TokenTotals>
}

/** Token sums. */
export interface TokenTotals {
  input: number
  cache_read: number
  cache_write_5m: number
  cache_write_1h: number
  output: number
}

const zero = (): TokenTotals => ({ input: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: 0 })

function createTruth(): TreeTruth & { add(day: string, session: string, model: string, t: TokenTotals): void } {
  const truth: TreeTruth = { calls: 0, totals: zero(), byDay: {}, bySession: {}, byModel: {} }
  const add = (into: TokenTotals, t: TokenTotals): void => {
    for (const k of Object.keys(t) as (keyof TokenTotals)[]) into[k] += t[k]
  }
  return {
    ...truth,
    add(day, session, model, t) {
      this.calls++
      add(this.totals, t)
      add((this.byDay[day] ??= zero()), t)
      add((this.bySession[session] ??= zero()), t)
      add((this.byModel[model] ??= zero()), t)
    },
  }
}

/** mulberry32: a small seeded PRNG (same seed, same sequence). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hex = (rnd: () => number, n: number): string => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('')
const uuid = (rnd: () => number): string => `${hex(rnd, 8)}-${hex(rnd, 4)}-4${hex(rnd, 3)}-a${hex(rnd, 3)}-${hex(rnd, 12)}`
const WORDS = 'the of and to in is it that for on with as was at by this be from are or an have not which but all they were can more when will there if out so up about into than them only some could'.split(' ')
const words = (rnd: () => number, n: number): string => Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')
const iso = (ms: number): string => new Date(ms).toISOString()

/** One Claude Code assistant line (one content block of a response). */
export function claudeAssistantLine(o: {
  session: string
  uuid: string
  parent: string | null
  ts: string
  messageId: string
  requestId: string
  model: string
  block: Record<string, unknown>
  stop: string | null
  usage: { input: number; cache_read: number; cache_5m: number; cache_1h: number; output: number }
  agentId?: string
  cwd?: string
}): string {
  return JSON.stringify({
    parentUuid: o.parent,
    isSidechain: o.agentId !== undefined,
    userType: 'external',
    cwd: o.cwd ?? '/home/dev/proj',
    sessionId: o.session,
    version: '2.1.3',
    gitBranch: 'main',
    ...(o.agentId !== undefined ? { agentId: o.agentId } : {}),
    message: {
      id: o.messageId,
      type: 'message',
      role: 'assistant',
      model: o.model,
      content: [o.block],
      stop_reason: o.stop,
      stop_sequence: null,
      usage: {
        input_tokens: o.usage.input,
        cache_creation_input_tokens: o.usage.cache_5m + o.usage.cache_1h,
        cache_read_input_tokens: o.usage.cache_read,
        cache_creation: { ephemeral_5m_input_tokens: o.usage.cache_5m, ephemeral_1h_input_tokens: o.usage.cache_1h },
        output_tokens: o.usage.output,
        service_tier: 'standard',
      },
    },
    requestId: o.requestId,
    type: 'assistant',
    uuid: o.uuid,
    timestamp: o.ts,
  })
}

/** One Claude Code user line (a prompt, or tool results). */
export function claudeUserLine(o: { session: string; uuid: string; parent: string | null; ts: string; content: unknown; agentId?: string }): string {
  return JSON.stringify({
    parentUuid: o.parent,
    isSidechain: o.agentId !== undefined,
    userType: 'external',
    cwd: '/home/dev/proj',
    sessionId: o.session,
    version: '2.1.3',
    gitBranch: 'main',
    ...(o.agentId !== undefined ? { agentId: o.agentId } : {}),
    type: 'user',
    message: { role: 'user', content: o.content },
    uuid: o.uuid,
    timestamp: o.ts,
  })
}

type CodexTotals = { input: number; cached: number; output: number; reasoning: number }
const codexUsage = (t: CodexTotals): Record<string, number> => ({ input_tokens: t.input, cached_input_tokens: t.cached, output_tokens: t.output, reasoning_output_tokens: t.reasoning, total_tokens: t.input + t.output })

/** One Codex rollout line. */
export function codexLine(ts: string, type: string, payload: Record<string, unknown>): string {
  return JSON.stringify({ timestamp: ts, type, payload })
}

/** A Codex `token_count` event line with cumulative and last usage (and optional rate limits). */
export function codexTokenCount(ts: string, total: CodexTotals | null, last: CodexTotals | null, limits?: { primary: number; secondary: number }): string {
  return codexLine(ts, 'event_msg', {
    type: 'token_count',
    info: total === null ? null : { total_token_usage: codexUsage(total), last_token_usage: codexUsage(last ?? total), model_context_window: 272000 },
    ...(limits !== undefined
      ? { rate_limits: { primary: { used_percent: limits.primary, window_minutes: 300, resets_at: 1795000000 }, secondary: { used_percent: limits.secondary, window_minutes: 10080, resets_at: 1795400000 } } }
      : {}),
  })
}

/** Ids of the trap tree (tests refer to them). */
export const TRAP_IDS = {
  claudeSessionA: '1a1a1a1a-0000-4000-a000-00000000000a',
  claudeSessionB: '2b2b2b2b-0000-4000-a000-00000000000b',
  claudeAgent: 'a1b2c3',
  codexSessionC: '019a0000-0000-7000-8000-00000000000c',
  codexForkD: '019a0000-0000-7000-8000-00000000000d',
  codexSubagentE: '019a0000-0000-7000-8000-00000000000e',
  project: '-home-dev-proj',
} as const

/**
 * Writes the trap tree under `root`: `root/claude/projects/…` (a `CLAUDE_CONFIG_DIR`) and
 * `root/codex/sessions/…` (a `CODEX_HOME`). Every trap has its fixture here; the README's
 * table and the tests name them.
 */
export function writeTrapTree(root: string): { claudeDir: string; codexDir: string } {
  const ids = TRAP_IDS
  const claudeDir = join(root, 'claude')
  const codexDir = join(root, 'codex')
  const proj = join(claudeDir, 'projects', ids.project)
  const A = ids.claudeSessionA
  const B = ids.claudeSessionB
  const sonnet = 'claude-sonnet-4-5-20250929'
  const haiku = 'claude-haiku-4-5-20251001'
  const u = (input: number, cache_read: number, cache_5m: number, cache_1h: number, output: number) => ({ input, cache_read, cache_5m, cache_1h, output })
  const a: string[] = [
    claudeUserLine({ session: A, uuid: 'u-a0', parent: null, ts: '2026-11-20T10:00:00.000Z', content: 'fix the failing test in parser.ts' }),
    // Trap: one line per content block, same message.id + requestId, partial output_tokens on the
    // early lines (stop_reason null) and the final count on the last (ccusage #389, #994, #901).
    claudeAssistantLine({ session: A, uuid: 'u-a1', parent: 'u-a0', ts: '2026-11-20T10:00:02.000Z', messageId: 'msg_A1', requestId: 'req_A1', model: sonnet, block: { type: 'thinking', thinking: 'look at parser.ts first', signature: 'sig' }, stop: null, usage: u(10, 1000, 2000, 0, 1) }),
    claudeAssistantLine({ session: A, uuid: 'u-a2', parent: 'u-a1', ts: '2026-11-20T10:00:03.000Z', messageId: 'msg_A1', requestId: 'req_A1', model: sonnet, block: { type: 'text', text: 'Reading the parser.' }, stop: null, usage: u(10, 1000, 2000, 0, 10) }),
    claudeAssistantLine({ session: A, uuid: 'u-a3', parent: 'u-a2', ts: '2026-11-20T10:00:04.000Z', messageId: 'msg_A1', requestId: 'req_A1', model: sonnet, block: { type: 'tool_use', id: 'toolu_A1', name: 'Read', input: { file_path: '/home/dev/proj/parser.ts' } }, stop: 'tool_use', usage: u(10, 1000, 2000, 0, 120) }),
    claudeUserLine({ session: A, uuid: 'u-a4', parent: 'u-a3', ts: '2026-11-20T10:00:05.000Z', content: [{ type: 'tool_result', tool_use_id: 'toolu_A1', content: 'export function parse() {}' }] }),
    // Trap: 1-hour cache writes cost 2× base input, 5-minute ones 1.25× (#899).
    claudeAssistantLine({ session: A, uuid: 'u-a5', parent: 'u-a4', ts: '2026-11-20T10:00:09.000Z', messageId: 'msg_A2', requestId: 'req_A2', model: sonnet, block: { type: 'text', text: 'The parser returns nothing; fixed.' }, stop: 'end_turn', usage: u(5, 3000, 0, 500, 200) }),
    // Compaction, with its token figures.
    JSON.stringify({ parentUuid: 'u-a5', isSidechain: false, userType: 'external', cwd: '/home/dev/proj', sessionId: A, version: '2.1.3', type: 'system', subtype: 'compact_boundary', content: 'Conversation compacted', compactMetadata: { trigger: 'auto', preTokens: 150000 }, uuid: 'u-a6', timestamp: '2026-11-20T23:50:00.000Z', level: 'info' }),
    claudeUserLine({ session: A, uuid: 'u-a7', parent: 'u-a6', ts: '2026-11-21T00:10:00.000Z', content: 'now the docs' }),
    claudeAssistantLine({ session: A, uuid: 'u-a8', parent: 'u-a7', ts: '2026-11-21T00:10:04.000Z', messageId: 'msg_A3', requestId: 'req_A3', model: haiku, block: { type: 'text', text: 'Docs updated.' }, stop: 'end_turn', usage: u(100, 0, 0, 0, 50) }),
  ]
  // Trap: a subagent's file under <session>/subagents/, with the parent's sessionId (#313).
  const s: string[] = [
    claudeUserLine({ session: A, uuid: 'u-s0', parent: null, ts: '2026-11-20T10:00:06.000Z', content: 'find the callers of parse()', agentId: ids.claudeAgent }),
    claudeAssistantLine({ session: A, uuid: 'u-s1', parent: 'u-s0', ts: '2026-11-20T10:00:07.000Z', messageId: 'msg_S1', requestId: 'req_S1', model: haiku, block: { type: 'text', text: 'Two callers.' }, stop: 'end_turn', usage: u(20, 500, 100, 0, 80), agentId: ids.claudeAgent }),
  ]
  const b: string[] = [
    claudeUserLine({ session: B, uuid: 'u-b0', parent: null, ts: '2026-11-21T09:00:00.000Z', content: 'write a changelog' }),
    // Trap: a cache write split between the two TTLs.
    claudeAssistantLine({ session: B, uuid: 'u-b1', parent: 'u-b0', ts: '2026-11-21T09:00:05.000Z', messageId: 'msg_B1', requestId: 'req_B1', model: sonnet, block: { type: 'text', text: 'Changelog written.' }, stop: 'end_turn', usage: u(50, 0, 400, 600, 300) }),
  ]
  mkdirSync(join(proj, A, 'subagents'), { recursive: true })
  writeFileSync(join(proj, `${A}.jsonl`), a.join('\n') + '\n')
  writeFileSync(join(proj, A, 'subagents', `agent-${ids.claudeAgent}.jsonl`), s.join('\n') + '\n')
  writeFileSync(join(proj, `${B}.jsonl`), b.join('\n') + '\n')

  const C = ids.codexSessionC
  const D = ids.codexForkD
  const E = ids.codexSubagentE
  const meta = (ts: string, id: string, extra: Record<string, unknown> = {}) => codexLine(ts, 'session_meta', { id, timestamp: ts, cwd: '/home/dev/proj', originator: 'codex_cli_rs', cli_version: '0.170.0', ...extra })
  const ctx = (ts: string, model: string) => codexLine(ts, 'turn_context', { cwd: '/home/dev/proj', model, effort: 'medium', approval_policy: 'on-request' })
  const t1 = { input: 1000, cached: 200, output: 100, reasoning: 40 }
  const t2 = { input: 2500, cached: 1200, output: 250, reasoning: 100 }
  const t3 = { input: 3000, cached: 1500, output: 300, reasoning: 100 }
  const sub = (x: CodexTotals, y: CodexTotals): CodexTotals => ({ input: x.input - y.input, cached: x.cached - y.cached, output: x.output - y.output, reasoning: x.reasoning - y.reasoning })
  const c: string[] = [
    meta('2026-11-20T11:00:00.000Z', C),
    ctx('2026-11-20T11:00:00.100Z', 'gpt-5'),
    codexLine('2026-11-20T11:00:00.200Z', 'event_msg', { type: 'user_message', message: 'add a --json flag', images: [] }),
    // Rate limits before any usage (info null).
    codexTokenCount('2026-11-20T11:00:00.300Z', null, null, { primary: 12, secondary: 40 }),
    codexTokenCount('2026-11-20T11:00:05.000Z', t1, t1, { primary: 13, secondary: 40 }),
    // Trap: the same token_count written again (ccusage #884, #1288).
    codexTokenCount('2026-11-20T11:00:05.010Z', t1, t1, { primary: 13, secondary: 40 }),
    codexLine('2026-11-20T11:00:05.100Z', 'response_item', { type: 'function_call', name: 'shell', arguments: '{"command":["bash","-lc","rg --json"]}', call_id: 'call_C1' }),
    codexLine('2026-11-20T11:00:06.000Z', 'response_item', { type: 'function_call_output', call_id: 'call_C1', output: '{"output":"src/cli.rs","metadata":{"exit_code":0}}' }),
    codexTokenCount('2026-11-20T11:00:09.000Z', t2, sub(t2, t1), { primary: 14, secondary: 41 }),
    codexTokenCount('2026-11-20T11:00:09.020Z', t2, sub(t2, t1), { primary: 14, secondary: 41 }),
    // Compaction: the compacted item and its event are one compaction.
    codexLine('2026-11-20T11:30:00.000Z', 'compacted', { message: 'summary of the work so far', replacement_history: [] }),
    codexLine('2026-11-20T11:30:00.001Z', 'event_msg', { type: 'context_compacted' }),
    codexTokenCount('2026-11-20T11:31:00.000Z', t3, sub(t3, t2), { primary: 15, secondary: 41 }),
  ]
  // Trap: a fork replays the parent's history, re-stamped at the fork instant (#1349).
  const fork = '2026-11-21T08:00:00.000Z'
  const t4 = { input: 4000, cached: 2000, output: 400, reasoning: 150 }
  const d: string[] = [
    meta(fork, D, { forked_from_id: C }),
    meta(fork, C),
    ctx('2026-11-21T08:00:00.001Z', 'gpt-5'),
    codexTokenCount('2026-11-21T08:00:00.002Z', t1, t1),
    codexTokenCount('2026-11-21T08:00:00.002Z', t2, sub(t2, t1)),
    codexTokenCount('2026-11-21T08:00:00.003Z', t3, sub(t3, t2)),
    codexLine('2026-11-21T08:00:04.000Z', 'event_msg', { type: 'user_message', message: 'try another approach', images: [] }),
    codexTokenCount('2026-11-21T08:00:06.000Z', t4, sub(t4, t3), { primary: 20, secondary: 45 }),
    codexTokenCount('2026-11-21T08:00:06.005Z', t4, sub(t4, t3), { primary: 20, secondary: 45 }),
  ]
  // Trap: a spawned subagent replays part of its parent, then counts from zero (its own thread).
  const spawn = '2026-11-21T12:00:00.000Z'
  const e1 = { input: 600, cached: 100, output: 60, reasoning: 20 }
  const e: string[] = [
    meta(spawn, E, { source: { subagent: { thread_spawn: { parent_thread_id: C, depth: 1, agent_role: 'explorer' } } } }),
    meta(spawn, C),
    ctx('2026-11-21T12:00:00.001Z', 'gpt-5'),
    codexTokenCount('2026-11-21T12:00:00.002Z', t3, sub(t3, t2)),
    codexTokenCount('2026-11-21T12:00:03.000Z', e1, e1),
  ]
  const day = (p: string) => join(codexDir, 'sessions', ...p.split('/'))
  mkdirSync(day('2026/11/20'), { recursive: true })
  mkdirSync(day('2026/11/21'), { recursive: true })
  writeFileSync(join(day('2026/11/20'), `rollout-2026-11-20T11-00-00-${C}.jsonl`), c.join('\n') + '\n')
  writeFileSync(join(day('2026/11/21'), `rollout-2026-11-21T08-00-00-${D}.jsonl`), d.join('\n') + '\n')
  writeFileSync(join(day('2026/11/21'), `rollout-2026-11-21T12-00-00-${E}.jsonl`), e.join('\n') + '\n')
  return { claudeDir, codexDir }
}

/** Options of {@link writeBulkTree}. */
export interface BulkOptions {
  /** About this many bytes in all. */
  bytes: number
  /** @defaultValue 1 */
  seed?: number
  /** Share of the bytes in Codex rollouts. @defaultValue 0.3 */
  codexShare?: number
  /** First day of the sessions. @defaultValue 2026-10-01 */
  start?: string
}

const CLAUDE_MODELS = ['claude-sonnet-4-5-20250929', 'claude-opus-4-5-20251101', 'claude-haiku-4-5-20251001']

/** Writes one realistic Claude session; returns its bytes. */
function claudeSession(root: string, rnd: () => number, startMs: number, truth: ReturnType<typeof createTruth>, turns: number): { path: string; bytes: number } {
  const session = uuid(rnd)
  const project = `-home-dev-proj${Math.floor(rnd() * 8)}`
  const dir = join(root, 'projects', project)
  mkdirSync(dir, { recursive: true })
  const lines: string[] = []
  let t = startMs
  let parent: string | null = null
  const model = CLAUDE_MODELS[Math.floor(rnd() * CLAUDE_MODELS.length)]!
  const push = (l: string, id: string) => {
    lines.push(l)
    parent = id
  }
  let context = 8000
  for (let turn = 0; turn < turns; turn++) {
    let id = uuid(rnd)
    push(claudeUserLine({ session, uuid: id, parent, ts: iso((t += 20_000)), content: words(rnd, 20) }), id)
    const calls = 2 + Math.floor(rnd() * 4)
    for (let k = 0; k < calls; k++) {
      const msg = `msg_${hex(rnd, 24)}`
      const req = `req_${hex(rnd, 24)}`
      const oneHour = rnd() < 0.3
      const write = Math.floor(rnd() * 3000)
      const usage = { input: 1 + Math.floor(rnd() * 50), cache_read: context, cache_5m: oneHour ? 0 : write, cache_1h: oneHour ? write : 0, output: 50 + Math.floor(rnd() * 900) }
      context += write
      const blocks: Record<string, unknown>[] = [{ type: 'thinking', thinking: words(rnd, 40), signature: hex(rnd, 64) }, { type: 'text', text: words(rnd, 30 + Math.floor(rnd() * 100)) }]
      const tool = k < calls - 1
      if (tool) blocks.push({ type: 'tool_use', id: `toolu_${hex(rnd, 24)}`, name: 'Read', input: { file_path: `/home/dev/proj/src/f${Math.floor(rnd() * 100)}.ts` } })
      blocks.forEach((blk, i) => {
        const last = i === blocks.length - 1
        id = uuid(rnd)
        // Early blocks carry the output counted so far.
        push(claudeAssistantLine({ session, uuid: id, parent, ts: iso((t += 1500)), messageId: msg, requestId: req, model, block: blk, stop: last ? (tool ? 'tool_use' : 'end_turn') : null, usage: { ...usage, output: last ? usage.output : Math.max(1, Math.floor((usage.output * (i + 1)) / (blocks.length + 1))) } }), id)
      })
      truth.add(iso(t).slice(0, 10), session, model, { input: usage.input, cache_read: usage.cache_read, cache_write_5m: usage.cache_5m, cache_write_1h: usage.cache_1h, output: usage.output })
      if (tool) {
        id = uuid(rnd)
        // Tool results are most of a transcript's bytes (files read, command output).
        push(claudeUserLine({ session, uuid: id, parent, ts: iso((t += 800)), content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: words(rnd, 400 + Math.floor(rnd() * 2500)) }] }), id)
      }
    }
  }
  const text = lines.join('\n') + '\n'
  const path = join(dir, `${session}.jsonl`)
  writeFileSync(path, text)
  return { path, bytes: Buffer.byteLength(text) }
}

/** Writes one realistic Codex rollout; returns its bytes. */
function codexSession(root: string, rnd: () => number, startMs: number, truth: ReturnType<typeof createTruth>, turns: number): number {
  const session = `019a${hex(rnd, 4)}-${hex(rnd, 4)}-7${hex(rnd, 3)}-8${hex(rnd, 3)}-${hex(rnd, 12)}`
  const d = new Date(startMs)
  const dir = join(root, 'sessions', String(d.getUTCFullYear()), String(d.getUTCMonth() + 1).padStart(2, '0'), String(d.getUTCDate()).padStart(2, '0'))
  mkdirSync(dir, { recursive: true })
  const model = rnd() < 0.5 ? 'gpt-5' : 'gpt-5-codex'
  let t = startMs
  const lines: string[] = [
    codexLine(iso(t), 'session_meta', { id: session, timestamp: iso(t), cwd: '/home/dev/proj', originator: 'codex_cli_rs', cli_version: '0.170.0', instructions: words(rnd, 300) }),
    codexLine(iso((t += 100)), 'turn_context', { cwd: '/home/dev/proj', model, effort: 'medium' }),
  ]
  const total = { input: 0, cached: 0, output: 0, reasoning: 0 }
  for (let turn = 0; turn < turns; turn++) {
    lines.push(codexLine(iso((t += 15_000)), 'event_msg', { type: 'user_message', message: words(rnd, 20), images: [] }))
    const calls = 2 + Math.floor(rnd() * 4)
    for (let k = 0; k < calls; k++) {
      const last = { input: 6000 + Math.floor(rnd() * 20000), cached: 0, output: 40 + Math.floor(rnd() * 800), reasoning: 0 }
      last.cached = Math.floor(last.input * rnd() * 0.9)
      last.reasoning = Math.floor(last.output * rnd() * 0.5)
      lines.push(codexLine(iso((t += 2000)), 'response_item', { type: 'reasoning', summary: [{ type: 'summary_text', text: words(rnd, 30) }], encrypted_content: hex(rnd, 400) }))
      lines.push(codexLine(iso((t += 500)), 'response_item', { type: 'function_call', name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', `cat src/f${k}.rs`] }), call_id: `call_${hex(rnd, 20)}` }))
      for (const f of ['input', 'cached', 'output', 'reasoning'] as const) total[f] += last[f]
      lines.push(codexTokenCount(iso((t += 100)), { ...total }, last, { primary: Math.floor(rnd() * 100), secondary: Math.floor(rnd() * 100) }))
      // Re-emitted now and then.
      if (rnd() < 0.3) lines.push(codexTokenCount(iso((t += 10)), { ...total }, last))
      truth.add(iso(t).slice(0, 10), session, model, { input: last.input - last.cached, cache_read: last.cached, cache_write_5m: 0, cache_write_1h: 0, output: last.output })
      lines.push(codexLine(iso((t += 800)), 'response_item', { type: 'function_call_output', call_id: 'call_x', output: JSON.stringify({ output: words(rnd, 400 + Math.floor(rnd() * 2500)), metadata: { exit_code: 0 } }) }))
    }
  }
  const text = lines.join('\n') + '\n'
  const iso2 = iso(startMs).slice(0, 19).replace(/:/g, '-')
  writeFileSync(join(dir, `rollout-${iso2}-${session}.jsonl`), text)
  return Buffer.byteLength(text)
}

/**
 * Writes a large tree of realistic sessions under `root` (`root/claude`, `root/codex`) until
 * about `bytes` are written; returns the true totals.
 */
export function writeBulkTree(root: string, options: BulkOptions): TreeTruth & { claudeDir: string; codexDir: string; bytes: number } {
  const rnd = prng(options.seed ?? 1)
  const truth = createTruth()
  const claudeDir = join(root, 'claude')
  const codexDir = join(root, 'codex')
  const share = options.codexShare ?? 0.3
  let start = Date.parse(options.start ?? '2026-10-01T08:00:00.000Z')
  let claudeBytes = 0
  let codexBytes = 0
  while (claudeBytes + codexBytes < options.bytes) {
    start += Math.floor(rnd() * 4 * 3600_000)
    const turns = 3 + Math.floor(rnd() * 10)
    if (codexBytes < (claudeBytes + codexBytes) * share) codexBytes += codexSession(codexDir, rnd, start, truth, turns)
    else claudeBytes += claudeSession(claudeDir, rnd, start, truth, turns).bytes
  }
  const { add: _add, ...plain } = truth
  return { ...plain, claudeDir, codexDir, bytes: claudeBytes + codexBytes }
}

/** Adds one new Claude session to a bulk tree (the "after one new session" case); returns its file and bytes. */
export function appendSession(claudeDir: string, seed: number, startIso = '2026-12-01T08:00:00.000Z'): { path: string; bytes: number } {
  const rnd = prng(seed)
  return claudeSession(claudeDir, rnd, Date.parse(startIso), createTruth(), 8)
}

/** Appends lines to a file (creating its directory). */
export function appendLines(path: string, lines: string[]): void {
  mkdirSync(dirname(path), { recursive: true })
  appendFileSync(path, lines.join('\n') + '\n')
}
