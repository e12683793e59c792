import type { Writable } from 'node:stream'
import { createLiveView, type LiveViewOptions } from '@agenttap/flow-fsm'
import { validateRecord, type CaptureRecord } from '@agenttap/jsonl-io'
import { TerminalViewError } from './errors.js'
import { createJsonOutput } from './json-output.js'
import { createReaderWarnings } from './reader-warnings.js'
import { createTerminalWriter } from './terminal-writer.js'
import type { TerminalView, TerminalViewOptions, TerminalViewStats } from './types.js'

function colorDefault(output: Writable, env: NodeJS.ProcessEnv): boolean {
  const isTty = (output as { isTTY?: boolean }).isTTY === true
  return isTty && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '')
}

function checkOptions(opts: TerminalViewOptions): void {
  if (!opts || !opts.output || typeof (opts.output as { write?: unknown }).write !== 'function') {
    throw new TerminalViewError('INVALID_OPTION', 'option output: expected a writable stream (e.g. process.stdout)')
  }
  for (const [k, v] of [['sessionGuardMs', opts.sessionGuardMs], ['flowEndGraceMs', opts.flowEndGraceMs], ['idleMs', opts.idleMs], ['tickMs', opts.tickMs]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new TerminalViewError('INVALID_OPTION', `option ${k}: expected a number of milliseconds >= 0, received ${String(v)}`)
    }
  }
  if (opts.argsSubDeltas !== undefined && (!Number.isInteger(opts.argsSubDeltas) || opts.argsSubDeltas < 8)) {
    throw new TerminalViewError(
      'INVALID_OPTION',
      `option argsSubDeltas: expected an integer >= 8 (providers split the key and the command over several deltas), received ${String(opts.argsSubDeltas)}`,
    )
  }
}

/**
 * Creates a terminal view: flow-fsm's live view (records → render ops) written to a terminal or a
 * pipe by the terminal writer (colours, row erase, coalescing), or NDJSON in `json` mode, plus
 * reader warnings in their place. `runTerminalView` and `attachTerminalView` are built on it; use
 * it directly to feed records from your own loop. A failure of the view on one input is reported
 * (`onDiagnostic`) and skipped: it never throws into the producer or from a timer.
 *
 * @example
 * ```ts
 * const view = createTerminalView({ output: process.stdout })
 * view.feed({ v: 1, type: 'sse', ts, flow_id, session_id, seq: 0, data: '{"type":"ping"}' })
 * await view.end()
 * ```
 */
export function createTerminalView(opts: TerminalViewOptions): TerminalView {
  checkOptions(opts)
  const env = opts.env ?? process.env
  const output = opts.output
  const errorOutput = opts.errorOutput ?? process.stderr
  const json = opts.json ?? false
  const keepUp = opts.keepUp ?? true
  const isTty = (output as { isTTY?: boolean }).isTTY === true
  let failures = 0

  /** Reports a failure of the view itself; the first few also as a line on the view. */
  const failed = (err: unknown, where: string): void => {
    failures++
    const e = err instanceof Error ? err : new Error(String(err))
    opts.onDiagnostic?.(new TerminalViewError('VIEW_FAILED', `the view failed on ${where}: ${e.message}; skipped`, { cause: e }))
    if (failures <= 3) {
      try {
        errorOutput.write(`agenttap: the live view failed on ${where} (${e.message}); it goes on with the next record\n`)
      } catch {
        // the error output is gone too: nothing more to do
      }
    }
  }

  let viewRef: { lastRecordTime: number } | undefined
  const writer = createTerminalWriter({
    output,
    color: opts.color ?? colorDefault(output, env),
    ansi: opts.ansi ?? isTty,
    showTime: opts.showTime ?? false,
    showFlowId: opts.showFlowId ?? false,
    time: () => viewRef?.lastRecordTime || Date.now(),
    maxPendingChars: keepUp ? (opts.maxPendingChars ?? 1024 * 1024) : Number.POSITIVE_INFINITY,
    onError: (err) => failed(err, 'writing to the terminal'),
  })
  // --json: NDJSON lines batched per event-loop turn; lossless (jq users want every event).
  const jsonOut = json ? createJsonOutput(output, (err) => failed(err, 'writing NDJSON')) : undefined
  const warnings = createReaderWarnings((text) => (json ? errorOutput.write(`${text}\n`) : writer.notice(text, 'dim')))

  const liveOpts: LiveViewOptions = {
    onOps: (ops) => {
      if (ops.length > 0) writer.write(ops)
    },
    ...(jsonOut ? { onJson: (e) => jsonOut.write(e) } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.sessionGuardMs !== undefined ? { sessionGuardMs: opts.sessionGuardMs } : {}),
    ...(opts.argsSubDeltas !== undefined ? { argsSubDeltas: opts.argsSubDeltas } : {}),
    ...(opts.functionOnly ? { functionOnly: true } : {}),
    ...(opts.sessions ? { sessions: opts.sessions } : {}),
    ...(opts.clients ? { clients: opts.clients } : {}),
    ...(opts.flowEndGraceMs !== undefined ? { flowEndGraceMs: opts.flowEndGraceMs } : {}),
    ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}),
    ...(opts.onDiagnostic ? { onDiagnostic: opts.onDiagnostic } : {}),
    ...(opts.alerts ? { alerts: true } : {}),
    ...(opts.onAlert ? { onAlert: opts.onAlert } : {}),
    // No terminal to erase a row on: no raw previews at all.
    ...((opts.ansi ?? isTty) ? {} : { preview: false }),
    ...(isTty
      ? {
          previewChars: () => {
            const cols = (output as { columns?: number }).columns ?? 80
            // room for the line prefix (time, flow id) and the tool name
            return cols - (opts.showTime ? 13 : 0) - (opts.showFlowId ? 13 : 0) - 40
          },
        }
      : {}),
  }
  const view = createLiveView(liveOpts)
  viewRef = view

  const tick = (): void => {
    try {
      warnings.release(undefined, undefined, false)
      view.tick()
    } catch (err) {
      failed(err, 'the clock tick')
    }
  }
  const timer = setInterval(tick, opts.tickMs ?? 250)
  timer.unref?.()
  let ended: Promise<TerminalViewStats> | undefined

  const stats = (): TerminalViewStats => ({ ...view.stats, warnings: warnings.count, failures, writer: { ...writer.stats } })

  return {
    feed(value, where) {
      if (warnings.held > 0) warnings.release(where?.file, where?.line, false)
      try {
        const v = validateRecord(value)
        if (!v.ok) return warnings.invalid(v.error, where)
        view.feed(v.record as CaptureRecord)
      } catch (err) {
        // A bug (or an input nobody foresaw) must not take down the producer, e.g. a proxy.
        const id = (value as { flow_id?: unknown } | null)?.flow_id
        failed(err, `${typeof id === 'string' ? `flow ${id}` : 'a record'}${where?.line !== undefined ? ` (${where.file ?? 'input'}:${where.line})` : ''}`)
      }
    },
    warn(err, wopts) {
      warnings.warn(err, wopts)
    },
    note(text) {
      if (json) errorOutput.write(`${text}\n`)
      else writer.notice(text, 'dim')
    },
    tick,
    async room() {
      if (jsonOut) return jsonOut.drain()
      if (writer.behind || writer.pending.chars > 256 * 1024) await writer.room()
    },
    end(eopts) {
      ended ??= (async () => {
        clearInterval(timer)
        warnings.release(undefined, undefined, true)
        try {
          let stopped = eopts?.stopped === true
          // Thousands of flows still open: end them in slices, so a stop (SIGTERM) and the output
          // get their turn; a stop leaves the rest open, as a stopped viewer does.
          while (!stopped && view.endFlows(500) > 0) {
            await new Promise<void>((r) => setImmediate(r))
            if (opts.signal?.aborted) stopped = true
          }
          if (stopped) view.stop()
          else view.end()
        } catch (err) {
          failed(err, 'the end of the input')
        }
        await jsonOut?.drain()
        await writer.end()
        return stats()
      })()
      return ended
    },
    get stats() {
      return stats()
    },
  }
}
