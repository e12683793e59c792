import type { Row } from './types.js'

/**
 * Modes derived from tool-call rows of the index in Node: the arguments' shapes are the agents'
 * own tool schemas (Edit's `file_path`, apply_patch's patch text, WebFetch's `url`), which read
 * more clearly in TypeScript than in SQL. Shell commands come from the ledger (`command`,
 * `workdir`): this package keeps no list of shell tools of its own.
 */

function parseArgs(row: Row): Record<string, unknown> | undefined {
  const a = row.arguments
  if (typeof a !== 'string' || a === '') return undefined
  try {
    const v: unknown = JSON.parse(a)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** The shell command of a tool call, as the ledger found it (stream-normalizer's shell-tool vocabulary). */
function shellCommandOf(row: Row): { command: string; workdir?: string } | undefined {
  const command = str(row.command)
  if (command === undefined) return undefined
  const workdir = str(row.workdir)
  return workdir === undefined ? { command } : { command, workdir }
}

/** Files an apply_patch body touches. */
export function patchFiles(patch: string): { op: string; path: string }[] {
  const out: { op: string; path: string }[] = []
  for (const m of patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$/gm)) {
    if (m[3] !== undefined) out.push({ op: 'move', path: m[3] })
    else out.push({ op: m[1]!.toLowerCase(), path: m[2]! })
  }
  return out
}

const EDIT_TOOLS: Record<string, string> = { Edit: 'edit', MultiEdit: 'edit', Write: 'write', NotebookEdit: 'edit', write_file: 'write', edit_file: 'edit', replace: 'edit' }

/** `file_edits`: one row per file an edit tool (Edit/MultiEdit/Write/NotebookEdit, apply_patch) touched. */
export function fileEdits(calls: Row[]): Row[] {
  const out: Row[] = []
  const push = (c: Row, tool: string, op: string, path: string): void => {
    out.push({ ts: c.ts ?? null, session_id: c.session_id ?? null, flow_id: c.flow_id ?? null, call_id: c.call_id ?? null, tool, op, path })
  }
  for (const c of calls) {
    const name = String(c.name ?? '')
    const editOp = EDIT_TOOLS[name]
    if (editOp !== undefined) {
      const a = parseArgs(c)
      const path = str(a?.file_path) ?? str(a?.notebook_path) ?? str(a?.path)
      if (path !== undefined) push(c, name, editOp, path)
      continue
    }
    let patch: string | undefined
    if (name === 'apply_patch') {
      if (c.kind === 'custom') patch = typeof c.arguments === 'string' ? c.arguments : undefined
      else {
        const a = parseArgs(c)
        patch = str(a?.input) ?? str(a?.patch) ?? (Array.isArray(a?.command) ? (a.command as unknown[]).filter((x) => typeof x === 'string').join('\n') : undefined)
      }
    } else {
      const s = shellCommandOf(c)
      if (s && s.command.includes('*** Begin Patch')) patch = s.command
    }
    if (patch !== undefined) for (const f of patchFiles(patch)) push(c, name, f.op, f.path)
  }
  return out
}

const READ_CMDS = new Set(['cat', 'head', 'tail', 'less', 'more', 'nl', 'bat', 'sed', 'wc'])

/** Files a simple shell read command names (`cat a b`, `sed -n 1,20p f`, `head -n 5 f`). */
export function shellReadFiles(command: string): string[] {
  const out: string[] = []
  // Only the simple cases are read reliably; pipelines take the files of their first stage.
  for (const stage of command.split(/&&|;|\|\|/)) {
    const first = stage.split('|')[0]!.trim()
    const words = first.match(/'[^']*'|"[^"]*"|\S+/g)?.map((w) => w.replace(/^['"]|['"]$/g, '')) ?? []
    const cmd = words[0]
    if (cmd === undefined || !READ_CMDS.has(cmd)) continue
    let skipNext = false
    let sawScript = cmd !== 'sed'
    for (const w of words.slice(1)) {
      if (skipNext) { skipNext = false; continue }
      if (w.startsWith('-')) {
        if (/^-[nc]$/.test(w) && cmd !== 'sed') skipNext = true
        continue
      }
      if (!sawScript) { sawScript = true; continue }
      if (/[<>]/.test(w)) break
      out.push(w)
    }
  }
  return out
}

/** `files_read`: one row per file read (Read / NotebookRead / view_image, and simple shell reads). */
export function filesRead(calls: Row[]): Row[] {
  const out: Row[] = []
  for (const c of calls) {
    const name = String(c.name ?? '')
    const base = { ts: c.ts ?? null, session_id: c.session_id ?? null, flow_id: c.flow_id ?? null, call_id: c.call_id ?? null, tool: name }
    if (name === 'Read' || name === 'NotebookRead' || name === 'view_image' || name === 'read_file') {
      const a = parseArgs(c)
      const path = str(a?.file_path) ?? str(a?.notebook_path) ?? str(a?.path) ?? str(a?.absolute_path)
      if (path !== undefined) out.push({ ...base, path, via: 'tool' })
      continue
    }
    const s = shellCommandOf(c)
    if (s) for (const path of shellReadFiles(s.command)) out.push({ ...base, path, via: 'shell' })
  }
  return out
}

/** `web_access`: WebFetch / WebSearch, server-side web search, and curl / wget in shell commands. */
export function webAccess(calls: Row[]): Row[] {
  const out: Row[] = []
  for (const c of calls) {
    const name = String(c.name ?? '')
    const base = { ts: c.ts ?? null, session_id: c.session_id ?? null, flow_id: c.flow_id ?? null, call_id: c.call_id ?? null, tool: name }
    const a = parseArgs(c)
    if (name === 'WebFetch' || name === 'web_fetch') {
      const url = str(a?.url)
      if (url !== undefined) out.push({ ...base, kind: 'fetch', target: url })
    } else if (name === 'WebSearch' || name === 'web_search' || name === 'web_search_preview') {
      const q = str(a?.query) ?? str(a?.url) ?? (Array.isArray(a?.queries) ? (a.queries as unknown[]).join(' | ') : undefined)
      out.push({ ...base, kind: str(a?.type) === 'open_page' || (a?.url !== undefined && a.query === undefined) ? 'fetch' : 'search', target: q ?? null })
    } else {
      const s = shellCommandOf(c)
      if (s && /\b(curl|wget|http|xh)\b/.test(s.command)) {
        for (const m of s.command.matchAll(/https?:\/\/[^\s'"<>|)]+/g)) out.push({ ...base, kind: 'shell', target: m[0] })
      }
    }
  }
  return out
}

/** `mcp_calls`: MCP tools (`mcp__server__tool` names, Responses `mcp_call` items). */
export function mcpCalls(calls: Row[]): Row[] {
  const out: Row[] = []
  for (const c of calls) {
    const name = String(c.name ?? '')
    const m = /^mcp__(.+?)__(.+)$/.exec(name)
    if (!m && c.kind !== 'mcp') continue
    out.push({ ts: c.ts ?? null, session_id: c.session_id ?? null, flow_id: c.flow_id ?? null, call_id: c.call_id ?? null,
      server: m ? m[1]! : (c.server ?? null), tool: m ? m[2]! : name, arguments: c.arguments ?? null })
  }
  return out
}

/** `subagents`: Claude Code Task / Agent tool calls, plus flows a subagent sent (the request's subagent marker). */
export function subagents(calls: Row[], agentFlows: Row[]): Row[] {
  const out: Row[] = []
  for (const c of calls) {
    const name = String(c.name ?? '')
    if (name !== 'Task' && name !== 'Agent') continue
    const a = parseArgs(c)
    out.push({ ts: c.ts ?? null, session_id: c.session_id ?? null, flow_id: c.flow_id ?? null, source: `tool:${name}`, call_id: c.call_id ?? null,
      subagent: str(a?.subagent_type) ?? null, description: str(a?.description) ?? null })
  }
  for (const f of agentFlows) {
    out.push({ ts: f.ts ?? null, session_id: f.session_id ?? null, flow_id: f.flow_id ?? null, source: 'request', call_id: null, subagent: f.agent ?? null, description: null })
  }
  return out.sort((x, y) => String(x.ts).localeCompare(String(y.ts)) || String(x.flow_id).localeCompare(String(y.flow_id)))
}

const first = (h: Record<string, unknown>, ...keys: string[]): string | null => {
  for (const k of keys) {
    const v = h[k]
    if (typeof v === 'string') return v
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0]
  }
  return null
}

/** `rate_limits`: the rate-limit state each response reported (the ledger's `rate_limits`), the common headers as columns. */
export function rateLimits(rows: Row[]): Row[] {
  return rows.map((r) => {
    let h: Record<string, unknown> = {}
    try {
      h = Object.fromEntries(Object.entries(JSON.parse(String(r.headers)) as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]))
    } catch { /* the SQL only passes JSON objects */ }
    return {
      ts: r.ts ?? null, session_id: r.session_id ?? null, flow_id: r.flow_id ?? null, call: r.call ?? null, client: r.client ?? null, status: r.status ?? null,
      retry_after: first(h, 'retry-after', 'retry-after-ms'),
      requests_remaining: first(h, 'anthropic-ratelimit-requests-remaining', 'x-ratelimit-remaining-requests'),
      tokens_remaining: first(h, 'anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-input-tokens-remaining', 'x-ratelimit-remaining-tokens'),
      used_percent: first(h, 'x-codex-primary-used-percent', 'anthropic-ratelimit-unified-5h-utilization'),
      reset: first(h, 'anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-reset', 'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens', 'x-codex-primary-reset-after-seconds', 'anthropic-ratelimit-unified-reset'),
      headers: JSON.stringify(h),
    }
  })
}
