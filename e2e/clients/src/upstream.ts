/**
 * The fake provider: one local HTTPS server (127.0.0.1, a CA of its own) that plays Anthropic and
 * OpenAI for real clients. It answers every endpoint they call (unknown ones are logged and get a
 * 404), streams realistic answers (thinking, text, tool calls whose arguments are cut inside
 * escapes, usage with cache reads and writes, gzip on some), makes each conversation run one shell
 * command (`ls -la /tmp`) and then answer, and fails the first model request of a conversation with
 * the configured HTTP errors (429 then 529 / 503) so the clients retry. Everything it sent is in
 * `sent`, for the tests to compute expected rows from.
 */
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync, gzipSync } from 'node:zlib'
import { WebSocketServer, type WebSocket } from 'ws'
import { createUpstreamTls } from './certs.js'
import { anthropicEvents, anthropicJson, chatEvents, providerError, responsesEvents, sseText, type Answer, type FakeError, type FakeUsage, type WireEvent } from './streams.js'

/** The command every agent is made to run. */
export const SHELL_COMMAND = 'ls -la /tmp'

export type Api = 'anthropic' | 'responses' | 'chat'

/** One request the fake provider received. */
export interface ReceivedRequest {
  n: number
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON body (or frame), or the text when not JSON. */
  body: unknown
  transport: 'http' | 'ws'
}

/** One answer the fake provider sent (a model answer, an HTTP error, or an aux reply). */
export interface SentAnswer {
  /** Index into `requests` of the request it answers. */
  request: number
  api: Api | 'aux'
  path: string
  transport: 'sse' | 'json' | 'ws'
  status: number
  gzip: boolean
  /** The conversation tag (`e2e-…` in the prompt) it belongs to, if any. */
  tag?: string
  /** `tool`: asked for the shell command; `final`: answered after the tool result; `aux`: not a model turn of the conversation. */
  phase: 'tool' | 'final' | 'error' | 'aux'
  answer?: Answer
  error?: FakeError
  /** The prompt the answered request carried (the conversation's first user text). */
  prompt?: string
  /** For WebSocket answers: the connection's number (one flow per connection). */
  connection?: number
  /**
   * Codex's 5-hour window use (percent) sent in a `codex.rate_limits` event before the response,
   * as the ChatGPT backend does; set for streamed answers to Codex (its `originator` header).
   */
  codexRateLimit?: number
}

export interface FakeUpstreamOptions {
  /** Directory for the TLS files. */
  dir: string
  /**
   * HTTP errors to answer, in order, to the first model requests of each conversation before the
   * real answer. @defaultValue Anthropic `[429, 529]`, OpenAI `[429, 503]`
   */
  errors?: (api: Api, tag: string) => number[]
  /** Gzip the final answer of a conversation when the client accepts it. @defaultValue true */
  gzipFinal?: boolean
  /**
   * The shell command the agent is made to run. @defaultValue {@link SHELL_COMMAND} (its output
   * changes between runs: a run that must send the same tool result twice, e.g. against a replay,
   * needs a command with a fixed output)
   */
  command?: string
}

export interface FakeUpstream {
  port: number
  /** PEM of the CA that signed the upstream's certificate (the proxy's `--upstream-ca`). */
  caPath: string
  /** `--connect-to` rules sending the real provider hosts here. */
  connectTo: string[]
  requests: ReceivedRequest[]
  sent: SentAnswer[]
  /** Requests to endpoints the fake provider does not know (answered 404). */
  unknown: Array<{ method: string; path: string }>
  close(): Promise<void>
}

const MODEL_PATHS: Record<string, Api> = { '/v1/messages': 'anthropic', '/v1/responses': 'responses', '/v1/chat/completions': 'chat', '/backend-api/codex/responses': 'responses' }

/** Aux endpoints and their (JSON) answers. */
function auxAnswer(method: string, path: string): unknown {
  if (path.startsWith('/api/claude_code/policy_limits')) return { restrictions: {} }
  if (path.startsWith('/api/claude_code/settings')) return {}
  if (path.startsWith('/api/claude_code/')) return {}
  if (path.startsWith('/api/claude_cli/bootstrap')) return {}
  if (path.startsWith('/api/claude_code_penguin_mode')) return { enabled: false }
  if (path.startsWith('/api/directory/server-urls')) return {}
  if (path === '/v1/models' || path.startsWith('/v1/models?') || path.startsWith('/backend-api/codex/models')) return { object: 'list', data: [{ id: 'gpt-5.1-codex', object: 'model', created: 1764800000, owned_by: 'openai' }], models: [] }
  if (path.startsWith('/api/oauth/') || path.startsWith('/api/hello')) return {}
  if (path.startsWith('/backend-api/plugins/')) return { plugins: [] }
  if (method === 'POST' && path.startsWith('/v1/messages/count_tokens')) return { input_tokens: 1234 }
  return undefined
}

function isText(b: { type?: unknown; text?: unknown }): b is { type: 'text'; text: string } {
  return b.type === 'text' && typeof b.text === 'string'
}

const TAG = /\be2etag_[a-z0-9_]+/

/** The first user text of a request (Anthropic `messages`, Responses `input`, Chat `messages`) and its tag. */
function conversationOf(api: Api, body: Record<string, unknown>): { prompt?: string; tag?: string; toolResult: boolean } {
  const list = (api === 'responses' ? body['input'] : body['messages']) as unknown[] | string | undefined
  const texts: string[] = []
  let toolResult = false
  if (typeof list === 'string') texts.push(list)
  for (const m of Array.isArray(list) ? list : []) {
    const msg = m as Record<string, unknown>
    const type = msg['type']
    if (type === 'function_call_output' || type === 'custom_tool_call_output' || msg['role'] === 'tool') toolResult = true
    if (msg['role'] !== 'user') continue
    const content = msg['content']
    if (typeof content === 'string') texts.push(content)
    else if (Array.isArray(content))
      for (const b of content as Array<Record<string, unknown>>) {
        if (b['type'] === 'tool_result') toolResult = true
        else if (isText(b) || b['type'] === 'input_text') texts.push(String(b['text']))
      }
  }
  const tagged = texts.find((t) => TAG.test(t))
  const tag = tagged !== undefined ? TAG.exec(tagged)?.[0] : undefined
  return { ...(tagged !== undefined && tag !== undefined ? { prompt: tagged, tag } : {}), toolResult }
}

/** The shell tool call the agent is asked to make, shaped for the tools the request offers. */
function shellCall(api: Api, body: Record<string, unknown>, id: string, command: string): { id: string; name: string; arguments: string } {
  const tools = (body['tools'] as Array<Record<string, unknown>> | undefined) ?? []
  const names = tools.map((t) => String(t['name'] ?? (t['function'] as Record<string, unknown> | undefined)?.['name'] ?? ''))
  // Arguments with escapes (\" \n \u00e9) so the argument deltas can be cut inside them.
  const note = `List \\"/tmp\\" (caf\\u00e9)\\n`
  if (api === 'anthropic') {
    const name = names.find((n) => n === 'Bash') ?? names.find((n) => /bash|shell/i.test(n)) ?? names[0] ?? 'Bash'
    return { id, name, arguments: `{"command":"${command}","description":"${note}"}` }
  }
  // Codex refuses unknown or escalation fields, so its escapes sit in the command itself:
  // `\u002f` is `/`: the command still reads `ls -la /tmp` once decoded.
  const escaped = command.replace('/', '\\u002f')
  if (names.includes('exec_command')) return { id, name: 'exec_command', arguments: `{"cmd":"${escaped}","yield_time_ms":10000}` }
  if (names.includes('shell_command')) return { id, name: 'shell_command', arguments: `{"command":"${escaped}","timeout_ms":10000}` }
  if (names.includes('shell')) return { id, name: 'shell', arguments: `{"command":["bash","-lc","${escaped}"],"timeout_ms":10000}` }
  const name = names.find((n) => /bash|shell/i.test(n)) ?? names[0] ?? 'shell'
  return { id, name, arguments: `{"command":"${command}","note":"${note}"}` }
}

/** The events (SSE events or WebSocket frames) an answer was sent as; none for errors and aux replies. */
export function wireEvents(s: SentAnswer): WireEvent[] {
  const a = s.answer
  if (!a || s.api === 'aux') return []
  if (s.api === 'anthropic') return anthropicEvents(a)
  if (s.api === 'chat') return chatEvents(a)
  return s.codexRateLimit === undefined ? responsesEvents(a) : [codexRateLimitsEvent(s.codexRateLimit), ...responsesEvents(a)]
}

/** When the fake 5-hour window resets (Unix seconds). */
export const CODEX_RESET_AT = 1795186800

/** The `codex.rate_limits` event of the ChatGPT backend (the shape codex-rs's `parse_rate_limit_event` reads). */
export function codexRateLimitsEvent(primary: number): WireEvent {
  const data = { type: 'codex.rate_limits', plan_type: 'plus', rate_limits: { primary: { used_percent: primary, window_minutes: 300, reset_at: CODEX_RESET_AT }, secondary: null }, credits: null, metered_limit_name: null, limit_name: null }
  return { event: 'codex.rate_limits', data: JSON.stringify(data) }
}

/** Codex's requests carry `originator: codex_cli_rs` / `codex_exec`, and a `codex_…/<version>` user agent. */
const fromCodex = (headers: Record<string, string | string[] | undefined>): boolean => /^codex/.test(String(headers['originator'] ?? '')) || /^codex/.test(String(headers['user-agent'] ?? ''))

/** The percent the fake backend reports for request `n`: rising with each request, under 100. */
const ratePercent = (n: number): number => 20 + ((n * 7) % 70)

/** Starts the fake provider on 127.0.0.1 (a free port). */
export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const tls = createUpstreamTls(opts.dir)
  const requests: ReceivedRequest[] = []
  const sent: SentAnswer[] = []
  const unknown: Array<{ method: string; path: string }> = []
  const errorsLeft = new Map<string, number[]>()
  const turns = new Map<string, number>()
  const gzipFinal = opts.gzipFinal ?? true
  const command = opts.command ?? SHELL_COMMAND
  const errorsFor = opts.errors ?? ((api: Api) => (api === 'anthropic' ? [429, 529] : [429, 503]))
  let counter = 0
  const responseTags = new Map<string, { tag: string; prompt?: string }>()
  let connections = 0

  const usageFor = (api: Api, phase: 'tool' | 'final', n: number): FakeUsage =>
    api === 'anthropic'
      ? phase === 'tool'
        ? { input: 12 + n, cacheRead: 9000 + n, cacheWrite5m: 1500, cacheWrite1h: 300, output: 57, reasoning: 0 }
        : { input: 40 + n, cacheRead: 10800 + n, cacheWrite5m: 210, cacheWrite1h: 0, output: 23, reasoning: 0 }
      : phase === 'tool'
        ? { input: 1100 + n, cacheRead: 2048, cacheWrite5m: 0, cacheWrite1h: 0, output: 88, reasoning: 64 }
        : { input: 300 + n, cacheRead: 3072, cacheWrite5m: 0, cacheWrite1h: 0, output: 31, reasoning: 0 }

  /** Decides what to answer a model request with. */
  const plan = (api: Api, body: Record<string, unknown>, request: number, path: string, transport: SentAnswer['transport']): SentAnswer => {
    const conv = conversationOf(api, body)
    // A Responses request continuing a stored response (`previous_response_id`, Codex over
    // WebSocket) carries only the new input: it belongs to that response's conversation.
    const previous = typeof body['previous_response_id'] === 'string' ? responseTags.get(body['previous_response_id']) : undefined
    if (conv.tag === undefined && previous !== undefined) Object.assign(conv, previous)
    const model = typeof body['model'] === 'string' ? body['model'] : 'fake-model'
    const hasTools = Array.isArray(body['tools']) && body['tools'].length > 0
    const n = ++counter
    const idPrefix = api === 'anthropic' ? 'msg_e2e_' : api === 'responses' ? 'resp_e2e_' : 'chatcmpl-e2e-'
    const base = { request, api, path, transport, status: 200, gzip: false, ...(conv.tag !== undefined ? { tag: conv.tag } : {}), ...(conv.prompt !== undefined ? { prompt: conv.prompt } : {}) }
    if (conv.tag === undefined || !hasTools) {
      // Not a turn of a scripted conversation (titles, quota checks, summaries): a short answer.
      const answer: Answer = { id: `${idPrefix}${n}`, model, thinking: '', text: 'OK', toolCalls: [], stopReason: api === 'anthropic' ? 'end_turn' : 'stop', usage: { input: 5, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 1, reasoning: 0 } }
      return { ...base, phase: 'aux', answer }
    }
    const key = `${api}:${conv.tag}`
    if (!conv.toolResult) {
      if (!errorsLeft.has(key)) errorsLeft.set(key, [...errorsFor(api, conv.tag)])
      const status = errorsLeft.get(key)?.shift()
      if (status !== undefined) return { ...base, status, transport: 'json', phase: 'error', error: providerError(api === 'anthropic' ? 'anthropic' : 'openai', status) }
    }
    const turn = (turns.get(key) ?? 0) + 1
    turns.set(key, turn)
    if (!conv.toolResult) {
      const call = shellCall(api, body, api === 'anthropic' ? `toolu_e2e_${n}` : `call_e2e_${n}`, command)
      const answer: Answer = { id: `${idPrefix}${n}`, model, thinking: `The user wants the files in /tmp. I will run ${SHELL_COMMAND} first.`, text: api === 'chat' ? '' : `Let me list /tmp for ${conv.tag}.`, toolCalls: [call], stopReason: api === 'anthropic' ? 'tool_use' : api === 'chat' ? 'tool_calls' : 'completed', usage: usageFor(api, 'tool', n) }
      if (api === 'chat') answer.thinking = ''
      return { ...base, phase: 'tool', answer }
    }
    const answer: Answer = { id: `${idPrefix}${n}`, model, thinking: '', text: `Done for ${conv.tag}: /tmp is listed above, with its hidden files and permissions.`, toolCalls: [], stopReason: api === 'anthropic' ? 'end_turn' : api === 'chat' ? 'stop' : 'completed', usage: usageFor(api, 'final', n) }
    return { ...base, phase: 'final', answer }
  }

  const remember = (s: SentAnswer): SentAnswer => {
    if (s.answer && s.tag !== undefined) responseTags.set(s.answer.id, { tag: s.tag, ...(s.prompt !== undefined ? { prompt: s.prompt } : {}) })
    return s
  }

  const eventsOf = wireEvents

  /** Writes SSE text in uneven pieces (events cut across TCP writes), gzip when asked. */
  const writeSse = async (res: ServerResponse, text: string, gzip: boolean, seed: number): Promise<void> => {
    const bytes = gzip ? gzipSync(Buffer.from(text)) : Buffer.from(text)
    let x = seed
    for (let i = 0; i < bytes.length; ) {
      x = (x * 1103515245 + 12345) & 0x7fffffff
      const n = x % 5 === 0 ? 1 + (x % 13) : 40 + (x % 700)
      res.write(bytes.subarray(i, i + n))
      i += n
      if (x % 3 === 0) await new Promise((r) => setImmediate(r))
    }
    res.end()
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let raw = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip' && raw.length > 0) raw = gunzipSync(raw)
      const text = raw.toString('utf8')
      let body: unknown = text
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        /* not JSON: kept as text */
      }
      const url = req.url ?? '/'
      const path = url.split('?')[0] ?? url
      const n = requests.push({ n: requests.length, method: req.method ?? 'GET', path: url, headers: req.headers, body, transport: 'http' }) - 1
      const acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
      const api = req.method === 'POST' ? MODEL_PATHS[path] : undefined
      if (api === undefined) {
        const aux = auxAnswer(req.method ?? 'GET', path)
        if (aux === undefined) {
          unknown.push({ method: req.method ?? 'GET', path: url })
          res.writeHead(404, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { type: 'not_found_error', message: `fake provider: no ${req.method} ${path}` } }))
          return
        }
        const json = Buffer.from(JSON.stringify(aux))
        const gzip = acceptsGzip
        sent.push({ request: n, api: 'aux', path: url, transport: 'json', status: 200, gzip, phase: 'aux' })
        res.writeHead(200, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) })
        res.end(gzip ? gzipSync(json) : json)
        return
      }
      const b = (body ?? {}) as Record<string, unknown>
      const stream = b['stream'] === true
      const s = remember(plan(api, b, n, url, stream ? 'sse' : 'json'))
      if (s.error) {
        sent.push(s)
        res.writeHead(s.status, { 'content-type': 'application/json', 'retry-after-ms': '10', 'retry-after': '0', 'x-should-retry': 'true', 'request-id': `req_e2e_${n}` })
        res.end(JSON.stringify(s.error.body))
        return
      }
      const a = s.answer as Answer
      if (!stream) {
        sent.push({ ...s, transport: 'json' })
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_e2e_${n}` })
        res.end(JSON.stringify(api === 'anthropic' ? anthropicJson(a) : { id: a.id, object: 'response', status: 'completed', model: a.model, output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: a.text }] }] }))
        return
      }
      const gzip = gzipFinal && s.phase === 'final' && acceptsGzip
      if (api === 'responses' && fromCodex(req.headers)) s.codexRateLimit = ratePercent(n)
      sent.push({ ...s, gzip })
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_e2e_${n}`, 'x-request-id': `req_e2e_${n}`, ...(gzip ? { 'content-encoding': 'gzip' } : {}), ...(api === 'anthropic' ? { 'anthropic-ratelimit-unified-status': 'allowed', 'anthropic-ratelimit-unified-5h-utilization': '0.12' } : {}) })
      writeSse(res, sseText(eventsOf(s)), gzip, n * 7919).catch(() => res.destroy())
    })
  }

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, handle)
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0] ?? ''
    if (MODEL_PATHS[path] !== 'responses') {
      unknown.push({ method: 'WS', path: req.url ?? '/' })
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const connection = ++connections
      requests.push({ n: requests.length, method: 'GET', path: req.url ?? '/', headers: req.headers, body: undefined, transport: 'ws' })
      // Frames are answered one at a time, in order, as a real server does on one connection.
      let queue = Promise.resolve()
      ws.on('message', (data, isBinary) => {
        if (isBinary) return
        queue = queue.then(async () => {
          const text = data.toString()
          let body: Record<string, unknown> = {}
          try {
            body = JSON.parse(text) as Record<string, unknown>
          } catch {
            /* not JSON */
          }
          const n = requests.push({ n: requests.length, method: 'WS', path: req.url ?? '/', headers: req.headers, body, transport: 'ws' }) - 1
          if (body['type'] !== 'response.create') return
          // Prewarm frames (`generate: false`) get an empty response, as the real server does.
          const conv = conversationOf('responses', body)
          const s: SentAnswer = body['generate'] === false ? { request: n, api: 'responses', path: req.url ?? '/', transport: 'ws', status: 200, gzip: false, phase: 'aux', answer: { id: `resp_e2e_${++counter}`, model: String(body['model'] ?? ''), thinking: '', text: '', toolCalls: [], stopReason: 'completed', usage: { input: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 0, reasoning: 0 } }, ...(conv.tag !== undefined ? { tag: conv.tag } : {}), ...(conv.prompt !== undefined ? { prompt: conv.prompt } : {}) } : plan('responses', body, n, req.url ?? '/', 'ws')
          if (s.error) {
            // Errors are not scripted on WebSocket turns: answer for real instead.
            errorsLeft.set(`responses:${s.tag}`, [])
          }
          const real = remember(s.error ? plan('responses', body, n, req.url ?? '/', 'ws') : s)
          if (fromCodex(req.headers)) real.codexRateLimit = ratePercent(n)
          sent.push({ ...real, transport: 'ws', connection })
          for (const e of eventsOf(real)) {
            if (ws.readyState !== ws.OPEN) return
            ws.send(e.data)
            await new Promise((r) => setImmediate(r))
          }
        })
      })
    })
  })

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    caPath: tls.caPath,
    connectTo: ['api.anthropic.com', 'api.openai.com', 'chatgpt.com'].map((h) => `${h}:443:127.0.0.1:${port}`),
    requests,
    sent,
    unknown,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}
