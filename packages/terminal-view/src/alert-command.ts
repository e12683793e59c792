import { spawn } from 'node:child_process'
import type { Alert } from '@agenttap/cache-insights'
import { TerminalViewError } from './errors.js'

/** Options of {@link createAlertCommand}. */
export interface AlertCommandOptions {
  /** A run that failed to start or exited non-zero, and alerts dropped while `maxRunning` ran. */
  onError?(e: TerminalViewError): void
  /** Runs at once; further alerts wait in a queue. @defaultValue 4 */
  maxRunning?: number
  /** Alerts waiting at most; past it the newest is dropped (and reported), so a slow hook never piles up. @defaultValue 1000 */
  maxQueued?: number
  /** Environment of the command. @defaultValue process.env */
  env?: NodeJS.ProcessEnv
}

/** A hook: `run(alert)` starts the command with the alert; `close()` waits for the runs under way. */
export interface AlertCommand {
  run(alert: Alert): void
  close(): Promise<void>
}

/**
 * The `--alert-cmd` hook: runs a shell command for each alert with the alert as one line of JSON
 * on its stdin (`AGENTTAP_ALERT_KIND` in its environment too). Opt-in; the view never waits for it.
 *
 * @example
 * const hook = createAlertCommand('jq -r .message >> ~/agenttap-alerts.log', { onError: (e) => console.error(e.message) })
 * runTerminalView({ output: process.stdout, onAlert: hook.run, … })
 */
export function createAlertCommand(command: string, options: AlertCommandOptions = {}): AlertCommand {
  if (typeof command !== 'string' || command.trim() === '') throw new TerminalViewError('INVALID_OPTION', 'createAlertCommand: expected a non-empty command')
  const max = options.maxRunning ?? 4
  const maxQueued = options.maxQueued ?? 1000
  const running = new Set<Promise<void>>()
  const queue: Alert[] = []
  let dropped = 0
  let idle: (() => void) | undefined
  const report = (code: 'ALERT_COMMAND' | 'INVALID_OPTION', message: string, cause?: unknown): void => options.onError?.(new TerminalViewError(code, message, cause === undefined ? {} : { cause }))
  function start(alert: Alert): void {
      const p = new Promise<void>((resolve) => {
        let child
        try {
          child = spawn(command, { shell: true, stdio: ['pipe', 'ignore', 'inherit'], env: { ...(options.env ?? process.env), AGENTTAP_ALERT_KIND: alert.kind } })
        } catch (e) {
          report('ALERT_COMMAND', `--alert-cmd: could not start ${JSON.stringify(command)}: ${(e as Error).message}`, e)
          resolve()
          return
        }
        child.on('error', (e) => report('ALERT_COMMAND', `--alert-cmd: could not start ${JSON.stringify(command)}: ${e.message}`, e))
        child.on('close', (code) => {
          if (code !== 0 && code !== null) report('ALERT_COMMAND', `--alert-cmd exited with ${code} for alert ${alert.kind} of flow ${alert.flow_id}`)
          resolve()
        })
        child.stdin.on('error', () => {})
        child.stdin.end(`${JSON.stringify(alert)}\n`)
      })
      running.add(p)
      void p.then(() => {
        running.delete(p)
        const next = queue.shift()
        if (next !== undefined) start(next)
        else if (running.size === 0) idle?.()
      })
  }
  return {
    run(alert) {
      if (running.size < max) return start(alert)
      if (queue.length >= maxQueued) {
        dropped++
        report('ALERT_COMMAND', `--alert-cmd: ${maxQueued} alerts already wait for the command; alert ${alert.kind} of flow ${alert.flow_id} not sent (${dropped} dropped so far)`)
        return
      }
      queue.push(alert)
    },
    close() {
      if (running.size === 0 && queue.length === 0) return Promise.resolve()
      return new Promise<void>((resolve) => {
        idle = resolve
      })
    },
  }
}
