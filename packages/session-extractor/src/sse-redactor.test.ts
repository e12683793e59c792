import { describe, expect, it } from 'vitest'
import { randomSplit, rng } from '../test/rng.js'
import { redactText } from './redactor.js'
import { createSseRedactor } from './sse-redactor.js'

const ANT = 'sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1JkLzXcVbNm0_-AbCdEf'
const PROJ = 'sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv_Wx-Yz'

type Rec = {
  type: 'sse'
  seq: number
  event?: string
  data: string
}

function anthropicFlow(text: string, pieces: string[], args: string[]): Rec[] {
  const recs: Rec[] = []
  const push = (event: string, obj: unknown): void => {
    recs.push({ type: 'sse', seq: recs.length, event, data: JSON.stringify(obj) })
  }
  push('message_start', { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 5 } } })
  push('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  for (const p of pieces) push('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } })
  push('content_block_stop', { type: 'content_block_stop', index: 0 })
  push('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} } })
  for (const a of args) push('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: a } })
  push('content_block_stop', { type: 'content_block_stop', index: 1 })
  push('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } })
  push('message_stop', { type: 'message_stop' })
  void text
  return recs
}

function joined(recs: Rec[], index: number, field: 'text' | 'partial_json'): string {
  return recs
    .map((r) => JSON.parse(r.data) as { type: string; index?: number; delta?: Record<string, string> })
    .filter((d) => d.type === 'content_block_delta' && d.index === index)
    .map((d) => d.delta?.[field] ?? '')
    .join('')
}

describe('createSseRedactor', () => {
  it('redacts secrets split across Anthropic text and tool-argument deltas, for every split', () => {
    const text = `Your key is ${ANT} — keep it safe. ${'More prose here. '.repeat(10)}`
    const args = JSON.stringify({ command: `curl -H "x-api-key: ${PROJ}" https://api.example.com`, description: 'call' })
    const r = rng(11)
    for (let trial = 0; trial < 120; trial++) {
      const recs = anthropicFlow(text, randomSplit(r, text, r.int(1, 40)), randomSplit(r, args, r.int(1, 30)))
      const out: Rec[] = []
      const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x) })
      for (const rec of recs) red.feed(rec)
      red.end()
      expect(out.map((x) => x.seq)).toEqual(recs.map((x) => x.seq))
      const all = out.map((x) => x.data).join('\n')
      expect(all).not.toContain('Zx9Qw8Er7Ty6')
      expect(all).not.toContain('Ab1Cd2Ef3Gh4')
      expect(joined(out, 0, 'text')).toBe(redactText(text))
      expect(joined(out, 1, 'partial_json')).toBe(redactText(args))
      // Records with nothing to redact keep their byte-exact data (the very same object).
      for (let i = 0; i < recs.length; i++) {
        const rec = recs[i] as Rec
        if (!rec.data.includes('delta')) expect(out[i]).toBe(rec)
      }
    }
  })

  it('redacts raw (non-JSON) data split across events and releases records before the end', () => {
    const text = `line one\nAuthorization: Bearer abc123def456ghi789jkl\n${'filler text '.repeat(40)}`
    const out: Rec[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x) })
    const parts = randomSplit(rng(3), text, 25)
    parts.forEach((p, i) => red.feed({ type: 'sse', seq: i, data: p }))
    expect(out.length).toBeGreaterThan(0)
    red.end()
    expect(out.map((x) => x.data).join('')).toBe(redactText(text))
    expect(red.held).toBe(0)
  })

  it('keeps Responses deltas of different items apart and bounds held records', () => {
    const out: Rec[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x), maxHeldRecords: 8 })
    const key = PROJ
    const pieces = randomSplit(rng(5), `token ${key} end`, 12)
    let seq = 0
    for (const p of pieces) {
      red.feed({ type: 'sse', seq: seq++, data: JSON.stringify({ type: 'response.output_text.delta', item_id: 'msg_a', output_index: 0, content_index: 0, delta: p }) })
      red.feed({ type: 'sse', seq: seq++, data: JSON.stringify({ type: 'response.function_call_arguments.delta', item_id: 'fc_b', output_index: 1, delta: 'x' }) })
      expect(red.held).toBeLessThanOrEqual(9)
    }
    red.end()
    const text = out.map((x) => JSON.parse(x.data) as { item_id: string; delta: string }).filter((d) => d.item_id === 'msg_a').map((d) => d.delta).join('')
    expect(text).not.toContain('Ab1Cd2Ef3Gh4')
    expect(out.length).toBe(seq)
  })

  it('reports HELD_LIMIT with the seq where it happened', () => {
    const errors: Array<{ code: string; at?: number }> = []
    const out: Rec[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x), maxHeldRecords: 4, onError: (e) => errors.push({ code: e.code, ...(e.at !== undefined ? { at: e.at } : {}) }) })
    for (let i = 0; i < 10; i++) red.feed({ type: 'sse', seq: i, data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } }) })
    expect(errors[0]).toEqual({ code: 'HELD_LIMIT', at: 4 })
    red.end()
    expect(out.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('joins Chat Completions content deltas per choice', () => {
    const text = `here: ${ANT} ok`
    const out: Rec[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x) })
    randomSplit(rng(9), text, 10).forEach((p, i) => red.feed({ type: 'sse', seq: i, data: JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: p } }] }) }))
    red.feed({ type: 'sse', seq: 99, data: '[DONE]' })
    expect(red.held).toBe(0)
    const joinedText = out.slice(0, -1).map((x) => (JSON.parse(x.data) as { choices: Array<{ delta: { content: string } }> }).choices[0]?.delta.content).join('')
    expect(joinedText).toBe(redactText(text))
  })

  it('passes extra record fields through and redacts WebSocket frames like SSE data', () => {
    const out: Array<Rec & { transport?: string; t_ms?: number }> = []
    const red = createSseRedactor<Rec & { transport?: string; t_ms?: number }>({ onRecord: (x) => out.push(x) })
    const frame = { type: 'sse' as const, seq: 0, t_ms: 12, transport: 'ws', data: JSON.stringify({ type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: `k ${PROJ}` }) }
    red.feed(frame)
    red.feed({ type: 'sse', seq: 1, t_ms: 13, transport: 'ws', data: JSON.stringify({ type: 'response.completed', response: { id: 'r' } }) })
    expect(out).toHaveLength(2)
    expect(out[0]).toMatchObject({ seq: 0, t_ms: 12, transport: 'ws' })
    expect(out[0]?.data).not.toContain('Ab1Cd2Ef3Gh4')
    expect(out[0]?.data).toContain('sk-proj-[REDACTED:')
  })

  it('handles a long run streamed in tiny deltas and still catches a key split inside it', () => {
    const run = 'A1b2C3d4'.repeat(20_000)
    const text = `${run} then ${ANT} done`
    const out: Rec[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x), maxHeldRecords: 100_000 })
    let seq = 0
    for (let i = 0; i < text.length; i += 50) red.feed({ type: 'sse', seq: seq++, data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(i, i + 50) } }) })
    red.end()
    expect(out).toHaveLength(seq)
    expect(joined(out, 0, 'text')).toBe(redactText(text))
  })

  it('releases a run longer than maxPending as it streams, instead of holding it to maxHeldRecords', () => {
    // WebSocket frames of 16 KiB with no delimiter at all (a base64 blob, a flood of one letter):
    // the forced cut must part pieces inside the run, or every frame rescans all held text.
    const out: Rec[] = []
    const errors: string[] = []
    const red = createSseRedactor<Rec>({ onRecord: (x) => out.push(x), onError: (e) => errors.push(e.code) })
    const frame = JSON.stringify({ type: 'response.output_text.delta', delta: 'y'.repeat(16 * 1024) })
    const released: number[] = []
    for (let seq = 0; seq < 40; seq++) {
      red.feed({ type: 'sse', seq, data: frame })
      released.push(out.length)
    }
    // At most ~maxPending (64 Ki chars, 4 frames) plus the frame in hand is ever held back.
    expect(Math.max(...released.map((n, i) => i + 1 - n))).toBeLessThanOrEqual(5)
    red.end()
    expect(out.map((r) => r.seq)).toEqual([...Array(40).keys()])
    expect(out.every((r) => r.data === frame)).toBe(true)
    expect(errors).toContain('PENDING_LIMIT')
  })

  it('rejects misuse', () => {
    expect(() => createSseRedactor({} as never)).toThrow(/onRecord/)
    const red = createSseRedactor({ onRecord: () => {} })
    expect(() => red.feed({ data: 5 } as never)).toThrow(/data/)
  })
})
