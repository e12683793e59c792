import { existsSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWebServer, type WebServer } from '../src/index.js'
import { appendRecords, streamedFlow, tempLogDir } from './helpers.js'

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const BUNDLE = fileURLToPath(new URL('../dist/public/app.js', import.meta.url))

// One browser for the whole file (launching is the slow part).
describe('web view in a real browser (chromium)', () => {
  const cap = tempLogDir(true)
  let web: WebServer
  let browser: Browser
  let ctx: BrowserContext
  let page: Page
  const pageErrors: string[] = []
  let dialogs = 0

  beforeAll(async () => {
    if (!existsSync(BUNDLE)) throw new Error(`page bundle missing at ${BUNDLE}: run \`pnpm --filter @agenttap/web build\` first`)
    if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
    web = createWebServer({ logDir: cap.dir, port: 0, pollMs: 50, pushIntervalMs: 30 })
    await web.start()
    await web.historyLoaded
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--no-first-run'],
    })
    ctx = await browser.newContext({ viewport: { width: 1500, height: 900 } })
    page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('dialog', (d) => {
      dialogs++
      void d.dismiss()
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await web?.close()
    cap.cleanup()
  })

  it('without the token the page shows no captured data and says how to get access; the API is 403', async () => {
    const res = await page.goto(`http://127.0.0.1:${web.port}/`)
    expect(res?.status()).toBe(200)
    await expect.poll(async () => page.locator('#list-note').textContent()).toContain('no access token')
    expect(await page.content()).not.toContain('cc-turn-1')
    const api = await page.goto(`http://127.0.0.1:${web.port}/api/flows`)
    expect(api?.status()).toBe(403)
  })

  it('a wrong Host header gets 403 even with the token', async () => {
    const r = await ctx.request.get(`http://127.0.0.1:${web.port}/api/flows?token=${web.token}`, { headers: { host: `attacker.example:${web.port}` } })
    expect(r.status()).toBe(403)
  })

  it('opens with the token, drops it from the address bar and lists the fixture flows', async () => {
    await page.goto(web.url)
    await expect.poll(() => page.url()).toBe(`http://127.0.0.1:${web.port}/`)
    await page.locator('tr.flow-row[data-flow-id="cc-turn-1"]').waitFor()
    await page.locator('#live.on').waitFor()
    expect(await page.locator('tr.flow-row').count()).toBeGreaterThanOrEqual(9)
    const row = page.locator('tr.flow-row[data-flow-id="cx-turn-1"]')
    expect(await row.textContent()).toContain('codex')
  })

  it('shows a streamed flow without a reload, opens it and sees the $ command and the usage; the <script> prompt stays text', async () => {
    const evil = '<script>window.__pwned = 1; alert(1)</script><img src=x onerror="window.__pwned=2">'
    const f = streamedFlow('live-browser-1', 'sess-browser', evil, 'ls -la /tmp && echo "<b>done</b>"')
    // Request and the first half of the stream: the row must appear while streaming.
    appendRecords(cap.cap, [f.flow, ...f.sse.slice(0, 4)])
    const row = page.locator('tr.flow-row[data-flow-id="live-browser-1"]')
    await row.waitFor()
    await expect.poll(async () => row.textContent(), { timeout: 10_000 }).toContain('streaming')
    appendRecords(cap.cap, [...f.sse.slice(4), f.end])
    await expect.poll(async () => row.textContent(), { timeout: 10_000 }).toContain('completed')
    expect(await row.textContent()).toContain(evil.slice(0, 40)) // the prompt preview, as text

    await row.click()
    const conv = page.locator('#conversation')
    await conv.waitFor()
    await expect.poll(async () => page.locator('#conversation .s-command').allTextContents(), { timeout: 10_000 }).toEqual(['$ ls -la /tmp && echo "<b>done</b>"'])
    // the end line the terminal monitor prints for the same call
    const meta = (await page.locator('#conversation .s-meta').allTextContents()).join('\n')
    expect(meta).toMatch(/^■ completed · tool_use · claude-sonnet-4-5-20250929 · in 12 \(cache read 4\.3k, cache write 100\) · out 77 · \d+ ms$/)
    expect(await page.locator('#conversation b').count()).toBe(0)

    // Request tab: the prompt is shown verbatim, nothing of it ran.
    await page.locator('button.tab[data-tab="request"]').click()
    const msgs = page.locator('#messages')
    await msgs.waitFor()
    expect(await msgs.textContent()).toContain(evil)
    expect(await page.locator('#request script, #request img').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(dialogs).toBe(0)

    // Events tab: raw SSE events.
    await page.locator('button.tab[data-tab="events"]').click()
    await page.locator('table.events td.data').first().waitFor()
    expect(await page.locator('table.events tbody tr').count()).toBe(f.sse.length)

    // Session tab: the unanswered Bash call is a finding.
    await page.locator('button.tab[data-tab="session"]').click()
    await page.locator('#session').waitFor()
    expect(await page.locator('#session').textContent()).toContain('unanswered_call')
  })

  it('an open flow keeps rendering while it streams (no reload, no click)', async () => {
    const f = streamedFlow('live-browser-2', 'sess-browser', 'second prompt', 'git log --oneline | head -n 3')
    appendRecords(cap.cap, [f.flow, ...f.sse.slice(0, 3)])
    const row = page.locator('#rows tr.flow-row[data-flow-id="live-browser-2"]')
    await row.waitFor()
    await row.click()
    await page.locator('button.tab[data-tab="conversation"]').click()
    await expect.poll(async () => page.locator('#conversation').textContent(), { timeout: 10_000 }).toContain('Running it <b>now</b>.')
    expect(await page.locator('#conversation .s-command').count()).toBe(0)
    appendRecords(cap.cap, [...f.sse.slice(3), f.end])
    await expect.poll(async () => page.locator('#conversation .s-command').allTextContents(), { timeout: 10_000 }).toEqual(['$ git log --oneline | head -n 3'])
    expect((await page.locator('#conversation .s-meta').allTextContents()).join('\n')).toContain('in 12 (cache read 4.3k, cache write 100) · out 77')
  })

  it('the token never leaves this origin: no cookie, nothing sent to another local server, a reload keeps access', async () => {
    expect(await ctx.cookies()).toEqual([])
    expect(await page.evaluate(() => document.cookie)).toBe('')
    // Another local server on another port (a dev server, a tool): what does the browser send it?
    const seen: IncomingHttpHeaders[] = []
    const other = createServer((req, res) => {
      seen.push(req.headers)
      res.end('other server')
    })
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
    try {
      const otherPage = await ctx.newPage()
      await otherPage.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`)
      await otherPage.close()
      expect(seen.length).toBeGreaterThan(0)
      for (const h of seen) {
        expect(h.cookie).toBeUndefined()
        expect(JSON.stringify(h)).not.toContain(web.token)
      }
    } finally {
      await new Promise((r) => other.close(r))
    }
    // a reload of the view keeps access (the token is in this tab's storage, not in the URL)
    await page.reload()
    await page.locator('#live.on').waitFor()
    expect(page.url()).not.toContain('token')
  })

  it('markup in every captured field (ids, model, client, headers, tool names, event names) stays text', async () => {
    const x = (tag: string) => `<img src=x onerror="window.__pwned='${tag}'">`
    const f = streamedFlow(`evil-${x('id').length}`, `sess${x('session')}`, 'hi', 'echo hi')
    f.flow['client'] = x('client')
    f.flow['url'] = `https://api.anthropic.com/v1/messages?q=${x('url')}`
    ;(f.flow['request_headers'] as Record<string, string>)[`x-${x('hname')}`] = x('hval')
    ;(f.flow['request_body'] as { model: string; tools: { name: string }[] }).model = x('model')
    ;(f.flow['request_body'] as { tools: { name: string; description: string }[] }).tools[0] = { name: x('tool'), description: x('desc') }
    const first = f.sse[0] as Record<string, unknown>
    first['event'] = x('event')
    first['data'] = String(first['data']).replace('claude-sonnet-4-5-20250929', x('stream-model').replace(/"/g, '\\"'))
    f.end['error'] = { type: x('etype'), message: x('emsg') }
    appendRecords(cap.cap, [f.flow, ...f.sse, f.end])
    const row = page.locator(`#rows tr.flow-row[data-flow-id="${f.flow['flow_id'] as string}"]`)
    await row.waitFor({ timeout: 5000 })
    await row.click()
    for (const t of ['conversation', 'events', 'request', 'session']) {
      await page.locator(`button.tab[data-tab="${t}"]`).click()
      await page.locator(t === 'conversation' ? '#conversation' : t === 'events' ? 'table.events td.data' : `#${t}`).first().waitFor({ timeout: 5000 })
      if (t === 'request') await page.locator('#request details').first().click()
    }
    expect(await page.locator('#main img, #main script').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined()
    expect(await page.locator('#rows').textContent()).toContain(x('client'))
  })

  it('filters by client and outcome and searches text', async () => {
    await page.selectOption('#f-client', 'codex')
    await expect.poll(async () => (await page.locator('#rows tr.flow-row').allTextContents()).map((t) => t.includes('codex'))).toEqual([true, true, true, true, true, true, true])
    await page.selectOption('#f-client', '')
    // the 529's error is in its JSON body: the ledger reads it, so the list finds it too
    await page.fill('#q', 'overloaded')
    await expect.poll(async () => page.locator('#rows tr.flow-row').evaluateAll((r) => r.map((x) => (x as HTMLElement).dataset['flowId']).sort())).toEqual(['err-anthropic-1', 'err-http-529'])
    // Enter searches inside the bodies: "jitter" is only in trunc-1's streamed text.
    await page.fill('#q', 'jitter')
    await expect.poll(async () => page.locator('#rows tr.flow-row').count()).toBe(0)
    await page.press('#q', 'Enter')
    await expect.poll(async () => page.locator('#rows tr.flow-row').evaluateAll((r) => r.map((x) => (x as HTMLElement).dataset['flowId']))).toEqual(['trunc-1'])
    await page.fill('#q', 'apply_patch')
    await expect.poll(async () => page.locator('#rows tr.flow-row').count()).toBe(2)
    await page.fill('#q', '')
    await page.selectOption('#f-outcome', 'truncated')
    await expect.poll(async () => page.locator('#rows tr.flow-row').count()).toBe(1)
    await page.selectOption('#f-outcome', '')
    // Keyboard: j/k move through the rows, 3 opens the Request tab, / focuses the search.
    // Keyboard (on one historical session, so no live update reorders the rows): j/k move
    // through the rows, 3 opens the Request tab, / focuses the search.
    await page.selectOption('#f-session', '5b6f7a8c-1d2e-4f30-9a4b-c5d6e7f80912')
    const rows = page.locator('#rows tr.flow-row')
    await expect.poll(async () => rows.evaluateAll((r) => r.map((x) => (x as HTMLElement).dataset['flowId']))).toEqual(['cc-turn-2', 'cc-turn-1'])
    await rows.first().click()
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/flow/cc-turn-2/conversation')
    await page.keyboard.press('j')
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/flow/cc-turn-1/conversation')
    await page.keyboard.press('3')
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/flow/cc-turn-1/request')
    await page.keyboard.press('k')
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/flow/cc-turn-2/request')
    await page.selectOption('#f-session', '')
    await page.keyboard.press('/')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('q')
    expect(pageErrors).toEqual([])
    if (process.env['WEB_SCREENSHOT']) {
      await page.locator('tr.flow-row[data-flow-id="cc-turn-1"]').click()
      await page.locator('button.tab[data-tab="conversation"]').click()
      await page.locator('#conversation .s-command').first().waitFor()
      await page.screenshot({ path: process.env['WEB_SCREENSHOT'] })
      await page.locator('button.tab[data-tab="request"]').click()
      await page.locator('#messages').waitFor()
      await page.screenshot({ path: process.env['WEB_SCREENSHOT'].replace(/\.png$/, '-request.png') })
      await page.locator('button.tab[data-tab="session"]').click()
      await page.locator('#session').waitFor()
      await page.screenshot({ path: process.env['WEB_SCREENSHOT'].replace(/\.png$/, '-session.png') })
    }
  })
})
