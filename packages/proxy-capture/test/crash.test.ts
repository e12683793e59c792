import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readJsonl, type JsonlError } from '@agenttap/jsonl-io'
import { proxiedRequest, selfSigned, tempDir, TunnelAgent } from './helpers.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = tempDir('agenttap-crash-')

describe('SIGKILL mid-capture', () => {
  it.skipIf(!existsSync(join(here, '../dist/index.js')))('leaves files whose only possible damage is a torn last line, which readers skip with a report', async () => {
    const { key, cert } = selfSigned(root)
    // An upstream that never stops streaming events.
    const upstream = createServer({ key, cert }, (req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let i = 0
      const iv = setInterval(() => {
        for (let k = 0; k < 50; k++) res.write(`event: content_block_delta\ndata: {"i":${i++},"pad":"${'x'.repeat(200)}"}\n\n`)
      }, 1)
      res.on('close', () => clearInterval(iv))
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    const upPort = (upstream.address() as AddressInfo).port
    const logDir = join(root, 'logs')
    const child = spawn(process.execPath, [join(here, 'crash.child.mjs'), join(root, 'ca'), logDir, join(root, 'upstream.pem')], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((r) => child.once('exit', r))
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())))
      child.once('exit', (code) => reject(new Error(`proxy child exited (${code}) before listening`)))
    })
    const linesOnDisk = (): boolean => {
      try {
        return statSync(join(logDir, 'all-mitm-sse', 'sse_lines.jsonl')).size > 100_000
      } catch {
        return false
      }
    }
    const agent = new TunnelAgent(port, readFileSync(join(root, 'ca', 'certs', 'ca.pem'), 'utf8'))
    let received = 0
    let killed = false
    const flows = Array.from({ length: 4 }, () =>
      proxiedRequest(agent, upPort, '/stream', {
        method: 'GET',
        onChunk: (c) => {
          received += c.length
          // Mid-capture: traffic flowing and records already on disk (the capture runs on its own thread).
          if (received > 2_000_000 && !killed && linesOnDisk()) {
            killed = true
            child.kill('SIGKILL')
          }
        },
      }),
    )
    await Promise.all(flows)
    await exited
    upstream.closeAllConnections()
    upstream.close()
    expect(killed).toBe(true)

    const dir = join(logDir, 'all-mitm-sse')
    let total = 0
    for (const file of ['sse_flows.jsonl', 'sse_lines.jsonl']) {
      const path = join(dir, file)
      const text = readFileSync(path, 'utf8')
      const lineCount = text.split('\n').filter(Boolean).length
      const errors: JsonlError[] = []
      let good = 0
      for await (const item of readJsonl(path, { onError: (e) => errors.push(e) })) {
        expect(item.value).toMatchObject({ v: 1, flow_id: expect.any(String) })
        good++
      }
      total += good
      expect(errors.length).toBeLessThanOrEqual(1)
      if (errors[0]) {
        // Only the very last line can be torn.
        expect(errors[0].line).toBe(lineCount)
        expect(text.endsWith('\n')).toBe(false)
      }
    }
    expect(total).toBeGreaterThan(4)
  }, 20_000)
})
