/**
 * One client's end-to-end check, shared by the suites: start the fake provider, Redis stream and
 * the built proxy (with its web view), run the client once through it, then assert — from what
 * the fake provider sent — the client's output, the capture, the monitor (--json and a real
 * terminal), every analyze mode and the web view's API.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUNDLED_PRICES } from '@agenttap/extractors'
import { getTestRedis, type TestRedis } from '../../../test-support/redis.js'
import type { RunResult } from '../src/agents.js'
import { analyze, filesUnder, findSecrets, hasTmux, monitorJson, monitorScreen, readCapture, webApi, type Capture, type Rec } from '../src/observe.js'
import { startProxy, type RunningProxy } from '../src/proxy.js'
import type { Answer } from '../src/streams.js'
import { CODEX_RESET_AT, SHELL_COMMAND, startFakeUpstream, wireEvents, type Api, type FakeUpstream, type ReceivedRequest, type SentAnswer } from '../src/upstream.js'

export interface RunContext {
  proxy: RunningProxy
  upstream: FakeUpstream
  prompt: string
  /** Fake API keys: `anthropic` and `openai`, each a vendor prefix + a random part. */
  keys: { anthropic: string; openai: string }
  root: string
}

export interface ClientCase {
  name: string
  /** `e2etag_…`: marks the conversation in the prompt. */
  tag: string
  api: Api
  client: 'claude-code' | 'codex' | 'unknown'
  provider: 'anthropic' | 'openai'
  /** The session id the client itself sent (found, not derived), from a request the provider received. */
  realSession?: (req: ReceivedRequest) => string | undefined
  /** HTTP errors answered before the first real answer (the client retries). */
  errors: number[]
  run(ctx: RunContext): Promise<RunResult>
  /** Checks of the client's own output beyond "exit 0 and the final text". */
  checkOutput?: (r: RunResult, answers: { tool: Answer; final: Answer }) => void
  /**
   * Start this client as soon as the suite is defined, beside the file's other clients (each has
   * its own provider, proxy, Redis stream and tag; the checks still run one suite after the
   * other). For light clients only: under load, a second Claude Code slows the first past
   * `agenttap-proxy run`'s 800 ms health check of the proxy it should reuse.
   */
  concurrent?: boolean
  /** Known defects: the named checks are expected to fail (`it.fails`) until fixed. */
  knownDefects?: Partial<Record<string, string>>
}

/** The error kind analyze's `errors` mode gives each HTTP error of the fake provider (its type is the provider's). */
const ERROR_KINDS: Record<number, string> = { 429: 'rate_limit', 529: 'overloaded', 503: 'overloaded' }

const pathOf = (url: unknown): string => new URL(String(url)).pathname

/** The shell command of parsed tool arguments (Bash `command`, exec_command `cmd`, shell `command[]`). */
export function commandOf(args: Record<string, unknown>): string {
  const c = args['cmd'] ?? args['command']
  return Array.isArray(c) ? String(c[c.length - 1]) : String(c)
}

function costOf(model: string, u: Answer['usage']): number {
  const key = Object.keys(BUNDLED_PRICES.models)
    .filter((k) => model.startsWith(k))
    .sort((a, b) => b.length - a.length)[0]
  const p = BUNDLED_PRICES.models[key as string] as { input: number; output: number; cache_read: number; cache_write: number }
  return (u.input * p.input + u.cacheRead * p.cache_read + u.cacheWrite5m * p.cache_write + u.cacheWrite1h * 2 * p.input + u.output * p.output) / 1e6
}

/** Defines the describe block of one client. */
export function clientSuite(c: ClientCase): void {
  const root = mkdtempSync(join(tmpdir(), `agenttap-e2e-${c.name.replace(/\W+/g, '-')}-`))
  const logDir = join(root, 'logs')
  const stream = `agenttap:e2e:${c.tag}:${process.pid}:${Date.now()}`
  const prompt = `${c.tag}: list the files in /tmp, then tell me what you found.`
  const secretParts = { anthropic: randomBytes(30).toString('base64url'), openai: randomBytes(30).toString('base64url') }
  const keys = { anthropic: `sk-ant-api03-${secretParts.anthropic}`, openai: `sk-proj-${secretParts.openai}` }
  let redis: TestRedis
  let upstream: FakeUpstream
  let proxy: RunningProxy
  let result: RunResult
  let cap: Capture
  let mine: SentAnswer[]
  let tool: SentAnswer
  let final: SentAnswer
  let errs: SentAnswer[]
  /** sent answer → its flow */
  const flowOf = new Map<SentAnswer, Rec>()
  let session = ''
  /** The flows of the conversation's answers. */
  let flowIds = new Set<string>()
  /** analyze's rows per mode, for the conversation's session. */
  let modeRows: Record<string, Array<Record<string, unknown>>> = {}
  let monitorEvents: Array<Record<string, unknown>> = []
  let webFlows: Array<Record<string, unknown>> = []
  const timing = { client: 0, readBack: 0 }
  let webUrl = ''

  /** Each answer's flow: an SSE/WS answer by its response id in the flow's events, an HTTP error by its status and body, in order. */
  const mapFlows = (capture: Capture): void => {
    flowOf.clear()
    const usedErrorFlows = new Set<string>()
    for (const s of mine) {
      if (s.phase === 'error') {
        const end = capture.ends.find((e) => e['type'] === 'flow_end' && e['status'] === s.status && !usedErrorFlows.has(e.flow_id) && JSON.stringify(e['body']).includes(s.error?.message ?? '\u0000'))
        if (end) {
          usedErrorFlows.add(end.flow_id)
          const flow = capture.flows.find((f) => f.flow_id === end.flow_id)
          if (flow) flowOf.set(s, flow)
        }
        continue
      }
      const id = (s.answer as Answer).id
      const line = capture.lines.find((l) => l['type'] === 'sse' && String(l['data']).includes(`"${id}"`))
      const flow = line && capture.flows.find((f) => f.flow_id === line.flow_id)
      if (flow) flowOf.set(s, flow)
    }
  }

  const check = (name: string, fn: () => Promise<void> | void): void => {
    const why = c.knownDefects?.[name]
    if (why !== undefined) it.fails(`${name} — KNOWN DEFECT: ${why}`, fn)
    else it(name, fn)
  }

  /** Starts the provider, the proxy and the client, and waits for the conversation. */
  const setup = async (): Promise<void> => {
    redis = await getTestRedis()
    upstream = await startFakeUpstream({ dir: root, errors: (api, tag) => (tag === c.tag && api === c.api ? [...c.errors] : []) })
    proxy = await startProxy({ logDir, caDir: join(root, 'ca'), upstreamCa: upstream.caPath, connectTo: upstream.connectTo, redis: { url: redis.url, stream }, web: true })
    webUrl = proxy.webUrl ?? ''
    const t0 = Date.now()
    result = await c.run({ proxy, upstream, prompt, keys, root })
    timing.client = (Date.now() - t0) / 1000
    // The web view is checked while the proxy runs; the capture once it has flushed and stopped.
    mine = upstream.sent.filter((s) => s.tag === c.tag && s.phase !== 'aux')
    const t = mine.find((s) => s.phase === 'tool')
    const f = mine.find((s) => s.phase === 'final')
    if (!t || !f) throw new Error(`${c.name}: the conversation did not run (exit ${result.code}):\nstdout: ${result.stdout.slice(-3000)}\nstderr: ${result.stderr.slice(-3000)}\nsent: ${upstream.sent.map((s) => `${s.api} ${s.phase} ${s.status} ${s.tag ?? ''}`).join(', ')}`)
    tool = t
    final = f
    errs = mine.filter((s) => s.phase === 'error')
  }
  const early = c.concurrent === true ? setup() : undefined
  // Reported by the suite's beforeAll; not an unhandled rejection before it runs.
  early?.catch(() => undefined)

  describe(c.name, () => {
    beforeAll(() => early ?? setup())

    afterAll(async () => {
      await proxy?.stop()
      await upstream?.close()
      const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      await client.connect().catch(() => undefined)
      await client.del(stream).catch(() => undefined)
      client.disconnect()
    })

    it('the client ran the tool and printed the answer the provider streamed', () => {
      expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0)
      expect(result.stdout).toContain((final.answer as Answer).text)
      expect(errs.map((e) => e.status)).toEqual(c.errors)
      expect(upstream.unknown, 'every endpoint the client called is known to the fake provider').toEqual([])
      c.checkOutput?.(result, { tool: tool.answer as Answer, final: final.answer as Answer })
    })

    check('the web view lists the flows while the proxy runs', async () => {
      // The flows as the capture has them so far (the proxy writes them as they end).
      let ids: string[] = []
      let listed: Array<Record<string, unknown>> = []
      for (let i = 0; i < 100; i++) {
        if (i) await new Promise((r) => setTimeout(r, 100))
        mapFlows(readCapture(logDir))
        ids = [...new Set(mine.map((s) => flowOf.get(s)?.flow_id).filter((f): f is string => f !== undefined))]
        const all = ((await webApi(webUrl, '/api/flows')) as { flows: Array<Record<string, unknown>> }).flows
        listed = all.filter((f) => ids.includes(String(f['flow_id'])) && f['state'] === 'DONE')
        if (flowOf.size === mine.length && listed.length === ids.length) break
      }
      expect(flowOf.size, 'every answer has its flow in the capture').toBe(mine.length)
      expect(listed.map((f) => f['flow_id']).sort()).toEqual([...ids].sort())
      for (const f of listed) {
        expect(f['client']).toBe(c.client)
        expect(f['provider']).toBe(c.provider)
        const answers = mine.filter((s) => flowOf.get(s)?.flow_id === f['flow_id'])
        expect(f['outcome']).toBe(answers.some((s) => s.phase !== 'error') ? 'completed' : 'error')
        if (c.realSession) expect(f['session_id']).toBe(c.realSession(upstream.requests[final.request] as ReceivedRequest))
      }
      webFlows = listed
    })

    check('the web view shows the conversation as one session', () => {
      expect(webFlows.length).toBeGreaterThan(0)
      expect(new Set(webFlows.map((f) => f['session_id'])).size).toBe(1)
    })

    check('the web view shows the prompt in the list and in the session', async () => {
      const toolFlow = flowOf.get(tool)?.flow_id
      const f = webFlows.find((x) => x['flow_id'] === toolFlow)
      expect(String(f?.['prompt'] ?? ''), JSON.stringify(f)).toContain(c.tag)
      const detail = (await webApi(webUrl, `/api/sessions/${encodeURIComponent(String(f?.['session_id']))}`)) as Record<string, unknown>
      expect(JSON.stringify(detail)).toContain(c.tag)
    })

    describe('after the proxy stopped', () => {
      beforeAll(async () => {
        expect(await proxy.stop()).toBe(0)
        const t1 = Date.now()
        cap = readCapture(logDir)
        mapFlows(cap)
        // The session analyze gives the conversation (for clients without a session id of their
        // own it chains requests by history, so it can differ from the capture's derived id).
        const finalFlow = flowOf.get(final)?.flow_id
        const flowRows = await analyze(logDir, 'flows')
        session = String(flowRows.find((r) => r['flow_id'] === finalFlow)?.['session_id'] ?? '')
        flowIds = new Set(mine.map((s) => flowOf.get(s)?.flow_id).filter((f): f is string => f !== undefined))
        // Every mode as its own command, as a user runs them; in parallel (the index is current
        // after the `flows` run above, so they only read it).
        const modes = ['prompts', 'turns --mode paired', 'tool_calls', 'tool_results', 'usage', 'cost', 'errors', 'sessions', 'quota']
        const out = await Promise.all(modes.map((m) => analyze(logDir, m, ['--session', session]).then((r) => [m, r] as const)))
        modeRows = Object.fromEntries(out)
        monitorEvents = await monitorJson(logDir)
        timing.readBack = (Date.now() - t1) / 1000
        console.info(`[e2e] ${c.name}: client ${timing.client.toFixed(1)} s, capture + analyze (10 runs) + monitor --json ${timing.readBack.toFixed(1)} s`)
      })

      check('capture: every answer has its flow, client and provider classified, one session found', () => {
        for (const s of mine) expect(flowOf.get(s), `no flow for the ${s.phase} answer (${s.status})`).toBeDefined()
        const flows = mine.map((s) => flowOf.get(s) as Rec)
        for (const f of flows) {
          expect(f['client']).toBe(c.client)
          expect(f['provider']).toBe(c.provider)
        }
        if (c.realSession) {
          expect(new Set(flows.map((f) => f['session_id'])).size).toBe(1)
          const real = c.realSession(upstream.requests[final.request] as ReceivedRequest)
          expect(real, 'the client sent a session id').toBeTruthy()
          expect(session).toBe(real)
          for (const f of flows) expect(f['session_source']).not.toBe('derived')
        } else {
          // No session id of its own: the proxy chained the conversation by history, its 429 / 5xx
          // retries included, and analyze and the web view read that one session.
          expect(new Set(flows.map((f) => f['session_source']))).toEqual(new Set(['history']))
          expect(new Set(flows.map((f) => f['session_id']))).toEqual(new Set([session]))
          expect(new Set(webFlows.map((f) => f['session_id']))).toEqual(new Set([session]))
        }
      })

      check('capture: every event in order, as the provider sent it', () => {
        const byConnection = new Map<number, SentAnswer[]>()
        for (const s of mine.filter((x) => x.transport === 'ws')) byConnection.set(s.connection ?? 0, [...(byConnection.get(s.connection ?? 0) ?? []), s])
        for (const s of mine) {
          if (s.phase === 'error') continue
          const flow = flowOf.get(s) as Rec
          const got = cap.lines.filter((l) => l.flow_id === flow.flow_id && l['type'] === 'sse').map((l) => l['data'])
          // A WebSocket flow holds every response of its connection (prewarm ones included).
          const on = s.transport === 'ws' ? upstream.sent.filter((x) => x.transport === 'ws' && x.connection === s.connection) : [s]
          expect(got).toEqual(on.flatMap((x) => wireEvents(x).map((e) => e.data)))
          const seqs = cap.lines.filter((l) => l.flow_id === flow.flow_id).map((l) => l['seq'])
          expect(seqs).toEqual(seqs.map((_, i) => i))
        }
      })

      check('capture: one end per flow, with the right outcome', () => {
        const ends = cap.ends.filter((e) => e['type'] === 'flow_end')
        for (const f of cap.flows) expect(ends.filter((e) => e.flow_id === f.flow_id).length, `flow ${String(f['url'])}`).toBe(1)
        for (const s of mine) {
          const end = ends.find((e) => e.flow_id === (flowOf.get(s) as Rec).flow_id) as Rec
          expect(end['outcome'], `${s.phase} ${String(end['error'] ?? '')}`).toBe(s.phase === 'error' ? 'error' : 'completed')
          if (s.phase === 'error') expect(end['body']).toEqual(s.error?.body)
        }
      })

      check('capture: no API key in any file under the log root nor in the Redis stream', async () => {
        const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
        await client.connect()
        const entries = (await client.xrange(stream, '-', '+')) as Array<[string, string[]]>
        client.disconnect()
        expect(entries.length).toBeGreaterThan(0)
        const files = filesUnder(logDir)
        // Control: the conversation's tag is found the same way, so an empty result means something.
        expect(findSecrets([`${c.tag}-list-the`.slice(0, 10)], files).length).toBeGreaterThan(0)
        const hay = [...files, ...entries.map(([id, f]) => ({ path: `redis ${stream} ${id}`, text: f.join('\n') })), { path: 'proxy stderr', text: proxy.stderr() }]
        expect(findSecrets([secretParts.anthropic, secretParts.openai], hay)).toEqual([])
      })

      check('monitor --json: text, the shell command and usage', async () => {
        const events = monitorEvents.filter((e) => flowIds.has(String(e['flow_id'])))
        const text = events
          .filter((e) => e['type'] === 'text_delta')
          .map((e) => e['text'] ?? e['delta'])
          .join('')
        expect(text).toContain((final.answer as Answer).text)
        if ((tool.answer as Answer).text) expect(text).toContain((tool.answer as Answer).text)
        const ends = events.filter((e) => e['type'] === 'tool_call_end')
        expect(ends.map((e) => commandOf(e['parsed'] as Record<string, unknown>))).toEqual([SHELL_COMMAND])
        expect(ends.map((e) => e['call_id'])).toEqual([(tool.answer as Answer).toolCalls[0]?.id])
        // One conversation, one session on the monitor too (its session guard keeps one session's cards together).
        expect(new Set(events.map((e) => e['session_id']))).toEqual(new Set([session]))
        const outputs = events.filter((e) => e['type'] === 'usage').map((e) => (e['usage'] as Record<string, number>)['output_tokens'])
        expect(outputs).toContain((tool.answer as Answer).usage.output)
        expect(outputs).toContain((final.answer as Answer).usage.output)
      })

      check('monitor --json: the tool result', async () => {
        const events = monitorEvents.filter((e) => flowIds.has(String(e['flow_id'])))
        const results = events.filter((e) => /tool_result/.test(String(e['type'])))
        expect(results.map((e) => e['call_id'])).toEqual([(tool.answer as Answer).toolCalls[0]?.id])
      })

      check('monitor screen (tmux): text, $ command, tool result and usage', async () => {
        if (!hasTmux) return
        const finalText = (final.answer as Answer).text
        const screen = await monitorScreen(logDir, new RegExp(`out ${(final.answer as Answer).usage.output}\\b`))
        expect(screen).toContain(finalText.slice(0, 40))
        expect(screen).toContain(`$ ${SHELL_COMMAND}`)
        expect(screen).toMatch(/↳ \S+ result/)
        expect(screen).toMatch(new RegExp(`out ${(tool.answer as Answer).usage.output}\\b`))
        expect(screen).toMatch(new RegExp(`out ${(final.answer as Answer).usage.output}\\b`))
      })

      check('analyze prompts and turns --mode paired', async () => {
        const prompts = modeRows['prompts'] ?? []
        expect(prompts.map((r) => r['text'])).toEqual([prompt])
        const turns = modeRows['turns --mode paired'] ?? []
        expect(turns.map((r) => [r['prompt'], r['response']])).toEqual([[prompt, (final.answer as Answer).text]])
      })

      check('analyze tool_calls and tool_results', async () => {
        const calls = modeRows['tool_calls'] ?? []
        const sentCall = (tool.answer as Answer).toolCalls[0] as { id: string; name: string; arguments: string }
        expect(calls.map((r) => ({ call_id: r['call_id'], name: r['name'], args: JSON.parse(String(r['arguments'])) as unknown, complete: r['complete'] }))).toEqual([{ call_id: sentCall.id, name: sentCall.name, args: JSON.parse(sentCall.arguments), complete: true }])
        const results = modeRows['tool_results'] ?? []
        expect(results.map((r) => ({ call_id: r['call_id'], name: r['name'], is_error: r['is_error'] }))).toEqual([{ call_id: sentCall.id, name: sentCall.name, is_error: false }])
        // The output the client sent back (as the provider received it) holds the listing.
        expect(String(results[0]?.['output'])).toMatch(/total \d+/)
        expect(JSON.stringify(upstream.requests[final.request]?.body)).toContain(JSON.stringify(String(results[0]?.['output'])).slice(1, 60))
      })

      check('analyze usage and cost', async () => {
        const usage = modeRows['usage'] ?? []
        const answered = [tool, final].map((s) => s.answer as Answer)
        expect(usage.map((r) => [r['input_tokens'], r['cache_read_tokens'], r['cache_write_tokens'], r['cache_write_1h_tokens'], r['output_tokens']])).toEqual(answered.map((a) => [a.usage.input, a.usage.cacheRead, a.usage.cacheWrite5m + a.usage.cacheWrite1h, a.usage.cacheWrite1h, a.usage.output]))
        if (c.provider === 'openai') expect(usage.map((r) => r['reasoning_tokens'])).toEqual(answered.map((a) => a.usage.reasoning))
        const cost = modeRows['cost'] ?? []
        expect(cost.length).toBe(2)
        answered.forEach((a, i) => expect(cost[i]?.['cost_usd'] as number).toBeCloseTo(costOf(a.model, a.usage), 9))
      })

      if (c.client === 'codex') {
        check('analyze quota: the codex.rate_limits event sent before each answer', async () => {
          const rows = (modeRows['quota'] ?? []).filter((r) => r['window'] === '5h')
          const reset = new Date(CODEX_RESET_AT * 1000).toISOString()
          const answered = [tool, final].filter((s) => s.codexRateLimit !== undefined)
          expect(answered.length, 'the fake backend sent codex.rate_limits to Codex').toBe(2)
          for (const s of answered) {
            expect(rows, `quota row of the ${s.phase} answer`).toContainEqual(expect.objectContaining({ flow_id: flowOf.get(s)?.flow_id, used: (s.codexRateLimit as number) / 100, reset, account: 'openai · codex' }))
          }
          // Every reading is one the stream sent (the fake backend sends no x-codex-* headers).
          const sentPercents = new Set(upstream.sent.flatMap((s) => (s.codexRateLimit === undefined ? [] : [s.codexRateLimit / 100])))
          for (const r of rows) expect(sentPercents.has(r['used'] as number), `quota row ${JSON.stringify(r)}`).toBe(true)
        })
      }

      check('analyze errors', async () => {
        const rows = modeRows['errors'] ?? []
        expect(rows.map((r) => ({ status: r['status'], kind: r['kind'], error_type: r['error_type'], message: r['message'] }))).toEqual(errs.map((e) => ({ status: e.status, kind: ERROR_KINDS[e.status], error_type: e.error?.type, message: e.error?.message })))
      })

      check('analyze sessions', async () => {
        const rows = modeRows['sessions'] ?? []
        const answered = [tool, final].map((s) => s.answer as Answer)
        const sum = (f: (a: Answer) => number): number => answered.reduce((n, a) => n + f(a), 0)
        expect(rows.length).toBe(1)
        const r = rows[0] as Record<string, unknown>
        expect({ client: r['client'], turns: r['turns'], errors: r['errors'], input: r['input_tokens'], cache_read: r['cache_read_tokens'], cache_write: r['cache_write_tokens'], output: r['output_tokens'] }).toEqual({ client: c.client, turns: 1, errors: errs.length, input: sum((a) => a.usage.input), cache_read: sum((a) => a.usage.cacheRead), cache_write: sum((a) => a.usage.cacheWrite5m + a.usage.cacheWrite1h), output: sum((a) => a.usage.output) })
        expect(r['cost_usd'] as number).toBeCloseTo(sum((a) => costOf(a.model, a.usage)), 9)
      })
    })
  })
}

export { pathOf }
