import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Alert } from '@agenttap/cache-insights'
import { createAlertCommand } from './alert-command.js'
import type { TerminalViewError } from './errors.js'

const alert = (n: number): Alert => ({ kind: 'context', at: '2026-11-20T10:00:00.000Z', session_id: 's', flow_id: `f${n}`, key: `f${n}#0`, message: `context of session s at 8${n} %`, context: { tokens: 160000 + n, window: 200000, ratio: 0.8 } })

describe('createAlertCommand', () => {
  it('runs the command with the alert JSON on stdin and its kind in the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alert-cmd-'))
    try {
      const out = join(dir, 'out')
      const errors: TerminalViewError[] = []
      const hook = createAlertCommand(`cat >> ${out}; echo "$AGENTTAP_ALERT_KIND" >> ${out}.kind`, { onError: (e) => errors.push(e) })
      hook.run(alert(1))
      await hook.close()
      hook.run(alert(2))
      await hook.close()
      expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([alert(1), alert(2)])
      expect(readFileSync(`${out}.kind`, 'utf8')).toBe('context\ncontext\n')
      expect(errors).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('runs past maxRunning wait in the queue; past maxQueued they are dropped; failures are reported, never thrown', async () => {
    const errors: TerminalViewError[] = []
    const hook = createAlertCommand('cat > /dev/null; exit 3', { onError: (e) => errors.push(e), maxRunning: 1, maxQueued: 1 })
    hook.run(alert(1))
    hook.run(alert(2))
    hook.run(alert(3))
    await hook.close()
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ALERT_COMMAND', '--alert-cmd: 1 alerts already wait for the command; alert context of flow f3 not sent (1 dropped so far)'],
      ['ALERT_COMMAND', '--alert-cmd exited with 3 for alert context of flow f1'],
      ['ALERT_COMMAND', '--alert-cmd exited with 3 for alert context of flow f2'],
    ])
    expect(() => createAlertCommand(' ')).toThrow(/non-empty command/)
  })
})
