import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWebServer, type WebServer } from '../src/index.js'
import type { FlowDetail, FlowRequest, FlowSummary, SessionView } from '../src/types.js'
import { appendRecords, streamedFlow, tempLogDir } from './helpers.js'

interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens the SSE stream and collects frames until `until` says stop. */
/**
 * Reads the page stream until `until(frames)`. Gives up (and closes the connection, so a failure
 * does not hold one of the server's page slots for the tests after it) after `timeoutMs`, saying
 * what it got.
 */
function stream(port: number, token: string, until: (frames: { event: string; data: unknown }[]) => boolean, timeoutMs = 20_000): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const frames: { event: string; data: unknown }[] = []
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`stream: the awaited frame did not come in ${timeoutMs} ms; got ${frames.length} frame(s), the last: ${JSON.stringify(frames.slice(-3)).slice(0, 2000)}`))
    }, timeoutMs)
    const req = request({ host: '127.0.0.1', port, path: '/api/stream', headers: { host: `127.0.0.1:${port}`, 'x-agenttap-token': token } }, (res) => {
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        buf += c
        let i
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const ev = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (ev && data) frames.push({ event: ev, data: JSON.parse(data) })
        }
        if (until(frames)) {
          clearTimeout(timer)
          req.destroy()
          resolve(frames)
        }
      })
    })
    req.on('error', (e) => {
      if (frames.length) return
      clearTimeout(timer)
      reject(e)
    })
    req.end()
  })
}

describe('web server over a capture dir (files followed)', () => {
  const cap = tempLogDir(true)
  let web: WebServer
  let port: number
  let token: string
  const auth = () => ({ 'x-agenttap-token': token })

  beforeAll(async () => {
    // A malformed line in the history must be reported (with file and line) and skipped.
    appendFileSync(join(cap.cap, 'sse_lines.jsonl'), '{"v":1,"type":"sse","flow_id":"cc-turn-1",\n')
    mkdirSync(join(cap.cap, 'sse_logs'), { recursive: true })
    writeFileSync(join(cap.cap, 'sse_logs', 'big-req.json'), JSON.stringify({ model: 'claude-x', messages: [{ role: 'user', content: 'from the side file' }] }))
    appendRecords(cap.cap, [
      { v: 1, type: 'flow', ts: '2026-11-20T11:00:00.000Z', flow_id: 'ref-1', session_id: 'sref', client: 'claude-code', provider: 'anthropic', request_body: { $ref: 'sse_logs/big-req.json' } },
      { v: 1, type: 'flow', ts: '2026-11-20T11:00:01.000Z', flow_id: 'ref-2', session_id: 'sref', client: 'claude-code', provider: 'anthropic', request_body: { $ref: '../../../../etc/passwd' } },
    ])
    web = createWebServer({ logDir: cap.dir, port: 0, pollMs: 50, pushIntervalMs: 20 })
    await web.start()
    port = web.port
    token = web.token
    await web.historyLoaded
  })
  afterAll(async () => {
    await web.close()
    cap.cleanup()
  })

  it('prints a URL with the token and binds loopback', () => {
    expect(web.url).toBe(`http://127.0.0.1:${port}/?token=${token}`)
  })

  it('refuses every API route without the token in its header (403); the page shell holds no data', async () => {
    for (const p of ['/api/flows', '/api/flows/cc-turn-1', '/api/stream', '/api/sessions/x', '/api/status', `/api/flows?token=${token}`]) {
      const r = await get(port, p)
      expect(r.status, p).toBe(403)
      expect(r.body).not.toContain('cc-turn-1')
    }
    expect((await get(port, '/api/flows', { 'x-agenttap-token': `${token}x` })).status).toBe(403)
    // a cookie is no credential (browsers send 127.0.0.1's cookies to every port)
    expect((await get(port, '/api/flows', { cookie: `agenttap_token_${port}=${token}` })).status).toBe(403)
    // the shell and its code are served without the token: they carry no captured data
    for (const p of ['/', '/app.js', '/app.css']) {
      const r = await get(port, p)
      expect(r.status, p).toBe(200)
      expect(r.body).not.toContain('cc-turn-1')
    }
  })

  it('refuses a foreign Host header (DNS rebinding) even with the right token', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `localhost.evil.example:${port}`]) {
      const r = await get(port, `/api/flows?token=${token}`, { host })
      expect(r.status, host).toBe(403)
      expect(r.body).toContain('Host')
    }
    expect((await get(port, '/api/flows', { host: `localhost:${port}`, ...auth() })).status).toBe(200)
  })

  it('never sets a cookie: the URL token stays with the page, which sends it in a header', async () => {
    for (const p of [`/?token=${token}`, '/', '/app.js']) {
      const r = await get(port, p)
      expect(r.status, p).toBe(200)
      expect(r.headers['set-cookie'], p).toBeUndefined()
      expect(r.body).not.toContain(token)
    }
    const api = await get(port, '/api/flows', auth())
    expect(api.headers['set-cookie']).toBeUndefined()
    const page = await get(port, `/?token=${token}`)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    expect(page.body).toContain('<script src="/app.js"')
  })

  it('lists the fixture flows and reports the malformed line with its file and line number', async () => {
    const r = await get(port, '/api/flows', auth())
    const { flows } = JSON.parse(r.body) as { flows: FlowSummary[] }
    expect(flows.map((f) => f.flow_id)).toEqual(expect.arrayContaining(['cc-turn-1', 'cc-turn-2', 'cx-turn-1', 'trunc-1', 'err-anthropic-1', 'inter-a', 'inter-b']))
    const st = JSON.parse((await get(port, '/api/status', auth())).body)
    expect(st.errors).toBeGreaterThanOrEqual(1)
    expect(st.last_error).toMatch(/sse_lines\.jsonl:\d+/)
    expect(st.history_loaded).toBe(true)
  })

  it('serves the flow detail loaded by byte offset, raw events paged, and the redacted request', async () => {
    const d = JSON.parse((await get(port, '/api/flows/cc-turn-1', auth())).body) as FlowDetail
    expect(d.commands[0]).toContain('ls -la src/')
    // the end line the monitor prints, from the same model call
    expect(d.lines.flat().filter((s) => s.style === 'meta').map((s) => s.text)).toEqual(['■ completed · tool_use · claude-sonnet-4-5-20250929 · in 9 (cache read 14k, cache write 1.3k) · out 187 · 495 ms'])
    const ev = JSON.parse((await get(port, '/api/flows/cc-turn-1/events?from=20&limit=4', auth())).body)
    expect(ev.total).toBe(26)
    expect(ev.events.map((e: { seq: number }) => e.seq)).toEqual([20, 21, 22, 23])
    const rq = JSON.parse((await get(port, '/api/flows/cc-turn-1/request', auth())).body) as FlowRequest
    expect(rq.request_headers['authorization']).toMatch(/REDACTED/)
    expect(rq.view?.system[0]).toContain('Claude Code')
    expect(rq.body).toContain('"messages"')
    expect((await get(port, '/api/flows/nope', auth())).status).toBe(404)
  })

  it('loads a $ref request body from sse_logs/ and refuses a $ref outside the capture dir', async () => {
    const ok = JSON.parse((await get(port, '/api/flows/ref-1/request', auth())).body) as FlowRequest
    expect(ok.view?.messages[0]?.parts[0]?.text).toBe('from the side file')
    const bad = JSON.parse((await get(port, '/api/flows/ref-2/request', auth())).body) as FlowRequest
    expect(bad.body).toBeNull()
    expect(bad.body_error).toMatch(/refused \$ref outside/)
  })

  it('session view: flows in order with flow-fsm call validation counts', async () => {
    const s = JSON.parse((await get(port, '/api/sessions/5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912', auth())).body) as SessionView
    expect(s.flows.map((f) => f.flow_id)).toEqual(['cc-turn-1', 'cc-turn-2'])
    expect(s.counts['calls']).toBe(1)
    expect(s.counts['answered']).toBe(1)
    expect(s.findings).toEqual([])
  })

  it('pushes a flow appended to the files over SSE without polling whole files', async () => {
    const f = streamedFlow('live-1', 'sess-live', 'hello', 'ls -la')
    // Signals, not sleeps: append once the stream's snapshot arrived (the client is subscribed), and
    // stop at the push that carries the finished flow with its call (the three files are followed
    // apart, so under load a DONE push can come before the lines that make the call).
    let subscribed: () => void = () => undefined
    const live = new Promise<void>((r) => (subscribed = r))
    const done = stream(port, token, (fr) => {
      if (fr.some((x) => x.event === 'snapshot')) subscribed()
      return fr.some((x) => x.event === 'flows' && (x.data as { flows: FlowSummary[] }).flows.some((s) => s.flow_id === 'live-1' && s.state === 'DONE' && s.calls === 1))
    })
    await live
    appendRecords(cap.cap, [f.flow, ...f.sse, f.end])
    const frames = await done
    expect(frames[0]?.event).toBe('snapshot')
    const last = frames
      .filter((x) => x.event === 'flows')
      .flatMap((x) => (x.data as { flows: FlowSummary[] }).flows)
      .filter((s) => s.flow_id === 'live-1')
      .pop()
    expect(last).toMatchObject({ outcome: 'completed', calls: 1, tool_calls: 1, usage: { input: 12, output: 77, cache_read: 4321, cache_write_5m: 100 } })
    const d = JSON.parse((await get(port, '/api/flows/live-1', auth())).body) as FlowDetail
    expect(d.commands).toEqual(['ls -la'])
  })

  it('finds unanswered tool calls in a session', async () => {
    // live-1 announced toolu_web1 and no later request answers it.
    const s = JSON.parse((await get(port, '/api/sessions/sess-live', auth())).body) as SessionView
    expect(s.findings.map((f) => f.kind)).toContain('unanswered_call')
    expect(s.findings[0]?.call_id).toBe('toolu_web1')
  })

  it('searches inside request and response bodies, case-insensitively, JSON escapes included', async () => {
    const q = async (text: string) => JSON.parse((await get(port, `/api/search?q=${encodeURIComponent(text)}`, auth())).body) as { flow_ids: string[]; truncated: boolean }
    expect((await q('JITTER')).flow_ids).toEqual(['trunc-1']) // streamed text, escaped inside data
    expect((await q('OVERLOADED')).flow_ids).toContain('err-anthropic-1')
    expect((await q('tests/parse.test.ts')).flow_ids).toEqual(expect.arrayContaining(['cx-turn-1', 'cx-turn-2'])) // request bodies
    expect((await q('zzz-not-there')).flow_ids).toEqual([])
    expect((await get(port, '/api/search?q=x', auth())).status).toBe(400)
  })

  it('holds at most 32 live page connections and frees a slot when a page closes', async () => {
    const open: import('node:http').ClientRequest[] = []
    const statuses: number[] = []
    for (let i = 0; i < 33; i++) {
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/api/stream', headers: { host: `127.0.0.1:${port}`, ...auth() } }, (res) => {
            resolve(res.statusCode ?? 0)
            res.resume()
          })
          req.on('error', (e) => (open.includes(req) ? undefined : reject(e)))
          req.end()
          open.push(req)
        }),
      )
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(32)
    expect(statuses[32]).toBe(503)
    open[0]?.destroy()
    let again = 0
    for (let i = 0; i < 100 && again !== 200; i++) {
      await new Promise((r) => setTimeout(r, 10))
      again = await new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/stream', headers: { host: `127.0.0.1:${port}`, ...auth() } }, (res) => {
          resolve(res.statusCode ?? 0)
          res.resume()
        })
        req.on('error', () => resolve(0))
        req.end()
        open.push(req)
      })
    }
    expect(again).toBe(200)
    for (const r of open) r.destroy()
  })

  it('only GET', async () => {
    const r = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/flows', method: 'POST', headers: { host: `127.0.0.1:${port}`, ...auth() } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.end()
    })
    expect(r).toBe(405)
  })
})

describe('web server fed by an in-process record stream', () => {
  it('indexes history from the files, live records from the stream, dedupes and serves details from memory', async () => {
    const cap = tempLogDir(true)
    const f = streamedFlow('hub-1', 'sess-hub', 'via hub', 'git status')
    const queue = [f.flow, ...f.sse, f.end]
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    async function* records() {
      await gate
      for (const r of queue) yield r as never
      yield queue[1] as never // a duplicate sse record
      await new Promise(() => undefined) // a hub waits for more
    }
    const web = createWebServer({ logDir: cap.dir, port: 0, records: records(), pushIntervalMs: 20, token: 'a'.repeat(32) })
    try {
      await web.start()
      await web.historyLoaded
      expect(web.index.get('cc-turn-1')?.summary.outcome).toBe('completed')
      release()
      for (let i = 0; i < 200 && web.index.get('hub-1')?.summary.state !== 'DONE'; i++) await new Promise((r) => setTimeout(r, 10))
      expect(web.index.get('hub-1')?.summary.events).toBe(f.sse.length)
      const d = JSON.parse((await get(web.port, '/api/flows/hub-1', { 'x-agenttap-token': web.token })).body) as FlowDetail
      expect(d.commands).toEqual(['git status'])
    } finally {
      await web.close()
      cap.cleanup()
    }
  })

  it('a flow that spans the start gets its early events from the file and the rest from the stream', async () => {
    const cap = tempLogDir(false)
    const f = streamedFlow('span-1', 'sess-span', 'p', 'uname -a')
    appendRecords(cap.cap, [f.flow, ...f.sse.slice(0, 5)])
    async function* records() {
      // The hub replays what it saw since subscription, then the rest of the stream.
      for (const r of [...f.sse.slice(3), f.end]) yield r as never
      await new Promise(() => undefined)
    }
    const web = createWebServer({ logDir: cap.dir, port: 0, records: records(), token: 'b'.repeat(32) })
    try {
      await web.start()
      await web.historyLoaded
      for (let i = 0; i < 200 && web.index.get('span-1')?.summary.state !== 'DONE'; i++) await new Promise((r) => setTimeout(r, 10))
      const e = web.index.get('span-1')
      expect(e?.summary.events).toBe(f.sse.length)
      expect(e?.lineOffsets).toHaveLength(5)
      const d = JSON.parse((await get(web.port, '/api/flows/span-1', { 'x-agenttap-token': web.token })).body) as FlowDetail
      expect(d.commands).toEqual(['uname -a'])
      const ev = JSON.parse((await get(web.port, '/api/flows/span-1/events?limit=100', { 'x-agenttap-token': web.token })).body)
      expect(ev.events.map((x: { seq: number }) => x.seq)).toEqual(f.sse.map((_, i) => i))
    } finally {
      await web.close()
      cap.cleanup()
    }
  })

  it('past the memory budget an in-process flow is found again in the files by scanning', async () => {
    const cap = tempLogDir(true)
    const flows = [1, 2, 3].map((i) => streamedFlow(`mem-${i}`, 'sess-mem', `prompt ${i}`, `echo ${i}`))
    async function* records() {
      for (const f of flows) {
        const recs = [f.flow, ...f.sse, f.end]
        appendRecords(cap.cap, recs) // the proxy writes the files and feeds the hub
        for (const r of recs) yield r as never
      }
      await new Promise(() => undefined)
    }
    const web = createWebServer({ logDir: cap.dir, port: 0, records: records(), memBudgetBytes: 3000, token: 'c'.repeat(32) })
    try {
      await web.start()
      await web.historyLoaded
      for (let i = 0; i < 200 && web.index.get('mem-3')?.summary.state !== 'DONE'; i++) await new Promise((r) => setTimeout(r, 10))
      const first = web.index.get('mem-1')
      expect(first?.memEvicted).toBe(true)
      expect(first?.mem).toBeUndefined()
      const auth = { 'x-agenttap-token': web.token }
      for (const i of [1, 2, 3]) {
        const d = JSON.parse((await get(web.port, `/api/flows/mem-${i}`, auth)).body) as FlowDetail
        expect(d.commands).toEqual([`echo ${i}`])
        const rq = JSON.parse((await get(web.port, `/api/flows/mem-${i}/request`, auth)).body) as FlowRequest
        expect(rq.view?.messages[0]?.parts[0]?.text).toBe(`prompt ${i}`)
      }
      expect(JSON.parse((await get(web.port, '/api/flows/cc-turn-1', auth)).body).commands).toHaveLength(1) // history by offset
    } finally {
      await web.close()
      cap.cleanup()
    }
  })

  it('rejects bad options with a message that says what to pass', () => {
    expect(() => createWebServer({ logDir: '' })).toThrow(/logDir/)
    expect(() => createWebServer({ logDir: '/tmp', port: 70000 })).toThrow(/port/)
    expect(() => createWebServer({ logDir: '/tmp', token: 'short' })).toThrow(/token/)
  })

  it('refuses to bind an address that is not loopback unless allowRemote (the proxy\'s rule: resolve, check every address)', async () => {
    for (const host of ['0.0.0.0', '::']) {
      const web = createWebServer({ logDir: '/tmp', host, port: 0 })
      await expect(web.start()).rejects.toMatchObject({ code: 'NON_LOOPBACK_BIND' })
      await expect(createWebServer({ logDir: '/tmp', host, port: 0 }).start()).rejects.toThrow(/not a loopback address.*--allow-remote/)
    }
    const ok = createWebServer({ logDir: '/tmp', host: 'localhost', port: 0 })
    try {
      await ok.start()
      expect(ok.port).toBeGreaterThan(0)
    } finally {
      await ok.close()
    }
  })
})

describe('captured content cannot make the server answer without bound', () => {
  it('the detail of a flow with 15,000 levels of nested tool arguments (30 KB) is small', async () => {
    const cap = tempLogDir(false)
    const depth = 15_000
    const args = `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`
    const base = { v: 1, flow_id: 'deep-1', session_id: 'sess-deep', ts: '2026-11-20T12:00:00.000Z' }
    const datas = [
      { type: 'message_start', message: { id: 'm', model: 'claude-x', role: 'assistant', usage: { input_tokens: 1, output_tokens: 0 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_d', name: 'Edit', input: {} } },
    ] as unknown[]
    for (let i = 0; i < args.length; i += 4) datas.push({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + 4) } })
    datas.push({ type: 'content_block_stop', index: 0 }, { type: 'message_stop' })
    appendRecords(cap.cap, [
      { ...base, type: 'flow', client: 'claude-code', provider: 'anthropic', url: 'https://api.anthropic.com/v1/messages' },
      ...datas.map((d, seq) => ({ ...base, type: 'sse', seq, data: JSON.stringify(d) })),
      { ...base, type: 'flow_end', outcome: 'completed', status: 200, events: datas.length },
    ])
    const web = createWebServer({ logDir: cap.dir, port: 0, follow: false })
    try {
      await web.start()
      await web.historyLoaded
      const r = await get(web.port, '/api/flows/deep-1', { 'x-agenttap-token': web.token })
      expect(r.status).toBe(200)
      expect(r.body.length).toBeLessThan(200_000)
      expect(r.body).toContain('nested deeper than 64 levels')
    } finally {
      await web.close()
      cap.cleanup()
    }
  })
})

describe('capture files that change under the server', () => {
  it('reports records without type/flow_id with file:line, and survives rotation of sse_lines.jsonl', async () => {
    const cap = tempLogDir(true)
    appendFileSync(join(cap.cap, 'sse_flow_ends.jsonl'), '{"v":1,"type":"flow_end","outcome":"completed"}\n[1,2]\n')
    const errors: string[] = []
    const web = createWebServer({ logDir: cap.dir, port: 0, pollMs: 30, pushIntervalMs: 20, onError: (e) => errors.push(e.message) })
    try {
      await web.start()
      await web.historyLoaded
      const st = web.status()
      expect(st.errors).toBe(2)
      expect(errors.join('\n')).toMatch(/sse_flow_ends\.jsonl:\d+ \(byte \d+\): expected a canonical record with string "type" and "flow_id", got an object without flow_id/)
      expect(errors.join('\n')).toMatch(/got an array/)
      const auth = { 'x-agenttap-token': web.token }
      expect(JSON.parse((await get(web.port, '/api/flows/cc-turn-1', auth)).body).commands).toHaveLength(1)

      // logrotate-style: the file is moved away and a new one starts.
      const { renameSync } = await import('node:fs')
      renameSync(join(cap.cap, 'sse_lines.jsonl'), join(cap.cap, 'sse_lines.jsonl.1'))
      writeFileSync(join(cap.cap, 'sse_lines.jsonl'), '')
      const f = streamedFlow('after-rotate', 'sess-rot', 'p', 'pwd')
      appendRecords(cap.cap, [f.flow, ...f.sse, f.end])
      for (let i = 0; i < 300 && web.index.get('after-rotate')?.summary.events !== f.sse.length; i++) await new Promise((r) => setTimeout(r, 10))
      const fresh = JSON.parse((await get(web.port, '/api/flows/after-rotate', auth)).body) as FlowDetail
      expect(fresh.commands).toEqual(['pwd'])
      expect(fresh.problems).toEqual([])
      const old = JSON.parse((await get(web.port, '/api/flows/cc-turn-1', auth)).body) as FlowDetail
      expect(old.summary.events).toBe(26) // the list row keeps what was indexed
      expect(old.problems.join('\n')).toMatch(/rotated or truncated/)
      expect(old.complete).toBe(false)
      expect((await get(web.port, '/api/flows/%E0%A4%A', auth)).status).toBe(400)
    } finally {
      await web.close()
      cap.cleanup()
    }
  })

  it('keeps every good record around binary junk, a huge line and a half-written last line', async () => {
    const cap = tempLogDir(true)
    const lines = join(cap.cap, 'sse_lines.jsonl')
    appendFileSync(lines, Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a]))
    appendFileSync(lines, `{"v":1,"type":"sse","flow_id":"cc-turn-1","seq":999,"data":"${'x'.repeat(70_000)}"}\n`)
    const f = streamedFlow('after-junk', 'sess-junk', 'p', 'whoami')
    appendRecords(cap.cap, [f.flow, ...f.sse, f.end])
    appendFileSync(lines, '{"v":1,"type":"sse","flow_id":"after-junk","seq":50,"da')
    const errors: string[] = []
    const web = createWebServer({ logDir: cap.dir, port: 0, pollMs: 30, onError: (e) => errors.push(e.message) })
    try {
      await web.start()
      await web.historyLoaded
      expect(web.index.get('cc-turn-1')?.summary.events).toBe(27) // 26 + the huge one (under 16 MiB: kept)
      expect(web.index.get('after-junk')?.summary.events).toBe(f.sse.length) // the half line waits for its newline
      expect(errors.some((m) => /sse_lines\.jsonl:\d+ \(byte \d+\)/.test(m))).toBe(true)
      const d = JSON.parse((await get(web.port, '/api/flows/after-junk', { 'x-agenttap-token': web.token })).body) as FlowDetail
      expect(d.commands).toEqual(['whoami'])
    } finally {
      await web.close()
      cap.cleanup()
    }
  })
})
