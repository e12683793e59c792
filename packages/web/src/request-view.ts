import { requestTurn } from '@agenttap/session-extractor'
import type { RequestMessage, RequestPart, RequestTool, RequestView } from './types.js'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function pretty(v: unknown): string {
  if (typeof v === 'string') return v
  try {
    return JSON.stringify(v, null, 2) ?? String(v)
  } catch {
    return String(v)
  }
}

/** Pretty JSON of a string that holds JSON (tool arguments), or the string as it is. */
function prettyJsonString(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s), null, 2)
  } catch {
    return s
  }
}

function contentParts(content: unknown): RequestPart[] {
  if (typeof content === 'string') return [{ kind: 'text', text: content }]
  if (!Array.isArray(content)) return content === undefined || content === null ? [] : [{ kind: 'other', text: pretty(content) }]
  const parts: RequestPart[] = []
  for (const c of content) {
    if (typeof c === 'string') {
      parts.push({ kind: 'text', text: c })
      continue
    }
    if (!isObj(c)) continue
    const type = str(c['type']) ?? ''
    switch (type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        parts.push({ kind: 'text', text: str(c['text']) ?? '' })
        break
      case 'thinking':
        parts.push({ kind: 'thinking', text: str(c['thinking']) ?? '' })
        break
      case 'redacted_thinking':
        parts.push({ kind: 'thinking', text: '[redacted thinking]' })
        break
      case 'tool_use':
      case 'server_tool_use':
        parts.push({ kind: 'tool_use', title: `${str(c['name']) ?? 'tool'} ${str(c['id']) ?? ''}`.trim(), text: pretty(c['input']) })
        break
      case 'tool_result':
      case 'web_search_tool_result':
        parts.push({
          kind: 'tool_result',
          title: `${str(c['tool_use_id']) ?? ''}${c['is_error'] === true ? ' (error)' : ''}`.trim(),
          text: resultText(c['content']),
        })
        break
      case 'image':
      case 'input_image':
        parts.push({ kind: 'image', text: '[image]' })
        break
      default:
        parts.push({ kind: 'other', title: type || undefined, text: pretty(c) } as RequestPart)
    }
  }
  return parts
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((c) => (isObj(c) && typeof c['text'] === 'string' ? c['text'] : isObj(c) && c['type'] === 'image' ? '[image]' : pretty(c)))
      .join('\n')
  }
  return pretty(content)
}

function fixPart(p: RequestPart): RequestPart {
  if (p.title === undefined) delete (p as { title?: string }).title
  return p
}

/** Responses API `input[]` items → messages. */
function responsesInput(input: unknown): RequestMessage[] {
  if (typeof input === 'string') return [{ role: 'user', parts: [{ kind: 'text', text: input }] }]
  if (!Array.isArray(input)) return []
  const out: RequestMessage[] = []
  for (const it of input) {
    if (!isObj(it)) continue
    const type = str(it['type']) ?? (it['role'] !== undefined ? 'message' : '')
    switch (type) {
      case 'message':
        out.push({ role: str(it['role']) ?? 'user', parts: contentParts(it['content']).map(fixPart) })
        break
      case 'function_call':
        out.push({
          role: 'assistant',
          parts: [{ kind: 'tool_use', title: `${str(it['name']) ?? 'function'} ${str(it['call_id']) ?? ''}`.trim(), text: prettyJsonString(str(it['arguments']) ?? '') }],
        })
        break
      case 'custom_tool_call':
        out.push({
          role: 'assistant',
          parts: [{ kind: 'tool_use', title: `${str(it['name']) ?? 'custom'} ${str(it['call_id']) ?? ''}`.trim(), text: str(it['input']) ?? pretty(it['input']) }],
        })
        break
      case 'local_shell_call':
        out.push({ role: 'assistant', parts: [{ kind: 'tool_use', title: `local_shell ${str(it['call_id']) ?? ''}`.trim(), text: pretty(it['action']) }] })
        break
      case 'function_call_output':
      case 'custom_tool_call_output':
      case 'local_shell_call_output':
        out.push({ role: 'tool', parts: [{ kind: 'tool_result', title: str(it['call_id']) ?? '', text: resultText(it['output']) }] })
        break
      case 'reasoning': {
        const summary = Array.isArray(it['summary'])
          ? it['summary'].map((s) => (isObj(s) && typeof s['text'] === 'string' ? s['text'] : '')).join('\n')
          : ''
        out.push({ role: 'assistant', parts: [{ kind: 'thinking', text: summary || (it['encrypted_content'] ? '[encrypted reasoning]' : '') }] })
        break
      }
      default:
        out.push({ role: type || 'item', parts: [{ kind: 'other', text: pretty(it) }] })
    }
  }
  return out
}

function chatMessages(messages: unknown[]): { system: string[]; messages: RequestMessage[] } {
  const system: string[] = []
  const out: RequestMessage[] = []
  for (const m of messages) {
    if (!isObj(m)) continue
    const role = str(m['role']) ?? 'user'
    const parts = contentParts(m['content']).map(fixPart)
    if (Array.isArray(m['tool_calls'])) {
      for (const tc of m['tool_calls']) {
        if (!isObj(tc)) continue
        const fn = isObj(tc['function']) ? tc['function'] : {}
        parts.push({ kind: 'tool_use', title: `${str(fn['name']) ?? 'function'} ${str(tc['id']) ?? ''}`.trim(), text: prettyJsonString(str(fn['arguments']) ?? '') })
      }
    }
    if (role === 'tool' && typeof m['tool_call_id'] === 'string') {
      out.push({ role, parts: [{ kind: 'tool_result', title: m['tool_call_id'], text: resultText(m['content']) }] })
      continue
    }
    if (role === 'system' || role === 'developer') {
      const t = parts.map((p) => p.text).join('\n')
      if (role === 'system') {
        system.push(t)
        continue
      }
    }
    out.push({ role, parts })
  }
  return { system, messages: out }
}

function tools(list: unknown): RequestTool[] {
  if (!Array.isArray(list)) return []
  const out: RequestTool[] = []
  for (const t of list) {
    if (!isObj(t)) continue
    const fn = isObj(t['function']) ? t['function'] : t
    const name = str(fn['name']) ?? str(t['type']) ?? 'tool'
    const tool: RequestTool = { name }
    const d = str(fn['description'])
    if (d !== undefined) tool.description = d
    const schema = fn['input_schema'] ?? fn['parameters'] ?? fn['format']
    if (schema !== undefined) tool.schema = pretty(schema)
    out.push(tool)
  }
  return out
}

/**
 * Splits a (redacted) request body into system prompt, tools, messages and settings. Understands
 * Anthropic Messages (`system`, `messages`, `tools`), OpenAI Responses (`instructions`, `input`,
 * `tools`) and Chat Completions (`messages` with system/tool roles). Anything else still shows
 * under its settings and raw JSON.
 */
export function buildRequestView(body: unknown): RequestView | null {
  if (!isObj(body)) return null
  const view: RequestView = { params: {}, system: [], tools: [], messages: [] }
  const model = str(body['model'])
  if (model !== undefined) view.model = model
  for (const [k, v] of Object.entries(body)) {
    // Shown in their own sections below.
    if (k === 'model' || k === 'instructions' || k === 'system' || k === 'input' || k === 'messages' || k === 'tools') continue
    if (typeof v === 'string' && v.length <= 200) view.params[k] = v
    else if (typeof v === 'number' || typeof v === 'boolean') view.params[k] = String(v)
    else if (isObj(v) && (k === 'thinking' || k === 'reasoning' || k === 'text' || k === 'metadata' || k === 'tool_choice')) {
      const s = JSON.stringify(v)
      view.params[k] = s.length > 300 ? `${s.slice(0, 300)}…` : s
    }
  }
  const sys = body['system']
  if (typeof sys === 'string') view.system.push(sys)
  else if (Array.isArray(sys)) for (const s of sys) view.system.push(isObj(s) ? (str(s['text']) ?? pretty(s)) : String(s))
  const instr = str(body['instructions'])
  if (instr !== undefined) view.system.push(instr)
  view.tools = tools(body['tools'])
  if (body['input'] !== undefined) view.messages = responsesInput(body['input'])
  else if (Array.isArray(body['messages'])) {
    if (view.system.length === 0 || body['system'] === undefined) {
      const { system, messages } = chatMessages(body['messages'])
      view.system.push(...system)
      view.messages = messages
    } else {
      view.messages = chatMessages(body['messages']).messages
    }
  }
  return view
}

/**
 * The latest prompt the user typed in a request's conversation, flattened to one line and cut to
 * `max` characters, for the flow list's preview column: the request's new prompt, else (a request
 * that only sends tool results back) the prompt of the turn it continues. The prompt is found by
 * session-extractor's `requestTurn` (the one decoder of the request side); this only walks back to
 * the turn.
 */
export function promptPreview(body: unknown, max = 160): string | undefined {
  if (!isObj(body)) return undefined
  const limits = { maxChars: max * 4, maxToolResults: 1 }
  let prompt = requestTurn(body, undefined, limits).prompt
  const key = Array.isArray(body['messages']) ? 'messages' : Array.isArray(body['input']) ? 'input' : undefined
  if (prompt === undefined && key !== undefined) {
    const list = body[key] as unknown[]
    // The turn this request continues: the request as it was when that user message was new.
    for (let i = list.length - 2, tries = 0; i >= 0 && prompt === undefined && tries < 16; i--) {
      const m = list[i]
      if (!isObj(m) || m['role'] !== 'user') continue
      tries++
      prompt = requestTurn({ ...body, [key]: list.slice(0, i + 1) }, undefined, limits).prompt
    }
  }
  if (prompt === undefined) return undefined
  const flat = prompt.replace(/\s+/g, ' ').trim()
  if (flat === '') return undefined
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}
