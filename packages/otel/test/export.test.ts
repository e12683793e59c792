import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ModelCall } from '@agenttap/ledger'
import { exportCalls } from '../src/export-calls.js'
import { callSpanIdOf, toolSpanIdOf, traceIdOf } from '../src/ids.js'
import { GENAI_SEMCONV_VERSION } from '../src/semconv.js'
import { attrs, fixtureCalls, nanosOf, spansOf, startCollector, type DecodedSpan, type Received } from './helpers.js'

type Obj = Record<string, unknown>

/**
 * What each provider reported on the wire, read straight from the fixture's events (not through the
 * ledger): Anthropic `message_start.message.usage` by message id, OpenAI `response.completed` /
 * Chat usage by response id.
 */
function reportedUsage(records: Obj[]): Map<string, { provider: 'anthropic' | 'openai'; input: number; cacheRead: number; cacheWrite: number; output?: number; reasoning?: number }> {
  const out = new Map<string, { provider: 'anthropic' | 'openai'; input: number; cacheRead: number; cacheWrite: number; output?: number; reasoning?: number }>()
  for (const r of records) {
    if (r.type !== 'sse' || typeof r.data !== 'string' || !r.data.startsWith('{')) continue
    let d: Obj
    try {
      d = JSON.parse(r.data) as Obj
    } catch {
      continue
    }
    if (d.type === 'message_start') {
      const m = d.message as Obj
      const u = m.usage as Obj
      out.set(m.id as string, { provider: 'anthropic', input: Number(u.input_tokens ?? 0), cacheRead: Number(u.cache_read_input_tokens ?? 0), cacheWrite: Number(u.cache_creation_input_tokens ?? 0) })
    } else if (d.type === 'response.completed' || d.type === 'response.incomplete') {
      const resp = d.response as Obj
      const u = resp.usage as Obj | undefined
      if (!u) continue
      out.set(resp.id as string, {
        provider: 'openai',
        input: Number(u.input_tokens),
        cacheRead: Number((u.input_tokens_details as Obj | undefined)?.cached_tokens ?? 0),
        cacheWrite: 0,
        output: Number(u.output_tokens),
        reasoning: Number((u.output_tokens_details as Obj | undefined)?.reasoning_tokens ?? 0),
      })
    } else if (typeof d.id === 'string' && d.object === 'chat.completion.chunk' && d.usage) {
      const u = d.usage as Obj
      out.set(d.id, { provider: 'openai', input: Number(u.prompt_tokens), cacheRead: Number((u.prompt_tokens_details as Obj | undefined)?.cached_tokens ?? 0), cacheWrite: 0, output: Number(u.completion_tokens) })
    }
  }
  return out
}

describe('exportCalls: the fixtures as GenAI spans, decoded with the official OTLP protobuf definitions', () => {
  const { calls, contents, records } = fixtureCalls()
  const modelCalls = calls.filter((c) => c.kind === 'model')
  let collector: Awaited<ReturnType<typeof startCollector>>
  let spans: DecodedSpan[]
  let received: Received[]

  beforeAll(async () => {
    collector = await startCollector()
    const stats = await exportCalls({ calls, contents }, { endpoint: collector.url, batchSize: 7 })
    received = [...collector.received]
    spans = spansOf(received)
    expect(stats.calls).toBe(modelCalls.length)
    expect(stats.exported).toBe(stats.spans)
    expect(stats.failed).toBe(0)
    expect(spans.length).toBe(stats.spans)
  })
  afterAll(() => collector.close())

  it('sends protobuf to /v1/traces in batches, with the resource and scope', () => {
    const traces = received.filter((r) => r.signal === 'traces')
    expect(traces.length).toBeGreaterThan(1)
    for (const t of traces) expect(t.contentType).toBe('application/x-protobuf')
    for (const s of spans) {
      expect(s.resource['service.name']).toBe('agenttap')
      expect(s.scope).toBe('@agenttap/otel')
    }
    expect(GENAI_SEMCONV_VERSION).toBe('1.41.0')
  })

  it('one chat span per model call with every attribute the conventions name', () => {
    expect(modelCalls.length).toBeGreaterThan(10)
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    for (const c of modelCalls) {
      const s = byId.get(callSpanIdOf(c.key))
      expect(s, c.key).toBeDefined()
      if (!s) continue
      const a = s.attributes
      const model = c.request.model ?? c.model
      expect(s.name).toBe(model ? `chat ${model}` : 'chat')
      expect(s.kind).toBe(3) // SPAN_KIND_CLIENT
      expect(s.traceId).toBe(traceIdOf(c.session_id))
      expect(s.start).toBe(nanosOf(c.started_at))
      expect(s.end).toBe(nanosOf(c.ended_at ?? c.started_at))
      expect(a['gen_ai.operation.name']).toBe('chat')
      expect(a['gen_ai.provider.name']).toBe(c.provider)
      expect(a['gen_ai.conversation.id']).toBe(c.session_id)
      expect(a['gen_ai.request.model']).toBe(model)
      expect(a['gen_ai.response.model']).toBe(c.model)
      expect(a['gen_ai.response.id']).toBe(c.response_id)
      expect(a['gen_ai.response.finish_reasons']).toEqual(c.stop_reason ? [c.stop_reason] : [])
      expect(a['agenttap.flow_id']).toBe(c.flow_id)
      expect(a['agenttap.call.key']).toBe(c.key)
      if (c.transport !== 'http' && c.ttft_ms !== undefined) expect(a['gen_ai.response.time_to_first_chunk']).toBeCloseTo(c.ttft_ms / 1000, 6)
      if (c.usage) {
        expect(a['gen_ai.usage.input_tokens']).toBe(c.usage.input + c.usage.cache_read + c.usage.cache_write_5m + c.usage.cache_write_1h)
        expect(a['gen_ai.usage.cache_read.input_tokens']).toBe(c.usage.cache_read)
        expect(a['gen_ai.usage.cache_creation.input_tokens']).toBe(c.usage.cache_write_5m + c.usage.cache_write_1h)
        expect(a['gen_ai.usage.output_tokens']).toBe(c.usage.output)
        expect(a['gen_ai.usage.reasoning.output_tokens']).toBe(c.usage.reasoning)
      } else expect(a['gen_ai.usage.input_tokens']).toBeUndefined()
      if (c.outcome === 'error') {
        expect(s.status.code).toBe(2) // STATUS_CODE_ERROR
        expect(a['error.type']).toBe(c.error?.type ?? c.error?.code ?? (c.http_status ? String(c.http_status) : 'error'))
      } else if (c.outcome === 'completed') {
        expect(s.status.code ?? 0).toBe(0)
        expect(a['error.type']).toBeUndefined()
      }
      // Content is opt-in.
      expect(a['gen_ai.input.messages']).toBeUndefined()
      expect(a['gen_ai.output.messages']).toBeUndefined()
    }
    // The aux flows (quota checks, policy endpoints) are not exported.
    for (const c of calls.filter((x) => x.kind === 'aux')) expect(byId.has(callSpanIdOf(c.key))).toBe(false)
  })

  it('usage: Anthropic input = raw input + cache read + cache write; OpenAI input as reported (read from the wire events)', () => {
    const reported = reportedUsage(records)
    const byResponse = new Map(spans.filter((s) => s.attributes['gen_ai.response.id']).map((s) => [s.attributes['gen_ai.response.id'] as string, s]))
    let anthropic = 0
    let openai = 0
    for (const [id, u] of reported) {
      const s = byResponse.get(id)
      if (!s) continue
      const a = s.attributes
      if (u.provider === 'anthropic') {
        anthropic++
        expect(a['gen_ai.usage.input_tokens'], id).toBe(u.input + u.cacheRead + u.cacheWrite)
        expect(a['gen_ai.usage.cache_read.input_tokens'], id).toBe(u.cacheRead)
        expect(a['gen_ai.usage.cache_creation.input_tokens'], id).toBe(u.cacheWrite)
      } else {
        openai++
        expect(a['gen_ai.usage.input_tokens'], id).toBe(u.input)
        expect(a['gen_ai.usage.cache_read.input_tokens'], id).toBe(u.cacheRead)
        expect(a['gen_ai.usage.output_tokens'], id).toBe(u.output)
        if (u.reasoning !== undefined) expect(a['gen_ai.usage.reasoning.output_tokens'] ?? 0, id).toBe(u.reasoning)
      }
    }
    expect(anthropic).toBeGreaterThanOrEqual(3)
    expect(openai).toBeGreaterThanOrEqual(3)
    // One case spelled out: cc-turn-1's first response reported input 9, cache read 14210, cache write 1320.
    const first = spans.find((s) => s.attributes['agenttap.call.key'] === 'cc-turn-1#0')
    expect(first?.attributes['gen_ai.usage.input_tokens']).toBe(9 + 14210 + 1320)
  })

  it('one execute_tool span per tool call, from the response that asked to the request that answered', () => {
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const answeredAt = new Map<string, ModelCall>()
    for (const c of modelCalls) for (const r of c.tool_results) if (!answeredAt.has(r.call_id)) answeredAt.set(r.call_id, c)
    let n = 0
    let answered = 0
    for (const c of modelCalls) {
      const chat = byId.get(callSpanIdOf(c.key)) as DecodedSpan
      for (const t of c.tool_calls) {
        const s = byId.get(toolSpanIdOf(c.key, t.call_id))
        expect(s, `${c.key} ${t.call_id}`).toBeDefined()
        if (!s) continue
        n++
        expect(s.name).toBe(`execute_tool ${t.name}`)
        expect(s.kind).toBe(1) // SPAN_KIND_INTERNAL
        expect(s.attributes['gen_ai.operation.name']).toBe('execute_tool')
        expect(s.attributes['gen_ai.tool.name']).toBe(t.name)
        expect(s.attributes['gen_ai.tool.call.id']).toBe(t.call_id)
        expect(s.attributes['gen_ai.tool.type']).toBe(t.kind === 'server' || t.kind === 'mcp' ? 'extension' : 'function')
        expect(s.parentSpanId).toBe(chat.parentSpanId) // a sibling of the chat span, under the turn
        expect(s.start).toBe(nanosOf(c.ended_at ?? c.started_at))
        const answer = answeredAt.get(t.call_id)
        if (answer && Date.parse(answer.started_at) >= Date.parse(c.ended_at ?? c.started_at)) {
          answered++
          expect(s.end).toBe(nanosOf(answer.started_at))
          const result = answer.tool_results.find((r) => r.call_id === t.call_id)
          expect(s.attributes['agenttap.tool.is_error']).toBe(result?.is_error)
          expect(s.status.code ?? 0).toBe(result?.is_error ? 2 : 0)
        }
        if (t.command !== undefined) expect(s.attributes['agenttap.tool.command']).toBe(t.command)
      }
    }
    expect(n).toBe(spans.filter((s) => s.name.startsWith('execute_tool ')).length)
    expect(n).toBeGreaterThanOrEqual(5)
    expect(answered).toBeGreaterThanOrEqual(3)
  })

  it('invoke_agent spans: one per turn (a new prompt starts one), subagents under the main turn, usage summed', () => {
    const turns = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent')
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const turnIds = new Set(turns.map((t) => t.spanId))
    // Every chat span sits under a turn of its own trace; the turn's usage is the sum of its chats'.
    const sums = new Map<string, number>()
    for (const s of spans.filter((x) => x.attributes['gen_ai.operation.name'] === 'chat')) {
      expect(turnIds.has(s.parentSpanId as string)).toBe(true)
      const turn = byId.get(s.parentSpanId as string) as DecodedSpan
      expect(turn.traceId).toBe(s.traceId)
      expect(turn.start <= s.start && turn.end >= s.end).toBe(true)
      sums.set(turn.spanId, (sums.get(turn.spanId) ?? 0) + Number(s.attributes['gen_ai.usage.output_tokens'] ?? 0))
    }
    for (const t of turns) {
      expect(t.name).toBe(`invoke_agent ${t.attributes['gen_ai.agent.name'] as string}`)
      expect(t.attributes['gen_ai.usage.output_tokens']).toBe(sums.get(t.spanId) ?? 0)
      expect(t.attributes['gen_ai.conversation.id']).toBeDefined()
      expect(t.attributes['gen_ai.provider.name']).toBeDefined()
    }
    // Turns per session = calls carrying a prompt (plus a first turn when a session starts without one).
    const sessions = new Map<string, ModelCall[]>()
    for (const c of modelCalls) sessions.set(`${c.session_id}\0${c.agent ?? ''}`, [...(sessions.get(`${c.session_id}\0${c.agent ?? ''}`) ?? []), c])
    let expected = 0
    for (const cs of sessions.values()) expected += cs.filter((c) => c.prompt !== undefined).length + (cs[0]?.prompt === undefined ? 1 : 0)
    expect(turns.length).toBe(expected)
    // cc-turn: one prompt, two calls (the second carries the Bash result) → one turn holding both.
    const t1 = byId.get(callSpanIdOf('cc-turn-1#0'))?.parentSpanId
    expect(t1).toBeDefined()
    expect(byId.get(callSpanIdOf('cc-turn-2#0'))?.parentSpanId).toBe(t1)
    const sub = modelCalls.filter((c) => c.agent !== undefined)
    for (const c of sub) {
      const turn = byId.get(byId.get(callSpanIdOf(c.key))?.parentSpanId as string) as DecodedSpan
      expect(turn.attributes['gen_ai.agent.id']).toBe(c.agent)
    }
  })

  it('metrics: gen_ai.client.token.usage and gen_ai.client.operation.duration histograms', () => {
    const points: { name: string; unit: string; attributes: Obj; count: number; sum: number }[] = []
    for (const r of received.filter((x) => x.signal === 'metrics')) {
      for (const rm of (r.body.resourceMetrics as Obj[]) ?? []) {
        for (const sm of (rm.scopeMetrics as Obj[]) ?? []) {
          for (const m of (sm.metrics as Obj[]) ?? []) {
            for (const dp of ((m.histogram as Obj | undefined)?.dataPoints as Obj[] | undefined) ?? []) points.push({ name: m.name as string, unit: m.unit as string, attributes: attrs(dp.attributes), count: Number(dp.count), sum: Number(dp.sum) })
          }
        }
      }
    }
    const usage = points.filter((p) => p.name === 'gen_ai.client.token.usage')
    const duration = points.filter((p) => p.name === 'gen_ai.client.operation.duration')
    expect(usage.every((p) => p.unit === '{token}')).toBe(true)
    expect(duration.every((p) => p.unit === 's')).toBe(true)
    const withUsage = modelCalls.filter((c) => c.usage)
    const inputSum = usage.filter((p) => p.attributes['gen_ai.token.type'] === 'input').reduce((a, p) => a + p.sum, 0)
    const inputCount = usage.filter((p) => p.attributes['gen_ai.token.type'] === 'input').reduce((a, p) => a + p.count, 0)
    expect(inputCount).toBe(withUsage.length)
    expect(inputSum).toBe(withUsage.reduce((a, c) => a + c.usage!.input + c.usage!.cache_read + c.usage!.cache_write_5m + c.usage!.cache_write_1h, 0))
    const outputSum = usage.filter((p) => p.attributes['gen_ai.token.type'] === 'output').reduce((a, p) => a + p.sum, 0)
    expect(outputSum).toBe(withUsage.reduce((a, c) => a + c.usage!.output, 0))
    for (const p of usage) {
      expect(p.attributes['gen_ai.operation.name']).toBe('chat')
      expect(['anthropic', 'openai']).toContain(p.attributes['gen_ai.provider.name'])
    }
    expect(duration.reduce((a, p) => a + p.count, 0)).toBe(modelCalls.filter((c) => c.duration_ms !== undefined).length)
  })

  it('is idempotent: a second export gives the same trace and span ids and attributes', async () => {
    const again = await startCollector()
    try {
      await exportCalls({ calls, contents }, { endpoint: again.url, metrics: false })
      const second = spansOf(again.received)
      const key = (s: DecodedSpan): string => `${s.traceId}/${s.spanId}/${s.parentSpanId ?? ''}/${s.name}/${s.start}/${s.end}/${JSON.stringify(s.attributes)}`
      expect(second.map(key).sort()).toEqual(spans.map(key).sort())
      expect(new Set(second.map((s) => s.spanId)).size).toBe(second.length)
    } finally {
      await again.close()
    }
  })
})

describe('exportCalls with content', () => {
  it('records the conventions\' message shapes, from the redacted capture', async () => {
    const { calls, contents } = fixtureCalls()
    const collector = await startCollector()
    try {
      await exportCalls({ calls, contents }, { endpoint: collector.url, content: true, metrics: false })
      const spans = spansOf(collector.received)
      const first = spans.find((s) => s.attributes['agenttap.call.key'] === 'cc-turn-1#0') as DecodedSpan
      const input = JSON.parse(first.attributes['gen_ai.input.messages'] as string) as Obj[]
      expect(input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'List the files in src/ and count the lines of the largest one.' }] }])
      const output = JSON.parse(first.attributes['gen_ai.output.messages'] as string) as { role: string; parts: Obj[]; finish_reason: string }[]
      expect(output[0]?.role).toBe('assistant')
      expect(output[0]?.finish_reason).toBe('tool_call')
      expect(output[0]?.parts.map((p) => p.type)).toEqual(['reasoning', 'text', 'tool_call'])
      const tc = output[0]?.parts[2] as { id: string; name: string; arguments: { command: string } }
      expect(tc.id).toBe('toolu_01FixtureBash000000001')
      expect(tc.name).toBe('Bash')
      expect(tc.arguments.command).toContain('ls -la src/')
      const sys = JSON.parse(first.attributes['gen_ai.system_instructions'] as string) as { type: string; content: string }[]
      expect(sys[0]?.type).toBe('text')
      expect(sys[0]?.content.length).toBeGreaterThan(10)
      const second = spans.find((s) => s.attributes['agenttap.call.key'] === 'cc-turn-2#0') as DecodedSpan
      const input2 = JSON.parse(second.attributes['gen_ai.input.messages'] as string) as { role: string; parts: { type: string; id: string; response: string }[] }[]
      expect(input2[0]?.role).toBe('tool')
      expect(input2[0]?.parts[0]?.type).toBe('tool_call_response')
      expect(input2[0]?.parts[0]?.id).toBe('toolu_01FixtureBash000000001')
      const tool = spans.find((s) => s.attributes['gen_ai.tool.call.id'] === 'toolu_01FixtureBash000000001') as DecodedSpan
      expect(JSON.parse(tool.attributes['gen_ai.tool.call.arguments'] as string)).toMatchObject({ description: 'List src and count lines' })
      expect(JSON.parse(tool.attributes['gen_ai.tool.call.result'] as string)).toContain('parser.ts')
      // Content comes from the redacted capture: no secret shape appears.
      const all = JSON.stringify(spans.map((s) => s.attributes))
      expect(all).not.toMatch(/sk-ant-api03-[A-Za-z0-9_-]{20,}/)
      expect(all).not.toMatch(/\bsk-[A-Za-z0-9]{32,}/)
    } finally {
      await collector.close()
    }
  })
})
