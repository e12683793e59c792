import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg'])

/**
 * Diagnostics go to stderr through pino (stdout stays for the export lines and the monitor).
 * `json` writes pino's NDJSON as is; otherwise each entry becomes one short human line.
 */
export function createLogger(opts: { quiet?: boolean; json?: boolean; verbose?: boolean }): Logger {
  const level = opts.quiet ? 'warn' : opts.verbose ? 'debug' : 'info'
  if (opts.json) return pino({ level }, process.stderr)
  const color = process.stderr.isTTY && !process.env['NO_COLOR']
  const human = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue
        let o: Record<string, unknown>
        try {
          o = JSON.parse(line) as Record<string, unknown>
        } catch {
          process.stderr.write(`${line}\n`)
          continue
        }
        const lvl = LEVELS[Number(o['level'])] ?? 'info'
        const extras = Object.entries(o)
          .filter(([k]) => !SKIP.has(k))
          // An error is its message: stack traces stay out of the human-readable log (--json-logs keeps them).
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : k === 'err' && v !== null && typeof v === 'object' && 'message' in v ? String((v as { message: unknown }).message) : JSON.stringify(v)}`)
          .join(' ')
        const tag = color ? (lvl === 'error' || lvl === 'fatal' ? '\x1b[31m' : lvl === 'warn' ? '\x1b[33m' : '\x1b[2m') + `[agenttap ${lvl}]\x1b[0m` : `[agenttap ${lvl}]`
        process.stderr.write(`${tag} ${String(o['msg'] ?? '')}${extras ? ` ${extras}` : ''}\n`)
      }
      cb()
    },
  })
  return pino({ level }, human)
}
