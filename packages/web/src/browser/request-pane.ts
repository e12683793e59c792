import type { FlowRequest, RequestMessage } from '../types.js'
import { h } from './dom.js'

/** The Request tab: settings, system prompt, tools, messages, headers, raw body — all as text. */
const CUT = 4000
export function longText(text: string, cls = ''): HTMLElement {
  const pre = h('pre', cls ? { class: cls } : null, text.length > CUT ? text.slice(0, CUT) : text)
  if (text.length <= CUT) return pre
  const wrap = h('div', null, pre)
  const b = h('button', { class: 'more' }, `show all (${text.length.toLocaleString()} characters)`)
  b.addEventListener('click', () => {
    pre.textContent = text
    b.remove()
  })
  wrap.appendChild(b)
  return wrap
}

function renderMessage(m: RequestMessage): HTMLElement {
  const el = h('div', { class: `msg role-${m.role.replace(/[^a-z]/gi, '')}` }, h('div', { class: 'role' }, m.role))
  for (const p of m.parts) {
    const part = h('div', { class: `part part-${p.kind}` })
    if (p.kind !== 'text') part.appendChild(h('div', { class: 'part-title' }, `${p.kind.replace('_', ' ')}${p.title ? ` · ${p.title}` : ''}`))
    part.appendChild(longText(p.text))
    el.appendChild(part)
  }
  return el
}

function headerTable(hs: Record<string, string>): HTMLElement {
  const kv = h('div', { class: 'kv' })
  for (const [k, v] of Object.entries(hs)) kv.append(h('span', { class: 'k' }, k), h('span', { class: 'v' }, v))
  return kv
}

export function renderRequest(r: FlowRequest): HTMLElement {
  const box = h('div', { id: 'request' })
  box.appendChild(h('div', { class: 'kv' }, h('span', { class: 'k' }, 'request'), h('span', { class: 'v' }, `${r.method ?? ''} ${r.url ?? ''}`), h('span', { class: 'k' }, 'status'), h('span', { class: 'v' }, r.status ?? '')))
  if (r.body_error) box.appendChild(h('div', { class: 'problem-list' }, `⚠ ${r.body_error}`))
  const v = r.view
  if (v) {
    const params = h('div', { class: 'kv' })
    if (v.model) params.append(h('span', { class: 'k' }, 'model'), h('span', { class: 'v' }, v.model))
    for (const [k, val] of Object.entries(v.params)) params.append(h('span', { class: 'k' }, k), h('span', { class: 'v' }, val))
    box.append(h('h3', null, 'settings'), params)
    if (v.system.length) {
      box.appendChild(h('h3', null, `system prompt (${v.system.length} block${v.system.length === 1 ? '' : 's'})`))
      for (const s of v.system) box.appendChild(longText(s))
    }
    if (v.tools.length) {
      box.appendChild(h('h3', null, `tools (${v.tools.length})`))
      for (const t of v.tools) {
        const d = h('details', null, h('summary', null, t.name, t.description ? h('span', { class: 'prompt' }, ` — ${t.description.split('\n')[0]?.slice(0, 120) ?? ''}`) : null))
        d.addEventListener('toggle', () => {
          if (d.childNodes.length > 1) return
          if (t.description) d.appendChild(longText(t.description))
          if (t.schema) d.appendChild(longText(t.schema))
        }, { once: false })
        box.appendChild(d)
      }
    }
    box.appendChild(h('h3', null, `messages (${v.messages.length})`))
    const list = h('div', { id: 'messages' })
    const SHOW = 30
    const start = Math.max(0, v.messages.length - SHOW)
    if (start > 0) {
      const b = h('button', { class: 'more' }, `show ${start} earlier messages`)
      b.addEventListener('click', () => {
        b.replaceWith(...v.messages.slice(0, start).map(renderMessage))
      })
      list.appendChild(b)
    }
    for (const m of v.messages.slice(start)) list.appendChild(renderMessage(m))
    box.appendChild(list)
  }
  const hdr = h('details', null, h('summary', null, 'headers (redacted)'))
  hdr.append(h('h3', null, 'request'), headerTable(r.request_headers), h('h3', null, 'response'), headerTable(r.response_headers))
  box.appendChild(hdr)
  if (r.body !== null) {
    const body = r.body
    const raw = h('details', null, h('summary', null, `raw body${r.body_truncated ? ' (truncated)' : ''} · ${body.length.toLocaleString()} characters`))
    raw.addEventListener('toggle', () => {
      if (raw.childNodes.length === 1) raw.appendChild(longText(body))
    })
    box.appendChild(raw)
  }
  return box
}

