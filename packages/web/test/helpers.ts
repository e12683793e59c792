import { cpSync, mkdtempSync, readFileSync, rmSync, appendFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))

/** Records of one fixture scenario. */
export function fixtureRecords(name: string): Record<string, unknown>[] {
  return readFileSync(join(FIXTURES, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A temp log root; `withCapture` copies fixtures/capture into it. */
export function tempLogDir(withCapture: boolean): { dir: string; cap: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'agenttap-web-'))
  const cap = join(dir, 'all-mitm-sse')
  if (withCapture) cpSync(join(FIXTURES, 'capture'), dir, { recursive: true })
  else mkdirSync(cap, { recursive: true })
  return { dir, cap, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

const FILE_OF: Record<string, string> = { flow: 'sse_flows.jsonl', sse: 'sse_lines.jsonl', flow_end: 'sse_flow_ends.jsonl' }

/** Appends records to the capture files as the proxy would (one line each). */
export function appendRecords(cap: string, records: readonly Record<string, unknown>[]): void {
  for (const r of records) appendFileSync(join(cap, FILE_OF[r['type'] as string] as string), `${JSON.stringify(r)}\n`)
}

/**
 * A Claude Code flow (Anthropic stream) whose prompt holds markup and whose tool call is a Bash
 * command, split into the records the proxy writes: flow, sse…, flow_end.
 */
export function streamedFlow(flow_id: string, session_id: string, prompt: string, command: string): { flow: Record<string, unknown>; sse: Record<string, unknown>[]; end: Record<string, unknown> } {
  const t0 = Date.now()
  const ts = (ms: number) => new Date(t0 + ms).toISOString()
  const base = { v: 1, flow_id, session_id }
  const flow = {
    ...base,
    type: 'flow',
    ts: ts(0),
    flow_seq: 1,
    client: 'claude-code',
    provider: 'anthropic',
    session_source: 'header:x-claude-code-session-id',
    method: 'POST',
    url: 'https://api.anthropic.com/v1/messages?beta=true',
    status: 200,
    request_headers: { host: 'api.anthropic.com', authorization: 'Bearer [REDACTED sha256:000000000000]' },
    response_headers: { 'content-type': 'text/event-stream' },
    request_body: {
      model: 'claude-sonnet-4-5-20250929',
      max_tokens: 32000,
      system: [{ type: 'text', text: 'You are Claude Code.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }],
      tools: [{ name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }],
    },
  }
  const args = JSON.stringify({ command, description: 'run it' })
  const cut = Math.floor(args.length / 3)
  const events: [string, unknown][] = [
    ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], usage: { input_tokens: 12, cache_creation_input_tokens: 100, cache_read_input_tokens: 4321, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Running it <b>now</b>.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_web1', name: 'Bash', input: {} } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, cut) } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(cut) } }],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 77 } }],
    ['message_stop', { type: 'message_stop' }],
  ]
  const sse = events.map(([event, data], seq) => ({ ...base, type: 'sse', ts: ts(300 + seq), seq, t_ms: 300 + seq, event, data: JSON.stringify(data) }))
  const end = { ...base, type: 'flow_end', ts: ts(400), outcome: 'completed', status: 200, events: sse.length, bytes: 2000, ttfb_ms: 300, duration_ms: 400 }
  return { flow, sse, end }
}
