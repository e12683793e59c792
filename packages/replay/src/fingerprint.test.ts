import { describe, expect, it } from 'vitest'
import { describeUnit, firstDifference, requestPrint } from './fingerprint.js'
import { servedHeaders } from './load.js'

const base = () => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 32000,
  stream: true,
  system: [{ type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.3.abc; cc_entrypoint=cli; cch=1a2b3;' }, { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
  tools: [{ name: 'Bash', input_schema: { type: 'object' } }],
  metadata: { user_id: 'user_aa_account__session_11111111-2222-4333-8444-555555555555' },
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'List the files', cache_control: { type: 'ephemeral' } }] },
    { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'sig' }, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }] },
  ],
})
const print = (body: unknown) => requestPrint({ body, method: 'POST', url: '/v1/messages?beta=true' })

describe('requestPrint', () => {
  it('is the same for the same point of a conversation, whatever the volatile fields say', () => {
    const a = base()
    const b = base()
    b.system[0]!.text = 'x-anthropic-billing-header: cc_version=2.1.3.abc; cc_entrypoint=cli; cch=9f8e7;'
    b.metadata.user_id = 'user_bb_account__session_99999999-2222-4333-8444-555555555555'
    b.max_tokens = 1000
    b.stream = false
    delete (b.messages[0]!.content[0] as { cache_control?: unknown }).cache_control
    // Clients drop or re-send thinking blocks: not part of the conversation's identity.
    b.messages[1]!.content.shift()
    expect(print(b).key).toBe(print(a).key)
  })

  it('differs by model, system, tools and any message, and says which came first', () => {
    const a = print(base())
    const model = base()
    model.model = 'claude-opus-4-5'
    expect(firstDifference(a, print(model))).toEqual({ field: 'model', expected: 'claude-sonnet-4-5', received: 'claude-opus-4-5' })
    const sys = base()
    sys.system[1]!.text = 'You are someone else.'
    expect(firstDifference(a, print(sys)).field).toBe('system')
    const tools = base()
    tools.tools.push({ name: 'Read', input_schema: { type: 'object' } })
    expect(firstDifference(a, print(tools)).field).toBe('tools')
    const msg = base()
    ;(msg.messages[2]!.content[0] as { content: string }).content = 'b.txt'
    expect(print(msg).key).not.toBe(a.key)
    expect(firstDifference(a, print(msg))).toEqual({ field: 'history', index: 2, at: 27, expected: 'user: tool result toolu_1: a.txt', received: 'user: tool result toolu_1: b.txt' })
    const shorter = base()
    shorter.messages.pop()
    expect(firstDifference(a, print(shorter))).toMatchObject({ field: 'history', index: 2, received: '(no message: the request ends here)' })
  })

  it("ignores the chunk id and wall time of Codex's exec_command results, not their output", () => {
    const codex = (chunk: string, wall: string, out: string) => ({
      type: 'response.create',
      model: 'gpt-5.1-codex',
      instructions: 'You are Codex.',
      tools: [{ type: 'function', name: 'exec_command', parameters: { type: 'object' } }],
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'echo it' }] },
        { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"echo hi"}' },
        { type: 'function_call_output', call_id: 'call_1', output: `Chunk ID: ${chunk}\nWall time: ${wall} seconds\nProcess exited with code 0\nOriginal token count: 1\nOutput:\n${out}\n` },
      ],
    })
    const p = (body: unknown) => requestPrint({ body, method: 'POST', url: '/v1/responses' })
    const a = p(codex('acd0de', '0.0000', 'hi'))
    expect(p(codex('8759e1', '0.0312', 'hi')).key).toBe(a.key)
    // The same as JSON text and as bytes, as the server receives it.
    expect(p(JSON.stringify(codex('8759e1', '1.5', 'hi'))).key).toBe(a.key)
    expect(p(new TextEncoder().encode(JSON.stringify(codex('4c25f9', '0.0001', 'hi')))).key).toBe(a.key)
    const other = p(codex('acd0de', '0.0000', 'ho'))
    expect(other.key).not.toBe(a.key)
    expect(firstDifference(a, other)).toMatchObject({ field: 'history', index: 2 })
  })

  it('prints a non-model request by its method and path', () => {
    const p = requestPrint({ body: undefined, method: 'GET', url: '/api/claude_code/policy_limits?x=1' })
    expect(p).toMatchObject({ api: 'aux', route: 'GET /api/claude_code/policy_limits' })
    expect(firstDifference(p, requestPrint({ body: undefined, method: 'GET', url: '/api/claude_code/settings' }))).toMatchObject({ field: 'route' })
  })

  it('describes a unit as a person reads it', () => {
    expect(describeUnit('u["List the files"]')).toBe('user: List the files')
    expect(describeUnit(`u[${JSON.stringify('x'.repeat(400))}]`)?.length).toBe(240)
  })
})

describe('servedHeaders', () => {
  it('leaves out hop-by-hop, length, encoding and redacted headers', () => {
    expect(servedHeaders({ 'content-type': 'text/event-stream', 'Content-Length': '12', 'content-encoding': 'gzip', connection: 'keep-alive', 'transfer-encoding': 'chunked', 'set-cookie': ['a=[REDACTED:0123456789ab]', 'theme=dark'], 'x-api-key': 'sk-ant-[REDACTED:0123456789ab]', 'request-id': 'req_1' }))
      .toEqual({ 'content-type': 'text/event-stream', 'set-cookie': ['theme=dark'], 'request-id': 'req_1' })
  })
})
