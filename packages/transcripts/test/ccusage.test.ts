import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelCall } from '@agenttap/ledger'
import { findTranscripts, importTranscripts, startCursors } from '../src/index.ts'
import { TRAP_IDS, writeTrapTree } from '../src/generate.ts'

// ccusage 20.0.24 (npm; a native binary in an optional dependency) on the same generated trap
// tree as ours: equal totals wherever ccusage counts right, and every difference is one of the
// traps, with the fixture that shows it (the table in the README).
const run = promisify(execFile)
const cli = join(dirname(createRequire(import.meta.url).resolve('ccusage/package.json')), 'src', 'cli.js')

let root: string
let env: Record<string, string>
let calls: ModelCall[]
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'transcripts-ccusage-'))
  const d = writeTrapTree(root)
  mkdirSync(join(root, 'home'))
  // ccusage finds every agent under HOME: an empty one, and the tree through the agents' variables.
  env = { PATH: process.env.PATH ?? '', HOME: join(root, 'home'), CLAUDE_CONFIG_DIR: d.claudeDir, CODEX_HOME: d.codexDir, TZ: 'UTC', NO_COLOR: '1' }
  calls = (await importTranscripts(startCursors(findTranscripts({ claude: [d.claudeDir], codex: [d.codexDir] })))).calls
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

async function ccusage(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [cli, ...args, '--json', '--offline', '--timezone', 'UTC'], { env, maxBuffer: 64 << 20 })
  return JSON.parse(stdout) as Record<string, unknown>
}

/** List prices (USD per million tokens) both tools use for these models; 1-hour cache writes at 2× input. */
const PRICES: Record<string, { input: number; output: number; cache_read: number; cache_write: number; cache_write_1h: number }> = {
  'claude-sonnet-4-5-20250929': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, cache_write_1h: 6 },
  'claude-haiku-4-5-20251001': { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25, cache_write_1h: 2 },
  'gpt-5': { input: 1.25, output: 10, cache_read: 0.125, cache_write: 0, cache_write_1h: 0 },
}
const cost = (c: ModelCall): number => {
  const p = PRICES[c.model!]!
  const u = c.usage!
  return (u.input * p.input + u.cache_read * p.cache_read + u.cache_write_5m * p.cache_write + u.cache_write_1h * p.cache_write_1h + u.output * p.output) / 1e6
}
type Tot = { input: number; cache_read: number; cache_write: number; output: number; cost: number }
function ours(filter: (c: ModelCall) => boolean, by: (c: ModelCall) => string): Record<string, Tot> {
  const out: Record<string, Tot> = {}
  for (const c of calls.filter(filter)) {
    const t = (out[by(c)] ??= { input: 0, cache_read: 0, cache_write: 0, output: 0, cost: 0 })
    t.input += c.usage!.input
    t.cache_read += c.usage!.cache_read
    t.cache_write += c.usage!.cache_write_5m + c.usage!.cache_write_1h
    t.output += c.usage!.output
    t.cost += cost(c)
  }
  return out
}
const round = (t: Tot): Tot => ({ ...t, cost: Math.round(t.cost * 1e9) / 1e9 })
const n = (v: unknown): number => Number(v ?? 0)

/** Every place where the two disagree: key, field, ccusage's value, ours. */
function differences(theirs: Record<string, Tot>, mine: Record<string, Tot>): [string, string, number, number][] {
  const out: [string, string, number, number][] = []
  for (const k of [...new Set([...Object.keys(theirs), ...Object.keys(mine)])].sort()) {
    for (const f of ['input', 'cache_read', 'cache_write', 'output', 'cost'] as const) {
      const a = round(theirs[k] ?? { input: 0, cache_read: 0, cache_write: 0, output: 0, cost: 0 })[f]
      const b = round(mine[k] ?? { input: 0, cache_read: 0, cache_write: 0, output: 0, cost: 0 })[f]
      if (a !== b) out.push([k, f, a, b])
    }
  }
  return out
}

const claude = (c: ModelCall) => c.source === 'claude-transcript'
const codex = (c: ModelCall) => c.source === 'codex-rollout'

describe('ccusage 20.0.24 on the trap tree', () => {
  it('Claude Code daily: equal per day and model (per-block lines, partial output, subagents and 1-hour cache writes all agree)', async () => {
    const j = await ccusage('claude', 'daily')
    const theirs: Record<string, Tot> = {}
    for (const d of j.daily as Record<string, unknown>[]) {
      for (const m of d.modelBreakdowns as Record<string, unknown>[]) {
        theirs[`${String(d.date)} ${String(m.modelName)}`] = { input: n(m.inputTokens), cache_read: n(m.cacheReadTokens), cache_write: n(m.cacheCreationTokens), output: n(m.outputTokens), cost: n(m.cost) }
      }
    }
    expect(differences(theirs, ours(claude, (c) => `${c.started_at.slice(0, 10)} ${c.model}`))).toEqual([])
    expect(Object.keys(theirs)).toHaveLength(4)
  }, 60_000)

  it('Claude Code sessions: equal per session (the subagent file counts for its parent session)', async () => {
    const j = await ccusage('claude', 'session')
    const theirs: Record<string, Tot> = {}
    for (const s of j.sessions as Record<string, unknown>[]) {
      theirs[String(s.sessionId)] = { input: n(s.inputTokens), cache_read: n(s.cacheReadTokens), cache_write: n(s.cacheCreationTokens), output: n(s.outputTokens), cost: n(s.totalCost) }
    }
    expect(differences(theirs, ours(claude, (c) => c.session_id))).toEqual([])
    expect(Object.keys(theirs).sort()).toEqual([TRAP_IDS.claudeSessionA, TRAP_IDS.claudeSessionB])
  }, 60_000)

  it('Codex daily and sessions: equal except the spawned subagent, whose replayed parent usage ccusage counts (#1349)', async () => {
    const day = await ccusage('codex', 'daily')
    const theirsDay: Record<string, Tot> = {}
    for (const d of day.daily as Record<string, unknown>[]) {
      theirsDay[String(d.date)] = { input: n(d.inputTokens), cache_read: n(d.cacheReadTokens), cache_write: n(d.cacheCreationTokens), output: n(d.outputTokens), cost: n(d.costUSD) }
    }
    const ses = await ccusage('codex', 'session')
    const theirsSes: Record<string, Tot> = {}
    for (const s of ses.sessions as Record<string, unknown>[]) {
      // ccusage names a session by its file; ours is session_meta.id, the uuid at the end of the name.
      const id = /([0-9a-f-]{36})$/.exec(String(s.sessionId))![1]!
      theirsSes[id] = { input: n(s.inputTokens), cache_read: n(s.cacheReadTokens), cache_write: n(s.cacheCreationTokens), output: n(s.outputTokens), cost: n(s.costUSD) }
    }
    // The replayed token_count of subagent E (its parent's third response: 500 input of which 300
    // cached, 50 output) is counted by ccusage on E's day and in E's session.
    const replay = { input: 200, cache_read: 300, output: 50, cost: (200 * 1.25 + 300 * 0.125 + 50 * 10) / 1e6 }
    const mineDay = ours(codex, (c) => c.started_at.slice(0, 10))
    const mineSes = ours(codex, (c) => c.session_id)
    expect(differences(theirsDay, mineDay)).toEqual([
      ['2026-11-21', 'input', mineDay['2026-11-21']!.input + replay.input, mineDay['2026-11-21']!.input],
      ['2026-11-21', 'cache_read', mineDay['2026-11-21']!.cache_read + replay.cache_read, mineDay['2026-11-21']!.cache_read],
      ['2026-11-21', 'output', mineDay['2026-11-21']!.output + replay.output, mineDay['2026-11-21']!.output],
      ['2026-11-21', 'cost', round({ ...mineDay['2026-11-21']!, cost: mineDay['2026-11-21']!.cost + replay.cost }).cost, round(mineDay['2026-11-21']!).cost],
    ])
    const e = TRAP_IDS.codexSubagentE
    expect(differences(theirsSes, mineSes)).toEqual([
      [e, 'input', 700, 500],
      [e, 'cache_read', 400, 100],
      [e, 'output', 110, 60],
      [e, 'cost', round({ ...mineSes[e]!, cost: mineSes[e]!.cost + replay.cost }).cost, round(mineSes[e]!).cost],
    ])
  }, 60_000)
})
