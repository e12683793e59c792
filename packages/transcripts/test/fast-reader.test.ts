import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelCall } from '@agenttap/ledger'
import { findTranscripts, importFiles, importTranscripts, readClaudeLine, startCursors, startImportWorkers } from '../src/index.ts'
import { readClaudeUsageBytes } from '../src/claude.ts'
import { classifyCodexLine, classifyCodexUsageLine, CODEX_NEEDLES, CODEX_USAGE_NEEDLES, codexPieceCall, emptyCodexPiece, readCodexLine, readCodexUsageBytes, readCodexUsagePiece } from '../src/codex.ts'
import { noTraps } from '../src/import-files.ts'
import { bytesHash } from '../src/head-hash.ts'
import type { CodexFileState } from '../src/types.ts'
import { compilePick, MAX_DEPTH, PICKED, pickJson } from '../src/json-pick.ts'
import { isoMs } from '../src/iso-time.ts'
import type { PickSchema, Picker } from '../src/json-pick.ts'
import { claudeAssistantLine, codexLine, codexTokenCount, writeBulkTree, writeTrapTree } from '../src/generate.ts'
import type { TranscriptFile } from '../src/types.ts'

/**
 * The usage-only Claude reader picks an assistant line's fields out of its bytes
 * (readClaudeUsageBytes, json-pick.ts): it must give exactly what JSON.parse + readClaudeLine
 * give, or step aside (undefined) for the slow path — on generated trees and on nasty lines.
 */

const FILE: TranscriptFile = { kind: 'claude', path: '/x/proj/s.jsonl', size: 0 }
const AGENT_FILE: TranscriptFile = { kind: 'claude', path: '/x/proj/p/subagents/agent-a1.jsonl', size: 0, agent: 'a1', parent_session: 'p' }

/** The slow path of one line, as importFiles takes it. */
function slow(line: Buffer, file: TranscriptFile): unknown {
  let rec: unknown
  try {
    rec = JSON.parse(line.toString('utf8'))
  } catch {
    return 'MALFORMED'
  }
  return readClaudeLine(rec, file, true)
}

/** Asserts the fast reader agrees with the slow path on `line` (or steps aside); whether it took the line. */
function same(line: Buffer | string, file: TranscriptFile = FILE): boolean {
  const b = typeof line === 'string' ? Buffer.from(line) : line
  // In the middle of a bigger buffer, as the line reader hands it out.
  const pad = Buffer.concat([Buffer.from('{"junk":1}\n'), b, Buffer.from('\n{"more":[1,2]}')])
  const fast = readClaudeUsageBytes(pad, 11, 11 + b.length, file)
  if (fast === undefined) return false
  expect(fast).toEqual(slow(b, file))
  return true
}

const base = (o: Partial<Parameters<typeof claudeAssistantLine>[0]> = {}): string =>
  claudeAssistantLine({
    session: 's-1',
    uuid: 'u-1',
    parent: null,
    ts: '2026-11-20T10:00:00.000Z',
    messageId: 'msg_1',
    requestId: 'req_1',
    model: 'claude-sonnet-4-5-20250929',
    block: { type: 'text', text: 'hello' },
    stop: 'end_turn',
    usage: { input: 3, cache_read: 100, cache_5m: 20, cache_1h: 7, output: 42 },
    ...o,
  })

describe('the usage-only Claude reader against JSON.parse + readClaudeLine', () => {
  let root: string
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'transcripts-fast-'))
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('agrees on every line of generated trees (several seeds) and the trap tree, taking every assistant line', () => {
    const trees = [writeTrapTree(join(root, 'traps')), ...[1, 2, 3].map((seed) => writeBulkTree(join(root, `bulk${seed}`), { bytes: 1.5e6, seed }))]
    let taken = 0
    let assistant = 0
    for (const d of trees) {
      for (const f of findTranscripts({ claude: [d.claudeDir], codex: [] })) {
        for (const l of readFileSync(f.path, 'utf8').split('\n')) {
          if (l === '') continue
          const isAssistant = (JSON.parse(l) as { type?: string }).type === 'assistant'
          const took = same(l, f)
          if (isAssistant) {
            assistant++
            expect(took).toBe(true)
          } else expect(took).toBe(false)
          if (took) taken++
        }
      }
    }
    expect(assistant).toBeGreaterThan(500)
    expect(taken).toBe(assistant)
  })

  it('agrees on nasty lines: keys inside tool inputs, escapes, unicode, reordered, missing and repeated keys', () => {
    const obj = JSON.parse(base()) as Record<string, any>
    const lines: string[] = [
      // A tool input carrying the message's own key names, at every depth.
      base({ block: { type: 'tool_use', id: 't1', name: 'X', input: { usage: { output_tokens: 9e9 }, model: 'evil', id: 'evil', stop_reason: 'evil', type: 'user', message: { id: 'evil' } } } }),
      // Escaped quotes and backslashes before quotes, in content and in picked strings.
      base({ block: { type: 'text', text: 'a\\"b\\\\"c\\\\\\"d"e' }, messageId: 'msg_"q"\\', requestId: 'req\\' }),
      base({ block: { type: 'text', text: '"usage":{"output_tokens":1},"type":"assistant"}' } }),
      // Unicode: multi-byte UTF-8, an astral character, escapes in picked strings and keys.
      base({ block: { type: 'text', text: 'héllo wörld 🎉 \u2028 \u0000' }, model: 'clàude-🎉', session: 'sé' }),
      base().replace('"model":', '"mod\\u0065l":').replace('"type":"assistant"', '"ty\\u0070e":"assis\\u0074ant"'),
      base().replace('"msg_1"', '"msg_\\u00e9\\ud83c\\udf89"'),
      // CRLF line end and whitespace between tokens.
      `${base()}\r`,
      JSON.stringify(obj, null, 1).replace(/\n/g, ' '),
      ` \t${base()} \t`,
      // Keys reordered, type first, message last.
      JSON.stringify({ type: 'assistant', timestamp: obj.timestamp, uuid: obj.uuid, requestId: obj.requestId, sessionId: obj.sessionId, message: obj.message }),
      // Missing fields: request id, message id (uuid instead), timestamp, session, usage, model.
      JSON.stringify({ ...obj, requestId: undefined }),
      JSON.stringify({ ...obj, message: { ...obj.message, id: undefined } }),
      JSON.stringify({ ...obj, timestamp: undefined }),
      JSON.stringify({ ...obj, sessionId: undefined }),
      JSON.stringify({ ...obj, message: { ...obj.message, usage: undefined } }),
      JSON.stringify({ ...obj, message: { ...obj.message, model: undefined } }),
      JSON.stringify({ ...obj, message: { ...obj.message, model: '<synthetic>' } }),
      JSON.stringify({ ...obj, message: { ...obj.message, usage: { ...obj.message.usage, cache_creation: undefined } } }),
      // Other types and shapes of the picked values.
      JSON.stringify({ ...obj, message: { ...obj.message, model: 5, id: '' } }),
      JSON.stringify({ ...obj, message: { ...obj.message, stop_reason: { why: 'x' } } }),
      JSON.stringify({ ...obj, message: { ...obj.message, usage: [1, 2] } }),
      JSON.stringify({ ...obj, message: { ...obj.message, usage: { ...obj.message.usage, cache_creation: null } } }),
      JSON.stringify({ ...obj, message: { ...obj.message, usage: { ...obj.message.usage, cache_creation: [3] } } }),
      JSON.stringify({ ...obj, message: 'a string' }),
      JSON.stringify({ ...obj, message: null }),
      JSON.stringify({ ...obj, agentId: 'ag-1' }),
      JSON.stringify({ ...obj, sessionId: '' }),
      base().replace('"output_tokens":42', '"output_tokens":4.2e1').replace('"input_tokens":3', '"input_tokens":-0'),
      base().replace('"output_tokens":42', '"output_tokens":12345678901234567890').replace('"input_tokens":3', '"input_tokens":-7'),
      base().replace('"output_tokens":42', '"output_tokens":1E400').replace('"input_tokens":3', '"input_tokens":0.5'),
      base().replace('"output_tokens":42', '"output_tokens":"42"'),
      // Repeated keys: the last one counts, as in JSON.parse.
      base().replace('"type":"assistant"', '"type":"user","type":"assistant"'),
      base().replace('"type":"assistant"', '"type":"assistant","type":"user"'),
      base().replace('"message":{', '"message":{"id":"first","usage":{"output_tokens":1},"model":"m0"},"message":{'),
      base().replace('"message":{', '"message":{"id":"first"},"message":"gone","message":{'),
      base().replace('"usage":{', '"usage":{"output_tokens":7,"cache_creation":{"ephemeral_1h_input_tokens":5},"cache_creation":{}, '),
      base().replace('"usage":{', '"usage":{"output_tokens":7},"usage":{'),
      base().replace('"message":{', '"message":{"__proto__":{"id":"p"},'),
      // Huge content and deep nesting (past the picker's depth: the slow path).
      base({ block: { type: 'text', text: 'x'.repeat(1 << 20) } }),
      base({ block: { type: 'tool_use', id: 't', name: 'n', input: JSON.parse('['.repeat(MAX_DEPTH + 5) + ']'.repeat(MAX_DEPTH + 5)) } }),
      base({ block: { type: 'tool_use', id: 't', name: 'n', input: JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100)) } }),
      base({ block: { type: 'tool_use', id: 't', name: 'n', input: { e: [], o: {}, n: [null, true, false, -1.5e-3, 0, [[]], [{}]] } } }),
    ]
    for (const l of lines) same(l)
    for (const l of lines) same(l, AGENT_FILE)
    // Most are taken by the fast reader (the point of these is that it gets them right).
    expect(lines.filter((l) => same(l)).length).toBeGreaterThan(lines.length - 6)
  })

  it('steps aside on lines that are not valid JSON, and the slow path reports them', () => {
    const ok = base()
    const bad: (string | Buffer)[] = [
      ok.slice(0, -1),
      ok.slice(0, ok.length >> 1),
      ok.slice(0, ok.indexOf('"content"') + 30),
      `${ok},`,
      `${ok}}`,
      `${ok} x`,
      ok.replace('"hello"', '"hel\u0001lo"'),
      ok.replace('"hello"', '"hel\tlo"'),
      ok.replace('"hello"', '"hel\\xlo"'),
      ok.replace('"hello"', '"hel\\u12lo"'),
      ok.replace('"hello"', '"hello\\"'),
      ok.replace('"input_tokens":3', '"input_tokens":03'),
      ok.replace('"input_tokens":3', '"input_tokens":3.'),
      ok.replace('"input_tokens":3', '"input_tokens":-'),
      ok.replace('"input_tokens":3', '"input_tokens":+3'),
      ok.replace('"input_tokens":3', '"input_tokens":1e'),
      ok.replace('"input_tokens":3', '"input_tokens":tru'),
      ok.replace('"input_tokens":3', '"input_tokens":NaN'),
      ok.replace('"stop_reason":"end_turn"', '"stop_reason":nul'),
      ok.replace('[{', '[,{'),
      ok.replace('}]', '},]'),
      ok.replace('"text":"hello"', '"text":"hello",'),
      ok.replace('"text":"hello"', '"text" "hello"'),
      ok.replace('"text":"hello"', "'text':'hello'"),
      `\ufeff${ok}`,
      `[${ok}]`,
      '"assistant"',
      '',
      Buffer.concat([Buffer.from('{'), Buffer.from([0xff, 0xfe]), Buffer.from(ok.slice(1))]),
    ]
    for (const l of bad) {
      const b = typeof l === 'string' ? Buffer.from(l) : l
      expect(readClaudeUsageBytes(b, 0, b.length, FILE), b.toString()).toBeUndefined()
    }
    // Invalid UTF-8 inside a string is no JSON error: both read it as U+FFFD.
    const inString = Buffer.concat([Buffer.from(ok.slice(0, ok.indexOf('hello'))), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(ok.slice(ok.indexOf('hello')))])
    expect(same(inString)).toBe(true)
    const inModel = Buffer.from(ok.replace('claude-sonnet', 'claude-\u00ffsonnet'), 'latin1')
    expect(same(inModel)).toBe(true)
  })
})

describe('the usage-only Codex reader against JSON.parse + readCodexLine', () => {
  const CODEX: TranscriptFile = { kind: 'codex', path: '/x/rollout-2026-11-20T10-00-00-0199aaaa-0000-7000-8000-00000000000c.jsonl', size: 0 }

  /**
   * Reads `lines` the way the importer does — the fast reader first, the slow path when it steps
   * aside — next to the slow path alone, each with its own file state and trap counts: every
   * answer, state and count must be the same. The same for the reader of a read whose calls
   * become rows (readCodexUsagePiece: its piece made a call). Returns how many lines the fast
   * reader took (the rows' reader takes the same ones).
   */
  function sameRollout(lines: (string | Buffer)[], file: TranscriptFile = CODEX): number {
    const fastSt: CodexFileState = {}
    const slowSt: CodexFileState = {}
    const pieceSt: CodexFileState = {}
    const fastTraps = noTraps()
    const slowTraps = noTraps()
    const pieceTraps = noTraps()
    const piece = emptyCodexPiece()
    let took = 0
    let pieceTook = 0
    lines.forEach((l, n) => {
      const b = typeof l === 'string' ? Buffer.from(l) : l
      const pad = Buffer.concat([Buffer.from('{"junk":1}\n'), b, Buffer.from('\n{"more":[1,2]}')])
      const parse = (st: CodexFileState, traps: ReturnType<typeof noTraps>): unknown => {
        let rec: unknown
        try {
          rec = JSON.parse(b.toString('utf8'))
        } catch {
          return 'MALFORMED'
        }
        return readCodexLine(rec, file, st, n + 1, traps, true)
      }
      let fast: unknown = readCodexUsageBytes(pad, 11, 11 + b.length, file, fastSt, fastTraps)
      if (fast === undefined) fast = parse(fastSt, fastTraps)
      else took++
      const got = readCodexUsagePiece(pad, 11, 11 + b.length, file, pieceSt, pieceTraps, piece)
      let byPiece: unknown
      if (got === undefined) byPiece = parse(pieceSt, pieceTraps)
      else {
        pieceTook++
        byPiece = got === 'call' ? { kind: 'call', call: codexPieceCall(piece, pieceSt) } : got === 'bad' ? { kind: 'bad', message: piece.message } : { kind: 'none' }
      }
      const want = parse(slowSt, slowTraps)
      expect(fast, b.toString()).toEqual(want)
      expect(byPiece, b.toString()).toEqual(want)
      expect(fastSt).toEqual(slowSt)
      expect(pieceSt).toEqual(slowSt)
      expect(fastTraps).toEqual(slowTraps)
      expect(pieceTraps).toEqual(slowTraps)
    })
    expect(pieceTook).toBe(took)
    return took
  }

  it('agrees on every rollout of generated trees (several seeds) and the trap tree, taking every token_count line', () => {
    const root = mkdtempSync(join(tmpdir(), 'transcripts-fast-codex-'))
    try {
      const trees = [writeTrapTree(join(root, 'traps')), ...[1, 2, 3].map((seed) => writeBulkTree(join(root, `bulk${seed}`), { bytes: 1.5e6, seed }))]
      let tokenCounts = 0
      let took = 0
      for (const d of trees) {
        for (const f of findTranscripts({ claude: [], codex: [d.codexDir] })) {
          const lines = readFileSync(f.path, 'utf8').split('\n').filter((l) => l !== '')
          tokenCounts += lines.filter((l) => (JSON.parse(l) as { payload?: { type?: string } }).payload?.type === 'token_count').length
          took += sameRollout(lines, f)
        }
      }
      expect(tokenCounts).toBeGreaterThan(200)
      // Every token_count line is taken, no other line.
      expect(took).toBe(tokenCounts)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('takes a rollout line by its two types, as codex-rs lays them out, and looks at other layouts by their needles', () => {
    const root = mkdtempSync(join(tmpdir(), 'transcripts-codex-types-'))
    try {
      const trees = [writeTrapTree(join(root, 'traps')), writeBulkTree(join(root, 'bulk'), { bytes: 1.5e6, seed: 2 })]
      const kinds = new Set<string>()
      for (const [needles, classify] of [[CODEX_NEEDLES, classifyCodexLine], [CODEX_USAGE_NEEDLES, classifyCodexUsageLine]] as const) {
        const names = new Set(needles.map((n) => JSON.parse(n.toString()) as string))
        for (const d of trees) {
          for (const f of findTranscripts({ claude: [], codex: [d.codexDir] })) {
            for (const l of readFileSync(f.path, 'utf8').split('\n').filter((x) => x !== '')) {
              const r = JSON.parse(l) as { type: string; payload?: { type?: string } }
              kinds.add(`${r.type}/${r.payload?.type}`)
              const b = Buffer.from(l)
              const want = names.has(r.type) || names.has(r.payload?.type ?? '')
              // A line without a payload type is searched whole when its own type is no needle.
              expect(classify(b, 0, b.length), l.slice(0, 120)).toBe(want ? true : r.payload?.type === undefined ? undefined : false)
            }
          }
        }
      }
      expect(kinds.size).toBeGreaterThan(6)
      // Laid out otherwise (keys in another order, an escape in the timestamp): the needles decide, or the whole line is searched.
      const odd = (l: string) => classifyCodexUsageLine(Buffer.from(l), 0, Buffer.byteLength(l))
      expect(odd('{"type":"event_msg","timestamp":"2026-11-20T10:00:00.000Z","payload":{"type":"token_count"}}')).toBe(true)
      expect(odd('{"type":"event_msg","timestamp":"2026-11-20T10:00:00.000Z","payload":{"type":"agent_message"}}')).toBe(false)
      expect(odd('{"timestamp":"2026-11-20T10:00:00\\u002e000Z","type":"turn_context","payload":{}}')).toBe(true)
      expect(odd('{"timestamp":"2026-11-20T10:00:00.000Z","type":"compacted","payload":{"message":"x"}}')).toBeUndefined()
      expect(odd('{"timestamp":"2026-11-20T10:00:00.000Z","type":"event_msg","payload":{"type":"token_count"')).toBe(true)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('agrees on nasty and broken token_count lines', () => {
    const t = (input: number, cached: number, output: number, reasoning = 0) => ({ input, cached, output, reasoning })
    const ok = codexTokenCount('2026-11-20T10:00:05.000Z', t(100, 40, 10), t(100, 40, 10), { primary: 5, secondary: 9 })
    const obj = JSON.parse(ok) as Record<string, any>
    const info = obj.payload.info
    const lines: (string | Buffer)[] = [
      codexLine('2026-11-20T10:00:00.000Z', 'session_meta', { id: '0199aaaa-0000-7000-8000-00000000000c', timestamp: '2026-11-20T10:00:00.000Z' }),
      codexLine('2026-11-20T10:00:01.000Z', 'turn_context', { model: 'gpt-5', effort: 'high' }),
      ok,
      ok,
      codexTokenCount('2026-11-20T10:00:06.000Z', t(300, 100, 30, 5), t(200, 60, 20, 5)),
      // Counts of other shapes: strings, negatives, fractions, huge, null cached (the cache_read fallback).
      JSON.stringify({ ...obj, payload: { ...obj.payload, info: { ...info, total_token_usage: { input_tokens: '900', cached_input_tokens: -1, output_tokens: 40.5, total_tokens: 1e400 } } } }),
      JSON.stringify({ ...obj, payload: { ...obj.payload, info: { ...info, total_token_usage: { input_tokens: 1000, cached_input_tokens: null, cache_read_input_tokens: 70, output_tokens: 50, reasoning_output_tokens: 9 } } } }),
      // No total: the last usage is the delta. No usage at all. Info, payload and usage of other types.
      JSON.stringify({ ...obj, payload: { ...obj.payload, info: { last_token_usage: info.last_token_usage } } }),
      JSON.stringify({ ...obj, payload: { ...obj.payload, info: null } }),
      JSON.stringify({ ...obj, payload: { ...obj.payload, info: [1] } }),
      JSON.stringify({ ...obj, payload: { ...obj.payload, info: { ...info, total_token_usage: [1, 2] } } }),
      JSON.stringify({ ...obj, payload: 'x' }),
      JSON.stringify({ ...obj, payload: null }),
      JSON.stringify({ ...obj, timestamp: undefined }),
      JSON.stringify({ ...obj, timestamp: 5 }),
      // The counter going back (a new thread state), then on again.
      codexTokenCount('2026-11-20T10:00:07.000Z', t(50, 0, 5), t(50, 0, 5)),
      codexTokenCount('2026-11-20T10:00:08.000Z', t(2000, 1000, 100), t(1950, 1000, 95)),
      // Keys repeated (the last counts), escaped, reordered, whitespace, CRLF.
      ok.replace('"type":"event_msg"', '"type":"turn_context","type":"event_msg"').replace('"input_tokens":100', '"input_tokens":5000'),
      ok.replace('"payload":{', '"payload":{"type":"user_message","info":{"total_token_usage":{"input_tokens":1}},"type":"token_count",').replace('"input_tokens":100', '"input_tokens":6000'),
      ok.replace('"total_token_usage":{', '"total_token_usage":{"input_tokens":1},"total_token_usage":{').replace('"input_tokens":100', '"input_tokens":7000'),
      ok.replace('"type":"token_count"', '"ty\\u0070e":"token_\\u0063ount"').replace('"input_tokens":100', '"input_tokens":8000'),
      JSON.stringify({ payload: { info: { total_token_usage: { ...info.total_token_usage, input_tokens: 9000 }, last_token_usage: info.last_token_usage }, type: 'token_count' }, type: 'event_msg', timestamp: '2026-11-20T10:00:09.000Z' }),
      `${ok.replace('"input_tokens":100', '"input_tokens":9500')}\r`,
      JSON.stringify(JSON.parse(ok.replace('"input_tokens":100', '"input_tokens":9900')), null, 1).replace(/\n/g, ' '),
      // Other event_msg types, and an event_msg with escapes and unicode around.
      codexLine('2026-11-20T10:00:10.000Z', 'event_msg', { type: 'user_message', message: 'héllo "q" \\ 🎉', images: [] }),
      codexLine('2026-11-20T10:00:11.000Z', 'event_msg', { type: 'context_compacted' }),
      codexLine('2026-11-20T10:00:12.000Z', 'event_msg', { type: 'agent_message', message: 'x'.repeat(100000) }),
      // Broken: the fast reader steps aside and the slow path reports.
      ok.slice(0, -1),
      ok.slice(0, ok.length >> 1),
      `${ok},`,
      ok.replace('"used_percent":5', '"used_percent":05'),
      ok.replace('"token_count"', '"token\u0001count"'),
      ok.replace('"token_count"', '"token\\xcount"'),
      `[${ok}]`,
      Buffer.concat([Buffer.from('{'), Buffer.from([0xff]), Buffer.from(ok.slice(1))]),
    ]
    expect(sameRollout(lines)).toBe(20)
    // A fork replaying its parent, then its own calls.
    const forkMeta = codexLine('2026-11-20T11:00:00.000Z', 'session_meta', { id: '0199aaaa-0000-7000-8000-00000000000d', forked_from_id: '0199aaaa-0000-7000-8000-00000000000c', timestamp: '2026-11-20T11:00:00.000Z' })
    expect(sameRollout([forkMeta, ...lines.slice(1, 5).map((l) => (l as string).replace(/2026-11-20T10:00:0/g, '2026-11-20T11:00:00.'))], { ...CODEX, path: CODEX.path.replace('0c.jsonl', '0d.jsonl') })).toBeGreaterThan(2)
  })
})

describe('pickJson', () => {
  const schema: PickSchema = { a: true, b: { c: true, d: { e: true } }, s: true }
  const picker: Picker = compilePick(schema)
  /** What pickJson should give: JSON.parse, projected on the schema. */
  function project(v: unknown, sch: PickSchema, p: Picker, out: unknown[], prefix = ''): void {
    const o = v as Record<string, unknown>
    for (const [k, child] of Object.entries(sch)) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue
      const x = o[k]
      const slot = p.slot[prefix + k]!
      if (child !== true && typeof x === 'object' && x !== null && !Array.isArray(x)) {
        out[slot] = PICKED
        project(x, child, p, out, `${prefix + k}.`)
      } else out[slot] = x
    }
  }
  // A seeded generator of JSON texts, then of damaged copies of them.
  let seed = 12345
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x80000000
  }
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const strs = ['', 'a', 'é', '🎉', '"', '\\', '\n', '\u0001', '\u2028', 'x\\"y', '\ud800', 'plain text']
  function value(depth: number): unknown {
    const r = rnd()
    if (depth > 3 || r < 0.3) return pick([0, -0, 1, -1, 1.5, 1e21, 123456789012345, 1234567890123456789, true, false, null, ...strs])
    if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1))
    const o: Record<string, unknown> = {}
    for (let i = Math.floor(rnd() * 5); i > 0; i--) o[pick(['a', 'b', 'c', 'd', 'e', 's', 'z', 'é', '__proto__', 'a\\'])] = value(depth + 1)
    return o
  }
  it('gives JSON.parse projected on the schema for valid objects, and false for every damaged text JSON.parse rejects', () => {
    let took = 0
    let rejected = 0
    for (let i = 0; i < 4000; i++) {
      const v = { ...(value(0) as object), ...(rnd() < 0.7 ? { b: value(1) } : {}) }
      let text = JSON.stringify(v)
      if (rnd() < 0.3) text = text.replace(/,/g, () => (rnd() < 0.5 ? ' , ' : ',')).replace(/:/g, ' :\t')
      if (rnd() < 0.2) text = text.replace('{', '{"a":1,"b":{"c":2},')
      const damaged = rnd() < 0.5
      if (damaged) {
        const at = Math.floor(rnd() * (text.length + 1))
        const how = rnd()
        text = how < 0.3 ? text.slice(0, at) : how < 0.6 ? text.slice(0, at) + pick(['"', '\\', ',', '}', ']', '\u0002', 'x', '1', '-', 'e', ' ', '{', '[']) + text.slice(at) : text.slice(0, at) + text.slice(at + 1)
      }
      const buf = Buffer.from(text)
      const out: unknown[] = []
      const got = pickJson(buf, 0, buf.length, picker, out)
      let want: unknown
      try {
        want = JSON.parse(text)
      } catch {
        want = undefined
      }
      if (want === undefined || typeof want !== 'object' || want === null || Array.isArray(want)) {
        expect(got, text).toBe(false)
        rejected++
        continue
      }
      expect(got, text).toBe(true)
      const expected: unknown[] = new Array(picker.size).fill(undefined)
      project(want, schema, picker, expected)
      expect(out.slice(0, picker.size), text).toEqual(expected)
      took++
    }
    expect(took).toBeGreaterThan(1500)
    expect(rejected).toBeGreaterThan(500)
  })
})

describe('the picker on strings read 4 bytes at a time', () => {
  it('agrees with JSON.parse for a quote, backslash, escape, control or non-ASCII character at every place of a string', () => {
    const p = compilePick({ a: true, b: { c: true } })
    const odd = ['"', '\\', '\\n', '\\u00e9', '\\u12', '\\x', '\u0000', '\u0001', '\u001f', '\t', '\r', '\u007f', 'é', '中', '🎉', ' ', '~']
    let took = 0
    for (const ch of odd) {
      for (let at = 0; at <= 13; at++) {
        for (const lead of ['', 'x', 'xy', 'xyz']) {
          const str = `${'abcdefghijklm'.slice(0, at)}${ch}${'nopqrstuvwxyz'.slice(at)}`
          for (const text of [`{"a":"${str}","b":{"c":"${lead}${str}"}}`, `{"${lead}${str}":1,"b":{"c":"${str}"},"a":"${lead}"}`]) {
            // At several offsets of a bigger buffer, as the line reader hands lines out.
            const buf = Buffer.from(`${lead}\n${text}\n${lead}`)
            const out: unknown[] = []
            const got = pickJson(buf, lead.length + 1, lead.length + 1 + Buffer.byteLength(text), p, out)
            let want: { a?: unknown; b?: { c?: unknown } } | undefined
            try {
              want = JSON.parse(text) as typeof want
            } catch {
              want = undefined
            }
            expect(got, text).toBe(want !== undefined)
            if (want === undefined) continue
            expect([out[p.slot.a!], out[p.slot['b.c']!]], text).toEqual([want.a, want.b?.c])
            took++
          }
        }
      }
    }
    expect(took).toBeGreaterThan(500)
  })
})

describe('the usage-only import with the fast reader', () => {
  let root: string
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'transcripts-fast-import-'))
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const facts = (calls: ModelCall[]) =>
    Object.fromEntries(calls.map((c) => [c.key, { session_id: c.session_id, agent: c.agent, model: c.model, started_at: c.started_at, ended_at: c.ended_at, duration_ms: c.duration_ms, usage: c.usage, stop_reason: c.stop_reason, request_id: c.request_id, response_id: c.response_id }]))

  it('gives the calls, problems and traps of the full read on a tree with nasty and broken lines, one thread or two', async () => {
    const d = writeBulkTree(join(root, 'bulk'), { bytes: 3e6, seed: 9 })
    const dir = join(d.claudeDir, 'projects', '-home-dev-nasty')
    mkdirSync(dir, { recursive: true })
    const ok = base({ session: 'nasty-1' })
    writeFileSync(
      join(dir, 'nasty-1.jsonl'),
      [
        ok,
        base({ session: 'nasty-1', stop: null, uuid: 'u-0', ts: '2026-11-20T09:59:59.000Z', usage: { input: 3, cache_read: 100, cache_5m: 20, cache_1h: 7, output: 1 } }),
        ok.slice(0, ok.length - 30),
        ok.replace('"hello"', '"hel\u0001lo"'),
        `${base({ session: 'nasty-1', messageId: 'msg_2', block: { type: 'tool_use', id: 't', name: 'n', input: { usage: { output_tokens: 1e9 }, type: 'assistant' } } })}\r`,
        JSON.stringify({ ...(JSON.parse(ok) as object), timestamp: undefined, message: { id: 'msg_3', usage: { output_tokens: 1 } } }),
        base({ session: 'nasty-1', messageId: 'msg_4', block: { type: 'text', text: 'é'.repeat(200000) } }),
      ].join('\n') + '\n',
    )
    const files = findTranscripts({ claude: [d.claudeDir], codex: [d.codexDir] })
    const full = importFiles(startCursors(files))
    for (const threads of [1, 2]) {
      const lean = await importTranscripts(startCursors(files), { threads, workerMinBytes: 1, usageOnly: true })
      expect(lean.problems).toEqual(full.problems)
      expect(facts(lean.calls)).toEqual(facts(full.calls))
      expect(lean.traps).toEqual(full.traps)
      expect(lean.cursors.map((c) => [c.file.path, c.offset, c.line])).toEqual(full.cursors.map((c) => [c.file.path, c.offset, c.line]))
    }
    // Workers started ahead of the import (before the files were listed): the same answer; the
    // one not needed (two started, one used) and those of an import run on this thread are stopped.
    const ahead = startImportWorkers(2)
    const early = await importTranscripts(startCursors(files), { threads: 2, workerMinBytes: 1, usageOnly: true, workers: ahead })
    expect(ahead.idle).toEqual([])
    expect(early.problems).toEqual(full.problems)
    expect(facts(early.calls)).toEqual(facts(full.calls))
    expect(early.cursors.map((c) => [c.file.path, c.offset, c.line])).toEqual(full.cursors.map((c) => [c.file.path, c.offset, c.line]))
    const unused = startImportWorkers(1)
    expect(facts((await importTranscripts(startCursors(files), { usageOnly: true, workers: unused })).calls)).toEqual(facts(full.calls))
    expect(unused.idle).toEqual([])
    expect(full.problems.map((p) => p.code).sort()).toEqual(['MALFORMED_LINE', 'MALFORMED_LINE', 'UNEXPECTED_SHAPE'])
  })

  it('reports its progress file by file, one thread or two (the workers\' figures through shared slots), workers started ahead too', async () => {
    const d = writeBulkTree(join(root, 'progress'), { bytes: 3e6, seed: 5 })
    const files = findTranscripts({ claude: [d.claudeDir], codex: [d.codexDir] })
    const total = files.reduce((n, f) => n + f.size, 0)
    const full = importFiles(startCursors(files))
    for (const o of [{ threads: 1 }, { threads: 2, workerMinBytes: 1 }, { threads: 2, workerMinBytes: 1, workers: startImportWorkers(1) }]) {
      const seen: [number, number][] = []
      const r = await importTranscripts(startCursors(files), { ...o, usageOnly: true, onProgress: (b, t) => seen.push([b, t]) })
      expect(r.cursors.map((c) => [c.file.path, c.offset])).toEqual(full.cursors.map((c) => [c.file.path, c.offset]))
      expect(seen.length, `threads ${o.threads}`).toBeGreaterThanOrEqual(3)
      expect(seen.every(([, t]) => t === total)).toBe(true)
      for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0])
      expect(seen.some(([b]) => b > 0 && b < total)).toBe(true)
      expect(seen.at(-1)![0]).toBe(total)
    }
    // A report that throws stops the reports, not the import.
    let calls = 0
    const r = await importTranscripts(startCursors(files), { threads: 2, workerMinBytes: 1, usageOnly: true, onProgress: () => {
      calls++
      throw new Error('display gone')
    } })
    expect(calls).toBe(1)
    expect(facts(r.calls)).toEqual(facts(importFiles(startCursors(files), { usageOnly: true }).calls))
  })

  it('gives a sink that takes rows the usage facts of the calls it would give as objects', async () => {
    const d = writeBulkTree(join(root, 'rows'), { bytes: 3e6, seed: 4 })
    const t = writeTrapTree(join(root, 'rows-traps'))
    const files = findTranscripts({ claude: [d.claudeDir, t.claudeDir], codex: [d.codexDir, t.codexDir] })
    const objects = importFiles(startCursors(files), { usageOnly: true })
    const rows = importFiles(startCursors(files), { usageOnly: true, rows: true })
    expect(rows.calls).toEqual([])
    // The usage summary's rule (extractors' usageCall) on the call objects.
    const want = objects.calls.map((c) => ({
      key: c.key, ts: c.started_at, session_id: c.session_id, agent: c.agent ?? null, source: c.source, client: c.client, model: c.model ?? c.request?.model ?? null,
      has_usage: c.usage !== undefined, input: c.usage?.input ?? 0, cache_read: c.usage?.cache_read ?? 0, cache_write_5m: c.usage?.cache_write_5m ?? 0,
      cache_write_1h: c.usage?.cache_write_1h ?? 0, output: c.usage?.output ?? 0, reasoning: c.usage?.reasoning ?? null, stop_reason: c.stop_reason ?? null,
    }))
    const got = Array.from(rows.rows!.facts(), (f) => ({ ...f }))
    const byKey = (xs: { key: string }[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : 1))
    expect(byKey(got)).toEqual(byKey(want))
    expect(want.some((f) => f.source === 'codex-rollout' && f.reasoning !== null)).toBe(true)
    expect(rows.traps).toEqual(objects.traps)
    expect(rows.problems).toEqual(objects.problems)
    // Through the parallel import and a sink module that takes rows: the same facts.
    const sinkDir = mkdtempSync(join(tmpdir(), 'transcripts-rows-sink-'))
    const sinkFile = join(sinkDir, 'sink.mjs')
    writeFileSync(sinkFile, 'export function sinkImport(r) { return { rows: r.rows !== undefined, calls: r.calls.length, facts: r.rows === undefined ? [] : Array.from(r.rows.facts(), (f) => ({ ...f })) } }\n')
    try {
      const par = await importTranscripts(startCursors(files), { threads: 2, workerMinBytes: 1, usageOnly: true, sink: { module: sinkFile, rows: true } })
      const parts = par.sunk as { rows: boolean; calls: number; facts: typeof want }[]
      expect(parts.every((p) => p.rows && p.calls === 0)).toBe(true)
      expect(par.rows).toBeUndefined()
      // Two threads may each hold pieces of one call (a resumed session's copy): every key is there.
      expect(new Set(parts.flatMap((p) => p.facts.map((f) => f.key)))).toEqual(new Set(want.map((f) => f.key)))
    } finally {
      rmSync(sinkDir, { recursive: true, force: true })
    }
  })

  it('keeps the hash of the first bytes of each file read from its start in its cursor, whatever the chunks, up to its last whole line', () => {
    const d = writeBulkTree(join(root, 'heads'), { bytes: 1e6, seed: 6 })
    const files = findTranscripts({ claude: [d.claudeDir], codex: [d.codexDir] })
    // A file whose last line is not whole yet, and one shorter than the head.
    appendFileSync(files[0]!.path, '{"type":"assistant","message":')
    writeFileSync(files[1]!.path, '{"type":"user"}\n{"partial"')
    for (const chunkBytes of [100, 1000, 1 << 22]) {
      const r = importFiles(startCursors(findTranscripts({ claude: [d.claudeDir], codex: [d.codexDir] })), { usageOnly: true, heads: 4096, chunkBytes })
      for (const c of r.cursors) {
        const len = Math.min(4096, c.offset)
        expect(c.head).toEqual({ len, hash: bytesHash(readFileSync(c.file.path).subarray(0, len)) })
      }
      expect(r.cursors[1]!.head!.len).toBe(16)
      // A read from further on (an update) keeps nothing; nor does a read without the option.
      const { head: _head, ...read } = r.cursors[0]!
      expect(importFiles([read], { heads: 4096 }).cursors[0]!.head).toBeUndefined()
      expect(importFiles(startCursors(files.slice(0, 1)), { usageOnly: true }).cursors[0]!.head).toBeUndefined()
    }
  })

  it('reports a file removed since it was listed, and the size it read to for the others', () => {
    const d = writeTrapTree(join(root, 'gone'))
    const files = findTranscripts({ claude: [d.claudeDir], codex: [d.codexDir] })
    rmSync(files[0]!.path)
    const r = importFiles(startCursors(files), { usageOnly: true })
    expect(r.problems).toEqual([{ code: 'IO_ERROR', file: files[0]!.path, line: null, offset: null, message: 'the file is gone (removed since it was listed)' }])
    expect(r.cursors.slice(1).map((c) => c.file.size)).toEqual(files.slice(1).map((f) => f.size))
    expect(r.cursors.slice(1).every((c) => c.offset === c.file.size)).toBe(true)
  })
})

describe('isoMs', () => {
  it('is Date.parse, NaN included, for the agents’ timestamps and anything else', () => {
    const cases = [
      '2026-11-20T10:00:00.000Z', '2026-11-20T23:59:59.999Z', '2026-11-21T00:00:00.000Z', '2026-11-20T10:00:00.500Z',
      '2026-02-30T12:00:00.000Z', '2026-13-01T00:00:00.000Z', '2026-01-00T00:00:00.000Z', '0000-01-01T00:00:00.000Z',
      '2026-11-20T24:00:00.000Z', '2026-11-20T10:60:00.000Z', '2026-11-20T10:00:60.000Z', '2026-11-20T1a:00:00.000Z',
      '2026-11-20T10:00:00.000+01:00', '2026-11-20T10:00:00Z', '2026-11-20', 'not a date', '', '2026-11-20 10:00:00.000Z',
      'x026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.00xZ',
    ]
    let seed = 7
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      cases.push(new Date(1.7e12 + (seed % 2e10) * 7).toISOString())
    }
    for (const s of [...cases, ...cases.reverse()]) expect(Object.is(isoMs(s), Date.parse(s)), s).toBe(true)
  })
})
