/**
 * The red-team corpus: requests, SSE answers and WebSocket sessions, each carrying secrets at
 * recorded places (a placement = one secret at one place). Deterministic for a seed.
 */
import { createRng, inContext, password, secretOf, SHAPED, type Rng, type Secret } from './secrets.js'

export interface Placement {
  kind: string
  secret: Secret
}

export interface SseEvent {
  event?: string
  id?: string
  data: string
}

export type ResponseSpec =
  | { type: 'sse'; events: SseEvent[]; gzip?: boolean; headers?: Record<string, string> }
  | { type: 'json'; body: string; gzip?: boolean; headers?: Record<string, string> }

/** An HTTPS request through the proxy (CONNECT + TLS) and what the upstream answers. */
export interface HttpCase {
  kind: 'https'
  id: string
  method: string
  /** Origin-form path; may carry secrets in its path or query. */
  path: string
  headers: Record<string, string>
  body?: string
  /** Send the body gzip-compressed (`content-encoding: gzip`). */
  gzip?: boolean
  response: ResponseSpec
  placements: Placement[]
}

/** A plain-HTTP request in absolute form (`GET http://user:pass@host/…`), the only way userinfo reaches a proxy. */
export interface PlainCase {
  kind: 'plain'
  id: string
  /** Absolute URL without the port (the test fills in the upstream's). */
  url: (port: number) => string
  placements: Placement[]
}

/** A WebSocket session (Codex's Responses over WebSocket). */
export interface WsCase {
  kind: 'ws'
  id: string
  headers: Record<string, string>
  clientFrames: string[]
  serverFrames: string[]
  close: { by: 'server' | 'client'; code: number; reason: string }
  placements: Placement[]
}

export type Case = HttpCase | PlainCase | WsCase

const WORDS = 'the agent reads the config then runs the tests and they pass because the fixture now sets the right value so we commit it with a message that says why'.split(' ')

function prose(r: Rng, words: number): string {
  return Array.from({ length: words }, () => r.pick(WORDS)).join(' ')
}

function anySecret(r: Rng, shapedOnly = false): Secret {
  const types = shapedOnly ? SHAPED : [...SHAPED, 'db-password', 'docker-auth', 'kube-client-key-data', 'github-oauth-hex', 'generic-token', 'generic-token']
  return secretOf(r, r.pick(types))
}

/** A text that holds `n` secrets in context, with prose around them. */
function textWith(r: Rng, secrets: Secret[]): string {
  const parts = [prose(r, r.int(3, 30))]
  for (const s of secrets) parts.push(inContext(r, s), prose(r, r.int(3, 40)))
  return parts.join(r.pick([' ', '\n', '\n\n', ': ', ' (', '. ']))
}

/**
 * How a text is cut into deltas: whole words (what models send), fixed sizes of 1 to 13
 * chars, or random sizes; all of them cut secrets anywhere.
 */
function split(r: Rng, text: string): string[] {
  const mode = r.int(0, 3)
  const out: string[] = []
  if (mode === 0) {
    for (const m of text.matchAll(/\S+\s*|\s+/g)) {
      if (out.length > 0 && r.next() < 0.4) out[out.length - 1] += m[0]
      else out.push(m[0])
    }
    return out
  }
  const fixed = r.pick([1, 2, 3, 4, 5, 8, 13])
  for (let i = 0; i < text.length; ) {
    const n = mode === 1 ? fixed : r.int(1, 24)
    out.push(text.slice(i, i + n))
    i += n
  }
  return out
}

const ANTHROPIC_HEAD: SseEvent[] = [{ event: 'message_start', data: JSON.stringify({ type: 'message_start', message: { id: 'msg_rt', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 12, output_tokens: 1 } } }) }]
const ANTHROPIC_TAIL: SseEvent[] = [
  { event: 'message_delta', data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 42 } }) },
  { event: 'message_stop', data: JSON.stringify({ type: 'message_stop' }) },
]

/** An Anthropic block of `kind` streamed as `pieces`. */
function anthropicBlock(index: number, kind: 'text' | 'thinking' | 'tool', pieces: string[]): SseEvent[] {
  const start = kind === 'text' ? { type: 'text', text: '' } : kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'tool_use', id: `toolu_${index}`, name: 'Bash', input: {} }
  const ev: SseEvent[] = [{ event: 'content_block_start', data: JSON.stringify({ type: 'content_block_start', index, content_block: start }) }]
  for (const p of pieces) {
    const delta = kind === 'text' ? { type: 'text_delta', text: p } : kind === 'thinking' ? { type: 'thinking_delta', thinking: p } : { type: 'input_json_delta', partial_json: p }
    ev.push({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index, delta }) })
  }
  if (kind === 'thinking') ev.push({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'EqQBCkYIBxgCKkBfixture==' } }) })
  ev.push({ event: 'content_block_stop', data: JSON.stringify({ type: 'content_block_stop', index }) })
  return ev
}

function responsesEvents(items: Array<{ kind: 'text' | 'args'; pieces: string[] }>): SseEvent[] {
  let seq = 0
  const ev = (o: Record<string, unknown>): SseEvent => ({ event: String(o['type']), data: JSON.stringify({ ...o, sequence_number: seq++ }) })
  const out: SseEvent[] = [ev({ type: 'response.created', response: { id: 'resp_rt', status: 'in_progress', output: [] } })]
  items.forEach((it, i) => {
    const id = it.kind === 'text' ? `msg_${i}` : `fc_${i}`
    if (it.kind === 'text') {
      out.push(ev({ type: 'response.output_item.added', output_index: i, item: { id, type: 'message', role: 'assistant', content: [] } }))
      out.push(ev({ type: 'response.content_part.added', item_id: id, output_index: i, content_index: 0, part: { type: 'output_text', text: '' } }))
      for (const p of it.pieces) out.push(ev({ type: 'response.output_text.delta', item_id: id, output_index: i, content_index: 0, delta: p }))
      out.push(ev({ type: 'response.output_text.done', item_id: id, output_index: i, content_index: 0, text: it.pieces.join('') }))
      out.push(ev({ type: 'response.output_item.done', output_index: i, item: { id, type: 'message', role: 'assistant', content: [{ type: 'output_text', text: it.pieces.join('') }] } }))
    } else {
      out.push(ev({ type: 'response.output_item.added', output_index: i, item: { id, type: 'function_call', name: 'shell', call_id: `call_${i}`, arguments: '' } }))
      for (const p of it.pieces) out.push(ev({ type: 'response.function_call_arguments.delta', item_id: id, output_index: i, delta: p }))
      out.push(ev({ type: 'response.function_call_arguments.done', item_id: id, output_index: i, arguments: it.pieces.join('') }))
    }
  })
  out.push(ev({ type: 'response.completed', response: { id: 'resp_rt', status: 'completed', usage: { input_tokens: 10, output_tokens: 20 } } }))
  return out
}

function chatEvents(text: string[], args: string[]): SseEvent[] {
  const chunk = (delta: Record<string, unknown>): SseEvent => ({ data: JSON.stringify({ id: 'chatcmpl-rt', object: 'chat.completion.chunk', model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: null }] }) })
  const out: SseEvent[] = [chunk({ role: 'assistant', content: '' })]
  for (const p of text) out.push(chunk({ content: p }))
  args.forEach((p, i) => out.push(chunk({ tool_calls: [{ index: 0, ...(i === 0 ? { id: 'call_rt', type: 'function', function: { name: 'shell', arguments: p } } : { function: { arguments: p } }) }] })))
  out.push({ data: '[DONE]' })
  return out
}

const ANTHROPIC_REQ_HEADERS = {
  'content-type': 'application/json',
  'user-agent': 'claude-cli/2.0.14 (external, cli)',
  'anthropic-version': '2023-06-01',
  'x-claude-code-session-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
}

/** A small, secret-free Anthropic request body (the placements of a case are elsewhere). */
function plainRequest(r: Rng): string {
  return JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 4096, stream: true, messages: [{ role: 'user', content: prose(r, 12) }] })
}

/** A secret-free SSE answer. */
function plainAnswer(r: Rng): ResponseSpec {
  return { type: 'sse', events: [...ANTHROPIC_HEAD, ...anthropicBlock(0, 'text', split(r, prose(r, 20))), ...ANTHROPIC_TAIL] }
}

export interface Corpus {
  cases: Case[]
  placements: number
  /**
   * Controls: words no pattern takes for a secret (lowercase letters only), placed like secrets
   * in a prompt, in 2-char SSE deltas and in WebSocket frames. The capture keeps them, so the
   * search must find every one: a search that finds nothing proves nothing.
   */
  controls: { prompt: Placement; sse: Placement; ws: Placement }
}

/**
 * Builds the corpus. `scale` multiplies the number of cases of each kind (1 gives over 1,000
 * placements).
 */
export function buildCorpus(seed: number, scale = 1): Corpus {
  const r = createRng(seed)
  const cases: Case[] = []
  let n = 0
  const id = (): string => `rt${++n}`
  const times = (k: number): number => Math.max(1, Math.round(k * scale))

  // Request headers: credentials under the usual names, any casing, and in custom headers.
  for (let i = 0; i < times(30); i++) {
    const oauth = secretOf(r, r.pick(['anthropic-oauth', 'jwt', 'generic-token']))
    const key = secretOf(r, r.pick(['anthropic-key', 'openai-key']))
    const cookie = secretOf(r, 'generic-token')
    const custom = secretOf(r, r.pick(['google-key', 'generic-token', 'github-pat']))
    const basic = secretOf(r, 'db-password')
    const customName = r.pick(['x-goog-api-key', 'X-Auth-Token', 'x-upstream-secret', 'X-Amz-Security-Token', 'x-gitlab-token'])
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/messages?beta=true',
      headers: {
        ...ANTHROPIC_REQ_HEADERS,
        [r.pick(['authorization', 'Authorization', 'AUTHORIZATION'])]: `${r.pick(['Bearer', 'bearer'])} ${oauth.value}`,
        [r.pick(['x-api-key', 'X-Api-Key'])]: key.value,
        cookie: `theme=dark; __session=${cookie.value}; lang=en`,
        [customName]: custom.value,
        'x-forwarded-authorization': `Basic ${Buffer.from(`ci:${basic.value}`).toString('base64')}`,
      },
      body: plainRequest(r),
      response: plainAnswer(r),
      placements: [oauth, key, cookie, custom, { ...basic, material: [Buffer.from(`ci:${basic.value}`).toString('base64').slice(4)] }].map((secret) => ({ kind: 'request-header', secret })),
    })
  }

  // Response headers: a session cookie and an echoed key.
  for (let i = 0; i < times(10); i++) {
    const cookie = secretOf(r, 'generic-token')
    const key = secretOf(r, 'openai-key')
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/messages', headers: ANTHROPIC_REQ_HEADERS, body: plainRequest(r),
      response: { ...(plainAnswer(r) as { type: 'sse'; events: SseEvent[] }), headers: { 'set-cookie': `__Secure-session=${cookie.value}; Path=/; HttpOnly; Secure`, 'x-debug-api-key': key.value } },
      placements: [cookie, key].map((secret) => ({ kind: 'response-header', secret })),
    })
  }

  // URLs: keys in the query and in the path.
  for (let i = 0; i < times(25); i++) {
    const q = secretOf(r, r.pick(['google-key', 'jwt', 'generic-token', 'openai-key']))
    const p = secretOf(r, r.pick(['openai-key', 'slack-token', 'github-pat', 'anthropic-key']))
    const name = r.pick(['key', 'access_token', 'token', 'api_key', 'client_secret', 'sig', 'X-Amz-Signature'])
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: `/v1/keys/${p.value}/messages?beta=true&${name}=${q.value}&page=2`, headers: ANTHROPIC_REQ_HEADERS, body: plainRequest(r), response: plainAnswer(r),
      placements: [{ kind: 'url-path', secret: p }, { kind: 'url-query', secret: q }],
    })
  }

  // URL userinfo: a password, or a token as the user name.
  for (let i = 0; i < times(20); i++) {
    const s = i % 2 === 0 ? secretOf(r, 'github-oauth-hex') : { ...secretOf(r, 'db-password') }
    const pw = s.type === 'db-password' ? s.value.replace(/[^A-Za-z0-9!*._~+=-]/g, '') : s.value
    const secret = { ...s, value: pw, material: [pw] }
    cases.push({ kind: 'plain', id: id(), url: (port) => (s.type === 'db-password' ? `http://deploy:${pw}@127.0.0.1:${port}/v1/messages` : `http://${pw}@127.0.0.1:${port}/v1/messages`), placements: [{ kind: 'url-userinfo', secret }] })
  }

  // Request bodies: prompts, tool results with pasted files, JSON fields; some gzip-compressed.
  for (let i = 0; i < times(70); i++) {
    const promptSecrets = [anySecret(r)]
    const toolSecrets = Array.from({ length: r.int(2, 4) }, () => anySecret(r))
    const fieldSecret = secretOf(r, r.pick(['generic-token', 'db-password', 'openai-key']))
    const file = r.pick(['.env', 'config.yaml', 'settings.py', '~/.netrc', '~/.docker/config.json', '~/.kube/config', 'id_ed25519'])
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5', max_tokens: 32000, stream: true,
      system: [{ type: 'text', text: 'You are Claude Code, an agent for software engineering.' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: textWith(r, promptSecrets) }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: `cat ${file}` } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: textWith(r, toolSecrets) }] },
      ],
      metadata: { user_id: `user_${'ab'.repeat(32)}_account__session_3f2504e0-4f89-11d3-9a0c-0305e82c3301`, [r.pick(['api_key', 'password', 'access_token', 'client_secret'])]: fieldSecret.value },
    })
    const gzip = i % 4 === 3
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/messages?beta=true', headers: ANTHROPIC_REQ_HEADERS, body, gzip, response: plainAnswer(r),
      placements: [
        ...promptSecrets.map((secret) => ({ kind: gzip ? 'body-gzip' : 'body-prompt', secret })),
        ...toolSecrets.map((secret) => ({ kind: gzip ? 'body-gzip' : 'body-tool-result', secret })),
        { kind: gzip ? 'body-gzip' : 'body-json-field', secret: fieldSecret },
      ],
    })
  }

  // Form and plain-text bodies.
  for (let i = 0; i < times(15); i++) {
    const rt = secretOf(r, 'generic-token')
    const cs = secretOf(r, 'generic-token')
    const txt = anySecret(r)
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${rt.value}&client_id=cli&client_secret=${cs.value}`, response: { type: 'json', body: JSON.stringify({ ok: true }) },
      placements: [rt, cs].map((secret) => ({ kind: 'body-form', secret })),
    })
    cases.push({ kind: 'https', id: id(), method: 'POST', path: '/v1/notes', headers: { 'content-type': 'text/plain' }, body: textWith(r, [txt]), response: { type: 'json', body: '{"ok":true}' }, placements: [{ kind: 'body-text', secret: txt }] })
  }

  // SSE answers: text, thinking and tool arguments in Anthropic's shape; Responses; Chat
  // Completions; raw data; each cut into deltas every way, some gzip-compressed.
  for (let i = 0; i < times(60); i++) {
    const text = Array.from({ length: r.int(1, 3) }, () => anySecret(r))
    const thinking = r.next() < 0.5 ? [anySecret(r)] : []
    const tool = [anySecret(r)]
    const args = JSON.stringify({ command: `${r.pick(['echo', 'curl -s', 'printf %s'])} '${inContext(r, tool[0] as Secret).replace(/'/g, '')}' > /tmp/out`, description: prose(r, 5) })
    const blocks: SseEvent[] = [...ANTHROPIC_HEAD]
    let idx = 0
    if (thinking.length > 0) blocks.push(...anthropicBlock(idx++, 'thinking', split(r, textWith(r, thinking))))
    blocks.push(...anthropicBlock(idx++, 'text', split(r, textWith(r, text))))
    blocks.push(...anthropicBlock(idx++, 'tool', split(r, args)))
    blocks.push(...ANTHROPIC_TAIL)
    const gzip = i % 5 === 4
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/messages?beta=true', headers: ANTHROPIC_REQ_HEADERS, body: plainRequest(r), response: { type: 'sse', events: blocks, gzip },
      placements: [
        ...text.map((secret) => ({ kind: gzip ? 'sse-gzip' : 'sse-text', secret })),
        ...thinking.map((secret) => ({ kind: gzip ? 'sse-gzip' : 'sse-thinking', secret })),
        ...tool.map((secret) => ({ kind: gzip ? 'sse-gzip' : 'sse-tool-args', secret })),
      ],
    })
  }
  for (let i = 0; i < times(30); i++) {
    const text = [anySecret(r), anySecret(r)]
    const tool = anySecret(r)
    const args = JSON.stringify({ command: ['bash', '-lc', `${inContext(r, tool)}`] })
    const openaiHeaders = { 'content-type': 'application/json', originator: 'codex_cli_rs', session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' }
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/responses', headers: openaiHeaders, body: JSON.stringify({ model: 'gpt-5-codex', input: [{ role: 'user', content: prose(r, 8) }], stream: true }),
      response: { type: 'sse', events: responsesEvents([{ kind: 'text', pieces: split(r, textWith(r, text)) }, { kind: 'args', pieces: split(r, args) }]) },
      placements: [...text.map((secret) => ({ kind: 'sse-responses', secret })), { kind: 'sse-responses', secret: tool }],
    })
    const chatText = anySecret(r)
    const chatTool = anySecret(r)
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      response: { type: 'sse', events: chatEvents(split(r, textWith(r, [chatText])), split(r, JSON.stringify({ cmd: inContext(r, chatTool) }))) },
      placements: [chatText, chatTool].map((secret) => ({ kind: 'sse-chat', secret })),
    })
    const raw = anySecret(r)
    cases.push({
      kind: 'https', id: id(), method: 'GET', path: '/stream/raw', headers: {}, response: { type: 'sse', events: [...split(r, textWith(r, [raw])).map((p) => ({ event: 'chunk', data: p })), { data: '[DONE]' }] },
      placements: [{ kind: 'sse-raw-data', secret: raw }],
    })
  }

  // Long answers: a key in 4 deltas starting at each delta from #250 to #260 of 320.
  for (let at = 250; at <= 260; at++) {
    for (const shape of ['anthropic', 'responses'] as const) {
      const key = secretOf(r, r.pick(['anthropic-key', 'openai-key', 'github-pat']))
      const pieces = Array.from({ length: 320 }, () => ` ${prose(r, r.int(1, 3))}`)
      const v = key.value
      const q = Math.ceil(v.length / 4)
      pieces.splice(at, 4, ` my key is ${v.slice(0, q)}`, v.slice(q, 2 * q), v.slice(2 * q, 3 * q), `${v.slice(3 * q)} keep it safe.`)
      const events = shape === 'anthropic' ? [...ANTHROPIC_HEAD, ...anthropicBlock(0, 'text', pieces), ...ANTHROPIC_TAIL] : responsesEvents([{ kind: 'text', pieces }])
      cases.push({ kind: 'https', id: id(), method: 'POST', path: shape === 'anthropic' ? '/v1/messages' : '/v1/responses', headers: ANTHROPIC_REQ_HEADERS, body: plainRequest(r), response: { type: 'sse', events }, placements: [{ kind: 'sse-deltas-250-260', secret: key }] })
    }
  }

  // A private key in 8-char deltas and a 1.2 KB JWT in 2-char deltas, late in long answers.
  for (let i = 0; i < times(6); i++) {
    const pem = secretOf(r, r.pick(['rsa-private-key', 'pgp-private-key', 'openssh-key-head4']))
    const jwt = secretOf(r, 'jwt')
    const chunked = (s: string, k: number): string[] => Array.from({ length: Math.ceil(s.length / k) }, (_, j) => s.slice(j * k, j * k + k))
    const pieces = [...Array.from({ length: 200 }, () => ` ${prose(r, 2)}`), ' Here it is:\n', ...chunked(pem.value, 8), '\n\nand the token: ', ...chunked(jwt.value, 2), ' done.', ...Array.from({ length: 40 }, () => ` ${prose(r, 2)}`)]
    cases.push({ kind: 'https', id: id(), method: 'POST', path: '/v1/messages', headers: ANTHROPIC_REQ_HEADERS, body: plainRequest(r), response: { type: 'sse', events: [...ANTHROPIC_HEAD, ...anthropicBlock(0, 'text', pieces), ...ANTHROPIC_TAIL] }, placements: [pem, jwt].map((secret) => ({ kind: 'sse-long-tiny-deltas', secret })) })
  }

  // The SSE id: field.
  for (let i = 0; i < times(20); i++) {
    const s = secretOf(r, r.pick(['anthropic-key', 'openai-key', 'github-pat', 'jwt', 'google-key', 'slack-token']))
    cases.push({ kind: 'https', id: id(), method: 'GET', path: '/v1/events', headers: {}, response: { type: 'sse', events: [{ event: 'ping', id: s.value, data: '{"type":"ping"}' }, { event: 'message_stop', data: '{"type":"message_stop"}' }] }, placements: [{ kind: 'sse-id-field', secret: s }] })
  }

  // JSON (non-streamed) answers that echo a secret, some gzip-compressed.
  for (let i = 0; i < times(15); i++) {
    const s = anySecret(r)
    cases.push({
      kind: 'https', id: id(), method: 'POST', path: '/v1/messages', headers: ANTHROPIC_REQ_HEADERS, body: plainRequest(r),
      response: { type: 'json', gzip: i % 3 === 0, body: JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: textWith(r, [s]) }], usage: { input_tokens: 3, output_tokens: 9 } }) },
      placements: [{ kind: 'response-json', secret: s }],
    })
  }

  // WebSocket sessions: secrets in client frames (the first is the request body), in server
  // frames split over deltas, and in a close reason.
  for (let i = 0; i < times(25); i++) {
    const first = anySecret(r)
    const later = anySecret(r)
    const served = [anySecret(r), anySecret(r)]
    const closeSecret = secretOf(r, r.pick(['openai-key', 'github-pat', 'google-key', 'stripe-key']))
    // A close reason holds at most 123 bytes: what of the key fits is the secret to look for.
    const reasonText = `token revoked: ${closeSecret.value}`.slice(0, 123)
    const closeMaterial = [reasonText.slice('token revoked: '.length + closeSecret.value.length - (closeSecret.material[0] as string).length)]
    const serverFrames = [JSON.stringify({ type: 'response.created', sequence_number: 0, response: { id: 'resp_ws' } })]
    let seq = 1
    for (const p of split(r, textWith(r, served))) serverFrames.push(JSON.stringify({ type: 'response.output_text.delta', sequence_number: seq++, item_id: 'msg_ws', output_index: 0, content_index: 0, delta: p }))
    serverFrames.push(JSON.stringify({ type: 'response.completed', sequence_number: seq, response: { id: 'resp_ws', usage: { input_tokens: 1, output_tokens: 2 } } }))
    cases.push({
      kind: 'ws', id: id(), headers: { originator: 'codex_cli_rs', session_id: '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' },
      clientFrames: [
        JSON.stringify({ type: 'response.create', model: 'gpt-5-codex', prompt_cache_key: 'pck', instructions: 'You are Codex.', input: [{ role: 'user', content: textWith(r, [first]) }] }),
        JSON.stringify({ type: 'response.create', input: [{ type: 'function_call_output', call_id: 'call_1', output: textWith(r, [later]) }] }),
      ],
      serverFrames,
      close: { by: i % 2 === 0 ? 'server' : 'client', code: 4000 + i, reason: reasonText },
      placements: [
        { kind: 'ws-client-frame', secret: first },
        { kind: 'ws-client-frame', secret: later },
        ...served.map((secret) => ({ kind: 'ws-server-frame', secret })),
        { kind: 'ws-close-reason', secret: { ...closeSecret, material: closeMaterial } },
      ],
    })
  }

  const word = (kind: string): Placement => {
    const w = r.chars('abcdefghijklmnopqrstuvwxyz', 24)
    return { kind, secret: { type: 'control', value: w, material: [w] } }
  }
  const controls = { prompt: word('control-prompt'), sse: word('control-sse-2-char-deltas'), ws: word('control-ws-frames') }
  const pairs = (s: string): string[] => Array.from({ length: Math.ceil(s.length / 2) }, (_, j) => s.slice(2 * j, 2 * j + 2))
  cases.push({
    kind: 'https', id: id(), method: 'POST', path: '/v1/messages', headers: ANTHROPIC_REQ_HEADERS,
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: `the code word is ${controls.prompt.secret.value} today` }] }),
    response: { type: 'sse', events: [...ANTHROPIC_HEAD, ...anthropicBlock(0, 'text', [' it is ', ...pairs(controls.sse.secret.value), ' ok']), ...ANTHROPIC_TAIL] },
    placements: [],
  })
  cases.push({
    kind: 'ws', id: id(), headers: { originator: 'codex_cli_rs' }, clientFrames: [JSON.stringify({ type: 'response.create', model: 'gpt-5-codex', input: [{ role: 'user', content: 'hi' }] })],
    serverFrames: pairs(controls.ws.secret.value).map((p, j) => JSON.stringify({ type: 'response.output_text.delta', sequence_number: j, item_id: 'm', output_index: 0, content_index: 0, delta: p })),
    close: { by: 'server', code: 1000, reason: '' }, placements: [],
  })
  return { cases, placements: cases.reduce((a, c) => a + c.placements.length, 0), controls }
}

/** Weak passwords a dictionary holds; the capture must give no way to test them. */
export function weakPasswordCases(words: readonly string[]): HttpCase[] {
  return words.map((w, i) => ({
    kind: 'https' as const, id: `weak${i}`, method: 'POST', path: '/v1/messages', headers: ANTHROPIC_REQ_HEADERS,
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: `my .env has DB_PASS=${w} and the admin password: ${w}` }] }),
    response: { type: 'sse' as const, events: [...ANTHROPIC_HEAD, ...ANTHROPIC_TAIL] },
    placements: [],
  }))
}

export { password }
