/**
 * The page: flow list kept live from the server's SSE stream, flow detail tabs, session view.
 * Every captured string reaches the DOM through textContent / text nodes (see `h`), never as
 * HTML, so a prompt containing `<script>` is shown, not run.
 *
 * The access token comes once in the page URL (`?token=`); the page keeps it in sessionStorage
 * (per origin: scheme, host and port) and sends it in the `X-Agenttap-Token` header of every API
 * call. No cookie: a cookie of 127.0.0.1 would be sent to every other local server as well.
 */
import { getJson, openStream } from './access.js'
import { $, h } from './dom.js'
import { fmtMs, fmtN, fmtTime, outcomeOf, short } from './format.js'
import { renderRequest } from './request-pane.js'
import type {
  FlowDetail,
  FlowRequest,
  FlowSummary,
  IngestStatus,
  RawEventsPage,
  SessionView,
  Span,
} from '../types.js'

// ---- state ---------------------------------------------------------------------------------

/** Why the page cannot show data (no token, token refused), shown where the list would be. */
let accessProblem: string | undefined

const flows = new Map<string, FlowSummary>()
let status: IngestStatus | undefined
let selected: string | undefined
let tab: 'conversation' | 'events' | 'request' | 'session' = 'conversation'
let sessionShown: string | undefined
const MAX_ROWS = 1000
/** Flow ids of the rows on screen, in order (for j/k). */
let visible: string[] = []
let scrollToSelected = false
const rowCache = new Map<string, { f: FlowSummary; sel: boolean; el: HTMLElement }>()

// ---- filters -------------------------------------------------------------------------------

const q = $('q') as HTMLInputElement
const fSession = $('f-session') as HTMLSelectElement
const fClient = $('f-client') as HTMLSelectElement
const fOutcome = $('f-outcome') as HTMLSelectElement

function matches(f: FlowSummary): boolean {
  if (fSession.value && f.session_id !== fSession.value) return false
  if (fClient.value && (f.client ?? 'unknown') !== fClient.value) return false
  if (fOutcome.value && outcomeOf(f) !== fOutcome.value) return false
  const needle = q.value.trim().toLowerCase()
  if (needle) {
    if (deep && deep.q === q.value.trim() && deep.ids.has(f.flow_id)) return true
    const hay = [f.flow_id, f.session_id, f.model, f.client, f.url, f.prompt, f.error, f.stop_reason, outcomeOf(f), f.subagent, String(f.status ?? ''), ...(f.tool_names ?? [])]
      .filter(Boolean)
      .join('\n')
      .toLowerCase()
    for (const word of needle.split(/\s+/)) if (!hay.includes(word)) return false
  }
  return true
}

/** Keeps a select's options equal to `values` (sorted), preserving the selection. */
function syncOptions(sel: HTMLSelectElement, values: Map<string, string>, allLabel: string): void {
  const key = [...values.keys()].join('\u0000')
  if (sel.dataset['key'] === key) return
  sel.dataset['key'] = key
  const cur = sel.value
  sel.replaceChildren(h('option', { value: '' }, allLabel))
  for (const [v, label] of values) sel.appendChild(h('option', { value: v }, label))
  sel.value = values.has(cur) ? cur : ''
}

function refreshFilters(): void {
  const sessions = new Map<string, { client: string; n: number; last: string }>()
  const clients = new Map<string, string>()
  const outcomes = new Map<string, string>()
  for (const f of flows.values()) {
    const s = sessions.get(f.session_id) ?? { client: f.client ?? '', n: 0, last: f.ts }
    s.n++
    if (f.ts > s.last) s.last = f.ts
    sessions.set(f.session_id, s)
    clients.set(f.client ?? 'unknown', f.client ?? 'unknown')
    const o = outcomeOf(f)
    outcomes.set(o, o)
  }
  const sorted = [...sessions.entries()].sort((a, b) => (a[1].last < b[1].last ? 1 : -1))
  syncOptions(fSession, new Map(sorted.map(([id, s]) => [id, `${short(id)} · ${s.client || '?'} · ${s.n} flows`])), 'all sessions')
  syncOptions(fClient, new Map([...clients].sort()), 'all clients')
  syncOptions(fOutcome, new Map([...outcomes].sort()), 'any outcome')
}

// ---- flow list -----------------------------------------------------------------------------

let listQueued = false
function queueList(): void {
  if (listQueued) return
  listQueued = true
  requestAnimationFrame(() => {
    listQueued = false
    renderList()
  })
}

function row(f: FlowSummary): HTMLElement {
  const u = f.usage
  const o = outcomeOf(f)
  const statusText = `${f.status ?? ''}`
  return h(
    'tr',
    { class: `flow-row${f.flow_id === selected ? ' selected' : ''}`, 'data-flow-id': f.flow_id, title: f.flow_id },
    h('td', { class: 'mono', title: f.ts }, fmtTime(f.ts)),
    h('td', { class: 'c-client' }, f.client ?? '', f.subagent ? ` (${f.subagent})` : ''),
    h('td', { class: 'mono' }, h('span', { class: 'sess', 'data-session': f.session_id, title: f.session_id }, short(f.session_id))),
    h('td', { title: f.model ?? '' }, f.model ?? ''),
    h('td', { title: f.error ?? o }, statusText ? `${statusText} ` : '', h('span', { class: `badge b-${o}` }, o),
      f.alerts && f.alerts.length > 0 ? h('span', { class: 'badge b-alert', title: f.alerts.join('\n') }, `⚠ ${f.alerts.length}`) : null),
    h('td', { class: 'num' }, fmtMs(f.ttfb_ms)),
    h('td', { class: 'num' }, fmtMs(f.duration_ms)),
    h('td', { class: 'num' }, `${fmtN(u?.input)} / ${fmtN(u?.output)}`),
    h('td', { class: 'num c-cache' }, `${fmtN(u?.cache_read)} / ${fmtN(u ? u.cache_write_5m + u.cache_write_1h : undefined)}`),
    h('td', { class: 'num c-tools', title: (f.tool_names ?? []).join(', ') }, f.tool_calls ? String(f.tool_calls) : ''),
    h('td', { class: 'prompt', title: f.prompt ?? '' }, f.prompt ?? ''),
  )
}

function renderList(): void {
  refreshFilters()
  const all = [...flows.values()].filter(matches)
  all.sort((a, b) => (a.ts === b.ts ? (b.flow_seq ?? 0) - (a.flow_seq ?? 0) : a.ts < b.ts ? 1 : -1))
  const shown = all.slice(0, MAX_ROWS)
  visible = shown.map((f) => f.flow_id)
  const body = $('rows')
  // Rows are rebuilt only when their summary changed (each update brings a new object) or the
  // selection moved; busy traffic then costs a few rows per frame, not the whole table.
  if (rowCache.size > flows.size * 2 + 100) rowCache.clear()
  body.replaceChildren(
    ...shown.map((f) => {
      const sel = f.flow_id === selected
      const c = rowCache.get(f.flow_id)
      if (c && c.f === f && c.sel === sel) return c.el
      const el = row(f)
      rowCache.set(f.flow_id, { f, sel, el })
      return el
    }),
  )
  const deepNote = deep && deep.q === q.value.trim() ? ` · ${deep.ids.size}${deep.truncated ? '+' : ''} found in bodies` : ''
  $('count').textContent = `${all.length} of ${flows.size} flows${deepNote}${status && !status.history_loaded ? ' · loading history…' : ''}`
  if (scrollToSelected) {
    scrollToSelected = false
    body.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' })
  }
  $('list-note').textContent = accessProblem ??
    (all.length > shown.length ? `showing the newest ${shown.length} of ${all.length}; narrow the filters to see older flows` : flows.size === 0 ? 'no flows captured yet: they appear here as traffic passes' : '')
}

$('rows').addEventListener('click', (ev) => {
  const t = ev.target as HTMLElement
  const sess = t.closest('.sess') as HTMLElement | null
  if (sess?.dataset['session']) {
    ev.stopPropagation()
    const flowRow = t.closest('tr') as HTMLElement | null
    navigate(flowRow?.dataset['flowId'], 'session')
    return
  }
  const tr = t.closest('tr.flow-row') as HTMLElement | null
  if (tr?.dataset['flowId']) navigate(tr.dataset['flowId'], tab === 'session' ? 'conversation' : tab)
})
for (const el of [q, fSession, fClient, fOutcome]) el.addEventListener('input', queueList)

/** Enter in the search box: the server scans the capture files (prompts, responses, tool calls). */
let deep: { q: string; ids: Set<string>; truncated: boolean } | undefined
async function deepSearch(): Promise<void> {
  const text = q.value.trim()
  if (text.length < 2) return
  $('count').textContent = 'searching request and response bodies…'
  try {
    const r = await getJson<{ flow_ids: string[]; truncated: boolean }>(`/api/search?q=${encodeURIComponent(text)}`)
    if (q.value.trim() !== text) return
    deep = { q: text, ids: new Set(r.flow_ids), truncated: r.truncated }
  } catch (err) {
    $('count').textContent = `search failed: ${(err as Error).message}`
    return
  }
  queueList()
}
q.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') void deepSearch()
})

// ---- live stream ---------------------------------------------------------------------------

function setStatus(s: IngestStatus): void {
  const wasLoading = status !== undefined && !status.history_loaded
  status = s
  if (wasLoading && s.history_loaded) queueList()
  const p = $('problems')
  if (s.errors > 0) {
    p.hidden = false
    p.textContent = `⚠ ${s.errors} malformed line${s.errors === 1 ? '' : 's'} skipped`
    p.title = s.last_error ?? ''
  } else p.hidden = true
}

let detailTimer: number | undefined

function onFrame(event: string, data: string): void {
  if (event === 'snapshot') {
    const d = JSON.parse(data) as { flows: FlowSummary[]; status: IngestStatus }
    flows.clear()
    for (const f of d.flows) flows.set(f.flow_id, f)
    setStatus(d.status)
    queueList()
    if (selected && !detailLoaded) route()
  } else if (event === 'flows') {
    const d = JSON.parse(data) as { flows: FlowSummary[]; removed: string[] }
    for (const f of d.flows) flows.set(f.flow_id, f)
    for (const id of d.removed) flows.delete(id)
    queueList()
    if (selected && d.flows.some((f) => f.flow_id === selected || (tab === 'session' && f.session_id === sessionShown))) {
      // The open flow changed: re-render it, at most a few times a second.
      if (detailTimer === undefined) {
        detailTimer = window.setTimeout(() => {
          detailTimer = undefined
          if (tab !== 'request') void showTab(true)
        }, 300)
      }
    }
  } else if (event === 'status') setStatus(JSON.parse(data) as IngestStatus)
}

function connect(): void {
  const live = $('live')
  openStream(onFrame, (state) => {
    live.className = state === 'live' ? 'live on' : 'live off'
    live.textContent = `● ${state}`
    if (state === 'no token' || state === 'token refused') {
      accessProblem = `${state === 'no token' ? 'no access token' : 'the access token was refused'}: open the URL printed when agenttap web started (it ends in ?token=…)`
      queueList()
    }
  })
}

// ---- detail --------------------------------------------------------------------------------

let detailLoaded = false
let loadSeq = 0

function navigate(flowId: string | undefined, t: typeof tab): void {
  if (!flowId) return
  // Take the new place at once: hashchange fires later, and a quick next key must see it.
  selected = flowId
  tab = t
  location.hash = `#/flow/${encodeURIComponent(flowId)}/${t}`
}

function route(): void {
  const m = /^#\/flow\/([^/]+)\/(conversation|events|request|session)$/.exec(location.hash)
  if (!m) {
    selected = undefined
    $('detail').hidden = true
    $('list').classList.remove('narrow')
    queueList()
    return
  }
  selected = decodeURIComponent(m[1] as string)
  tab = m[2] as typeof tab
  $('detail').hidden = false
  $('list').classList.add('narrow')
  for (const b of document.querySelectorAll<HTMLElement>('.tab')) b.classList.toggle('active', b.dataset['tab'] === tab)
  const f = flows.get(selected)
  $('detail-title').textContent = f ? `${f.method ?? ''} ${f.url ?? ''} · ${f.flow_id}` : selected
  queueList()
  void showTab(false)
}

async function showTab(refresh: boolean): Promise<void> {
  const id = selected
  if (!id) return
  const mine = ++loadSeq
  const pane = $('pane')
  if (!refresh) pane.replaceChildren(h('div', { class: 'note' }, 'loading…'))
  try {
    let content: HTMLElement
    if (tab === 'conversation') content = renderConversation(await getJson<FlowDetail>(`/api/flows/${encodeURIComponent(id)}`))
    else if (tab === 'events') content = await renderEvents(id)
    else if (tab === 'request') content = renderRequest(await getJson<FlowRequest>(`/api/flows/${encodeURIComponent(id)}/request`))
    else {
      const f = flows.get(id)
      const sid = f?.session_id ?? ''
      sessionShown = sid
      content = renderSession(await getJson<SessionView>(`/api/sessions/${encodeURIComponent(sid)}`))
    }
    if (mine !== loadSeq) return
    const keepScroll = refresh ? pane.scrollTop : 0
    const atBottom = refresh && pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 20
    pane.replaceChildren(content)
    detailLoaded = true
    pane.scrollTop = atBottom ? pane.scrollHeight : keepScroll
  } catch (err) {
    if (mine !== loadSeq) return
    detailLoaded = false
    pane.replaceChildren(h('div', { class: 'finding' }, `could not load: ${(err as Error).message}`))
  }
}

function spans(line: Span[]): HTMLElement {
  const div = h('div', { class: 'line' })
  for (const s of line) div.appendChild(h('span', { class: `s-${s.style}` }, s.text))
  return div
}

function renderConversation(d: FlowDetail): HTMLElement {
  const box = h('div', null)
  const s = d.summary
  box.appendChild(
    h(
      'div',
      { class: 'kv' },
      h('span', { class: 'k' }, 'session'), h('span', { class: 'v' }, s.session_id),
      h('span', { class: 'k' }, 'model'), h('span', { class: 'v' }, s.model ?? ''),
      h('span', { class: 'k' }, 'outcome'), h('span', { class: 'v' }, `${outcomeOf(s)}${s.status ? ` · HTTP ${s.status}` : ''}${s.error ? ` · ${s.error}` : ''}`),
      h('span', { class: 'k' }, 'timing'), h('span', { class: 'v' }, `TTFB ${fmtMs(s.ttfb_ms) || '–'} · duration ${fmtMs(s.duration_ms) || '–'} · ${s.events} events`),
    ),
  )
  if (d.problems.length) box.appendChild(h('div', { class: 'problem-list' }, ...d.problems.slice(0, 20).map((p) => h('div', null, `⚠ ${p}`))))
  const conv = h('div', { class: 'conv', id: 'conversation' })
  // Very long streams: the tail first (where a live flow grows), earlier lines on request.
  const TAIL = 3000
  const start = Math.max(0, d.lines.length - TAIL)
  if (start > 0) {
    const b = h('button', { class: 'more' }, `show ${start.toLocaleString()} earlier lines`)
    b.addEventListener('click', () => b.replaceWith(...d.lines.slice(0, start).map(spans)))
    conv.appendChild(b)
  }
  for (const l of start > 0 ? d.lines.slice(start) : d.lines) conv.appendChild(spans(l))
  if (d.lines.length === 0) conv.appendChild(h('div', { class: 'note' }, s.state === 'STREAMING' ? 'waiting for the response…' : 'no events captured for this flow'))
  box.appendChild(conv)
  return box
}

async function renderEvents(id: string): Promise<HTMLElement> {
  const box = h('div', null)
  const table = h('table', { class: 'events' }, h('thead', null, h('tr', null, h('th', null, 'seq'), h('th', null, 't'), h('th', null, 'event'), h('th', null, 'data'))))
  const body = h('tbody')
  table.appendChild(body)
  box.appendChild(table)
  const more = h('button', { class: 'more' }, 'load more')
  let from = 0
  const load = async (): Promise<void> => {
    const page = await getJson<RawEventsPage>(`/api/flows/${encodeURIComponent(id)}/events?from=${from}&limit=500`)
    for (const e of page.events) {
      let data = e.data
      try {
        data = JSON.stringify(JSON.parse(e.data), null, 2)
      } catch {
        // not JSON: shown as captured
      }
      body.appendChild(h('tr', null, h('td', { class: 'mono' }, e.seq), h('td', { class: 'mono' }, e.t_ms !== undefined ? `${e.t_ms} ms` : ''), h('td', { class: 'mono' }, e.event ?? (e.transport === 'ws' ? 'ws' : '')), h('td', { class: 'data' }, data)))
    }
    from += page.events.length
    more.hidden = from >= page.total
    more.textContent = `load more (${page.total - from} left)`
  }
  more.addEventListener('click', () => void load())
  await load()
  box.appendChild(more)
  return box
}

function renderSession(s: SessionView): HTMLElement {
  const box = h('div', { id: 'session' })
  const c = s.counts
  const calls = Object.keys(c).length
    ? Object.entries(c)
        .filter(([k, v]) => k !== 'flows' && (v !== 0 || k === 'calls' || k === 'answered' || k === 'unanswered'))
        .map(([k, v]) => `${v} ${k.replace(/([A-Z])/g, ' $1').toLowerCase()}`)
        .join(' · ')
    : ''
  box.appendChild(
    h(
      'div',
      { class: 'kv' },
      h('span', { class: 'k' }, 'session'), h('span', { class: 'v' }, s.session_id),
      h('span', { class: 'k' }, 'flows'), h('span', { class: 'v' }, s.flows.length),
      calls ? h('span', { class: 'k' }, 'tool calls') : null, calls ? h('span', { class: 'v' }, calls) : null,
    ),
  )
  if (s.timeline_svg) {
    box.appendChild(h('h3', null, 'context and quota over time'))
    const plot = h('div', { class: 'timeline' })
    // Made by the server from numbers, every text escaped there (timeline-svg.ts).
    plot.innerHTML = s.timeline_svg
    box.appendChild(plot)
  }
  if (s.alerts && s.alerts.length > 0) {
    box.appendChild(h('h3', null, `alerts (${s.alerts.length})`))
    for (const a of s.alerts) box.appendChild(h('div', { class: 'problem-list alert-line' }, `⚠ ${a}`))
  }
  if (s.validation_error) box.appendChild(h('div', { class: 'problem-list' }, `⚠ while validating: ${s.validation_error}`))
  box.appendChild(h('h3', null, `tool-call findings (${s.findings.length})`))
  if (s.findings.length === 0) box.appendChild(h('div', { class: 'ok' }, '✓ every tool call was answered and every result matched a call'))
  else {
    const t = h('table', { class: 'events' }, h('thead', null, h('tr', null, h('th', null, 'kind'), h('th', null, 'call'), h('th', null, 'tool'), h('th', null, 'flow'), h('th', null, 'where'), h('th', null, 'detail'))))
    const tb = h('tbody')
    for (const f of s.findings) {
      tb.appendChild(h('tr', { class: 'finding' }, h('td', null, f.kind), h('td', { class: 'mono' }, f.call_id), h('td', null, f.name ?? ''), h('td', { class: 'mono' }, h('a', { href: `#/flow/${encodeURIComponent(f.flow_id)}/conversation` }, short(f.flow_id))), h('td', { class: 'mono' }, f.where ?? ''), h('td', null, f.message ?? '')))
    }
    t.appendChild(tb)
    box.appendChild(t)
  }
  box.appendChild(h('h3', null, 'flows in order'))
  const t = h('table', { class: 'flows' })
  const tb = h('tbody')
  for (const f of s.flows) {
    const tr = row(f)
    tr.addEventListener('click', () => navigate(f.flow_id, 'conversation'))
    tb.appendChild(tr)
  }
  t.appendChild(tb)
  box.appendChild(t)
  return box
}

// ---- wiring --------------------------------------------------------------------------------

for (const b of document.querySelectorAll<HTMLElement>('.tab')) {
  b.addEventListener('click', () => navigate(selected, (b.dataset['tab'] ?? 'conversation') as typeof tab))
}
$('detail-close').addEventListener('click', () => {
  history.pushState(null, '', location.pathname)
  route()
})
document.addEventListener('keydown', (ev) => {
  const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement
  if (ev.key === 'Escape') {
    if (typing) (ev.target as HTMLElement).blur()
    else if (selected) $('detail-close').click()
    return
  }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return
  if (ev.key === '/') {
    ev.preventDefault()
    q.focus()
  } else if (ev.key === 'j' || ev.key === 'k') {
    // Newest first: j goes down the list (older), k up (newer).
    if (visible.length === 0) return
    const i = selected === undefined ? -1 : visible.indexOf(selected)
    const next = ev.key === 'j' ? visible[Math.min(visible.length - 1, i + 1)] : visible[Math.max(0, i - 1)]
    scrollToSelected = true
    navigate(next, tab === 'session' ? 'conversation' : tab)
  } else if (ev.key >= '1' && ev.key <= '4' && selected) {
    navigate(selected, (['conversation', 'events', 'request', 'session'] as const)[Number(ev.key) - 1] as typeof tab)
  }
})
window.addEventListener('hashchange', route)
connect()
route()
void status
