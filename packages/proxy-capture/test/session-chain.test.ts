// Sessions of SDK conversations (no session id of their own), chained by history as the proxy
// captures them: real TLS through the proxy to a local HTTPS provider that answers every turn,
// on the capture thread (the default) and on the proxy's own thread.
import { createServer as createHttpsServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CaptureRecord } from '@agenttap/jsonl-io'
import type { CaptureProxy, CaptureProxyOptions } from '../src/index.js'
import { proxiedRequest, readJsonlFile, selfSigned, sseBytes, startTestProxy, tempDir, type TunnelAgent } from './helpers.js'

type Message = { role: 'user' | 'assistant'; content: string | Array<Record<string, unknown>> }

/**
 * The provider: Anthropic Messages, streamed. The answer is `x-answer` (or `answer <n>`); a
 * `x-fail-first: <key>` request is answered 429 the first time that key is seen (the SDK retries).
 */
async function startProvider(dir: string): Promise<{ port: number; cert: string; close(): Promise<void> }> {
  const { key, cert } = selfSigned(dir)
  const failed = new Set<string>()
  let n = 0
  const server: Server = createHttpsServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const failKey = req.headers['x-fail-first']
      if (typeof failKey === 'string' && !failed.has(failKey)) {
        failed.add(failKey)
        res.writeHead(429, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }))
        return
      }
      const text = typeof req.headers['x-answer'] === 'string' ? req.headers['x-answer'] : `answer ${++n}`
      if (req.url?.startsWith('/v1/chat/completions')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ id: `chatcmpl-${n}`, object: 'chat.completion', model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const events = [
        { event: 'message_start', data: JSON.stringify({ type: 'message_start', message: { id: `msg_${n}`, type: 'message', role: 'assistant', model: 'claude-test', content: [], usage: { input_tokens: 5, output_tokens: 1 } } }) },
        { event: 'content_block_start', data: JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) },
        { event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(0, 3) } }) },
        { event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(3) } }) },
        { event: 'content_block_stop', data: JSON.stringify({ type: 'content_block_stop', index: 0 }) },
        { event: 'message_delta', data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }) },
        { event: 'message_stop', data: JSON.stringify({ type: 'message_stop' }) },
      ]
      res.end(events.map(sseBytes).join(''))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as AddressInfo).port,
    cert,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

const user = (text: string): Message => ({ role: 'user', content: text })
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })

for (const captureThread of [true, false]) {
  describe(`SDK conversations are one session each (captureThread: ${captureThread})`, () => {
    let root: string
    let provider: Awaited<ReturnType<typeof startProvider>>
    const records: CaptureRecord[] = []
    let proxy: CaptureProxy
    let agent: TunnelAgent
    let plain: { proxy: CaptureProxy; agent: TunnelAgent } | undefined

    const start = (extra: Partial<CaptureProxyOptions>, into: CaptureRecord[]) =>
      startTestProxy({ port: 0, caDir: join(root, 'ca'), logDir: join(root, `logs-${Object.keys(extra).join('-') || 'default'}`), includeHosts: ['127.0.0.1'], upstreamCa: provider.cert, captureThread, ...extra }, into)

    beforeAll(async () => {
      root = tempDir('agenttap-chain-')
      provider = await startProvider(root)
      ;({ proxy, agent } = await start({}, records))
      // A CA, a certificate and a capture thread to make: only bounds a hang on a loaded machine.
    }, 60_000)
    afterAll(async () => {
      await proxy?.stop()
      await plain?.proxy.stop()
      await provider?.close()
    })

    /** One SDK request (no session id of its own); resolves to its flow record, once captured. */
    async function send(via: { proxy: CaptureProxy; agent: TunnelAgent }, into: CaptureRecord[], messages: Message[], headers: Record<string, string> = {}, path = '/v1/messages'): Promise<Record<string, unknown>> {
      const tag = `${Math.random().toString(36).slice(2)}`
      const r = await proxiedRequest(via.agent, provider.port, `${path}?t=${tag}`, { headers: { 'content-type': 'application/json', 'user-agent': 'Anthropic/JS 1.17.0', ...headers }, body: JSON.stringify({ model: 'claude-test', max_tokens: 100, stream: path === '/v1/messages', messages }) })
      expect(r.error).toBeUndefined()
      await via.proxy.flush()
      const flow = into.find((x) => x.type === 'flow' && String(x['url']).includes(`t=${tag}`))
      expect(flow, `flow of ${path}?t=${tag}`).toBeDefined()
      return flow as Record<string, unknown>
    }
    const sendA = (messages: Message[], headers?: Record<string, string>, path?: string) => send({ proxy, agent }, records, messages, headers, path)

    it('every turn of a conversation, its 429 and retry included, has one session; an unrelated run has its own', async () => {
      const q = 'e2e chain: plan a trip to Lyon'
      const failed = await sendA([user(q)], { 'x-fail-first': 'lyon', 'x-answer': 'Day 1: Vieux Lyon' })
      const retry = await sendA([user(q)], { 'x-fail-first': 'lyon', 'x-answer': 'Day 1: Vieux Lyon' })
      const other = await sendA([user('e2e chain: summarize RFC 9110')])
      const t2 = await sendA([user(q), assistant('Day 1: Vieux Lyon'), user('add a museum')], { 'x-answer': 'Musée des Confluences' })
      const t3 = await sendA([user(q), assistant('Day 1: Vieux Lyon'), user('add a museum'), assistant('Musée des Confluences'), user('budget?')])
      expect(failed['status']).toBe(429)
      const session = failed['session_id']
      expect(session).toMatch(/^h[0-9a-f]{16}$/)
      for (const f of [retry, t2, t3]) expect(f['session_id']).toBe(session)
      for (const f of [failed, retry, other, t2, t3]) expect(f['session_source']).toBe('history')
      expect(other['session_id']).not.toBe(session)
      // Every record of a flow carries its flow record's session.
      const ids = new Set([failed, retry, t2, t3].map((f) => f['flow_id']))
      expect(new Set(records.filter((r) => ids.has(r.flow_id)).map((r) => r.session_id))).toEqual(new Set([session]))
      // The files hold what the records said.
      const written = readJsonlFile(join(root, 'logs-default', 'all-mitm-sse', 'sse_flows.jsonl')).filter((f) => ids.has(f['flow_id'] as string))
      expect(written.map((f) => f['session_id'])).toEqual([session, session, session, session])

      // The same script run again (same first prompt, answered): a session of its own, all its turns.
      const again = await sendA([user(q)], { 'x-answer': 'Day 1: Fourvière' })
      const again2 = await sendA([user(q), assistant('Day 1: Fourvière'), user('add a museum')])
      expect(again['session_id']).not.toBe(session)
      expect(again2['session_id']).toBe(again['session_id'])
    })

    it('two runs of one script side by side: each next turn joins the run whose answer it carries', async () => {
      const q = 'e2e chain: list the files in /tmp'
      const run1 = await sendA([user(q)], { 'x-answer': 'run one: 3 files' })
      const run2 = await sendA([user(q)], { 'x-answer': 'run two: 5 files' })
      expect(run2['session_id']).not.toBe(run1['session_id'])
      // By the history alone this turn would follow the latest run (run 2); the answer it carries is run 1's.
      const next1 = await sendA([user(q), assistant('run one: 3 files'), user('and in /var?')])
      const next2 = await sendA([user(q), assistant('run two: 5 files'), user('and in /var?')])
      expect(next1['session_id']).toBe(run1['session_id'])
      expect(next2['session_id']).toBe(run2['session_id'])
    })

    it('a non-streamed answer is remembered too (Chat Completions, stream: false)', async () => {
      const q = [{ role: 'user' as const, content: 'e2e chain: one word for blue?' }]
      const a = await sendA(q, { 'x-answer': 'azure' }, '/v1/chat/completions')
      const b = await sendA(q, { 'x-answer': 'cobalt' }, '/v1/chat/completions')
      const nextA = await sendA([...q, { role: 'assistant', content: 'azure' }, { role: 'user', content: 'another?' }], {}, '/v1/chat/completions')
      expect(a['provider']).toBe('openai')
      expect(b['session_id']).not.toBe(a['session_id'])
      expect(nextA['session_id']).toBe(a['session_id'])
    })

    it("a client's own session id is kept; sessionChain: false writes derived ids", async () => {
      const own = await sendA([user('e2e chain: hello')], { 'x-claude-code-session-id': '3F2504E0-4F89-11D3-9A0C-0305E82C3301' })
      expect(own).toMatchObject({ session_id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', session_source: 'header:x-claude-code-session-id' })
      const into: CaptureRecord[] = []
      plain = await start({ sessionChain: false }, into)
      const q = 'e2e chain: no chain'
      const t1 = await send(plain, into, [user(q)], { 'x-answer': 'ok' })
      const t2 = await send(plain, into, [user(q), assistant('ok'), user('more')])
      expect([t1['session_source'], t2['session_source']]).toEqual(['derived', 'derived'])
      expect(t2['session_id']).not.toBe(t1['session_id'])
    })
  })
}

it('the proxy refuses a session chain limit that is not a positive integer', async () => {
  const { createCaptureProxy } = await import('../src/index.js')
  expect(() => createCaptureProxy({ port: 0, sessionChain: { maxEntries: 0 } })).toThrow(/sessionChain.maxEntries must be a positive integer, received 0/)
})
