import type { Writable } from 'node:stream'
import { drainedOrGone, outputGone, watchOutput } from './output-gone.js'
import { sanitizeText, type RenderOp, type RenderStyle } from '@agenttap/flow-fsm'

/** Options of {@link createTerminalWriter}. */
export interface TerminalWriterOptions {
  /** Where the bytes go (a TTY, a pipe, a file). */
  output: Writable
  /** ANSI colours by style. @defaultValue false */
  color?: boolean
  /**
   * Terminal mode: `backtrack` is `\r\x1b[2K` (erase the row). Off (pipes, files): the writer
   * holds the open line until its newline, so a backtracked row is dropped instead of printed
   * and the output stays clean, newline-separated text. @defaultValue false
   */
  ansi?: boolean
  /** Prefix every line with the time (`HH:MM:SS.mmm`, UTC) of the record that produced it. */
  showTime?: boolean
  /** Prefix every line with the (short) flow id of its card. */
  showFlowId?: boolean
  /** Time for the `showTime` prefix and headers (ms since epoch). @defaultValue Date.now */
  time?: () => number
  /**
   * Cap of output waiting while the destination is behind (characters). Past it the oldest
   * waiting text is skipped (one `meta` line says how much) so the view catches up instead of
   * lagging further. @defaultValue 1048576
   */
  maxPendingChars?: number
  /** Longest line held in non-ANSI mode before it is written anyway. @defaultValue 65536 */
  maxHeldLineChars?: number
  /**
   * A failure while writing in the background (a flush on the next event-loop turn, on `drain`):
   * reported here and the waiting output is dropped, never thrown from a timer, so a view cannot
   * take its process (a proxy) down. @defaultValue rethrown on the next `write`/`flush` call
   */
  onError?(err: unknown): void
}

/** Counters of a {@link TerminalWriter}. */
export interface TerminalWriterStats {
  /** Characters handed to `output.write`. */
  chars: number
  /** `output.write` calls. */
  writes: number
  /** Times the destination signalled it was behind (write returned false). */
  stalls: number
  /** Text ops merged into a neighbour while output waited. */
  coalescedOps: number
  /** Ops erased before they were ever written (text followed by a backtrack). */
  elidedOps: number
  /** Characters skipped because the destination fell more than `maxPendingChars` behind. */
  skippedChars: number
}

/** RenderOps → bytes. See {@link createTerminalWriter}. */
export interface TerminalWriter {
  /** Queues ops; they are written on the next turn of the event loop (or by `flush`). */
  write(ops: readonly RenderOp[]): void
  /** An out-of-band line (warning, notice): closes an open line first. */
  notice(text: string, style?: RenderStyle): void
  /** Writes what is queued now, unless the destination is behind (then on its `drain`). */
  flush(): void
  /** Writes everything (held line included) and resolves once the destination took it. */
  end(): Promise<void>
  /** Resolves once the destination is not behind and the queue is written (backpressure). */
  room(): Promise<void>
  /** The destination signalled it is behind and has not drained yet. */
  readonly behind: boolean
  /** Ops + characters waiting. */
  readonly pending: { ops: number; chars: number }
  readonly stats: TerminalWriterStats
}

const RESET = '\x1b[0m'
/** SGR sequence per style; `text` stays in the terminal's own colour. */
export const STYLE_SGR: Readonly<Record<RenderStyle | 'header' | 'prefix', string>> = {
  text: '',
  thinking: '\x1b[3;35m',
  tool: '\x1b[36m',
  command: '\x1b[1;32m',
  error: '\x1b[1;31m',
  meta: '\x1b[33m',
  dim: '\x1b[2m',
  header: '\x1b[1;34m',
  prefix: '\x1b[2m',
}

function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23)
}

/** A short id for line prefixes: ids up to 12 characters whole, longer ones by their last 8. */
export function shortId(id: string, n = 8): string {
  return id.length > 12 ? id.slice(-n) : id
}

/** Internal marker: the time of the ops that follow (for `showTime`). */
type TimeOp = { op: 'time'; t: number }
/** Internal: an out-of-band line (warning) that belongs to no card. */
type NoticeOp = { op: 'notice'; text: string; style: RenderStyle }
type QOp = RenderOp | TimeOp | NoticeOp

function opChars(op: QOp): number {
  return op.op === 'text' || op.op === 'notice' ? op.text.length : 1
}

/**
 * The text fragments merged into the last op of `out`, joined into it once. A function of its own,
 * not a closure made per {@link coalesceOps} call: V8 inlined such a closure with a check of the
 * closure itself, which the next call's new closure failed (a deoptimization per call). Returns
 * undefined, the new `parts`.
 */
function joinParts(out: QOp[], parts: string[]): undefined {
  const last = out[out.length - 1]
  if (last && last.op === 'text') out[out.length - 1] = { op: 'text', text: parts.join(''), style: last.style }
  return undefined
}

/**
 * Merges consecutive text ops of one style and drops text a later `backtrack` erases before it
 * was ever shown. The screen controller only emits ops of one card between two headers, so a
 * merge never crosses cards. Returns a new array and how many ops were merged / elided.
 */
export function coalesceOps(ops: readonly RenderOp[]): { ops: RenderOp[]; merged: number; elided: number }
export function coalesceOps(ops: readonly QOp[]): { ops: QOp[]; merged: number; elided: number }
export function coalesceOps(ops: readonly QOp[]): { ops: QOp[]; merged: number; elided: number } {
  const out: QOp[] = []
  let merged = 0
  let elided = 0
  // Index in `out` of the first op of the current (unterminated) row.
  let rowStart = 0
  let parts: string[] | undefined
  for (const op of ops) {
    if (op.op === 'text') {
      const last = out[out.length - 1]
      if (last && last.op === 'text' && last.style === op.style && out.length - 1 >= rowStart) {
        // Keep fragments and join once (never += in a loop).
        parts ??= [last.text]
        parts.push(op.text)
        merged++
        continue
      }
      if (parts !== undefined) parts = joinParts(out, parts)
      out.push(op)
      continue
    }
    if (op.op === 'time') {
      // Only the latest time before a text matters; consecutive markers collapse.
      const last = out[out.length - 1]
      if (last && last.op === 'time' && out.length - 1 >= rowStart) {
        out[out.length - 1] = op
        continue
      }
      if (parts !== undefined) parts = joinParts(out, parts)
      out.push(op)
      continue
    }
    if (parts !== undefined) parts = joinParts(out, parts)
    if (op.op === 'backtrack') {
      // Text of this row that was never written is simply not written.
      const cut = out.length - rowStart
      if (cut > 0) {
        elided += cut
        out.length = rowStart
      }
      out.push(op)
      rowStart = out.length
      continue
    }
    out.push(op)
    rowStart = out.length
  }
  if (parts !== undefined) {
    // Written out, not a joinParts call: the batch rarely ends in merged text, so this call site
    // would have no feedback when V8 optimizes, and each time it then ran it deoptimized the whole
    // function (a dozen times per replay of the bench capture).
    const last = out[out.length - 1]
    if (last && last.op === 'text') out[out.length - 1] = { op: 'text', text: parts.join(''), style: last.style }
  }
  return { ops: out, merged, elided }
}

/**
 * Creates the terminal writer of the monitor: RenderOps in, bytes out. On a TTY (`ansi`) styles
 * become ANSI colours (when `color`) and `backtrack` erases the row; on a pipe the open row is
 * held until its newline so a backtracked preview never reaches the pipe. Output is batched per
 * event-loop turn; while the destination is behind (`write` returned false) ops wait, are
 * coalesced (text of one style merged, erased rows dropped) and, past `maxPendingChars`, the
 * oldest are skipped with a note, so a slow terminal never makes the view lag without bound.
 *
 * @example
 * ```ts
 * const w = createTerminalWriter({ output: process.stdout, ansi: true, color: true })
 * w.write([{ op: 'text', text: 'hello', style: 'text' }, { op: 'newline' }])
 * await w.end()
 * ```
 */
export function createTerminalWriter(opts: TerminalWriterOptions): TerminalWriter {
  const out = opts.output
  watchOutput(out)
  const color = opts.color ?? false
  const ansi = opts.ansi ?? false
  const showTime = opts.showTime ?? false
  const showFlowId = opts.showFlowId ?? false
  const time = opts.time ?? Date.now
  const maxPending = opts.maxPendingChars ?? 1024 * 1024
  const maxHeld = opts.maxHeldLineChars ?? 64 * 1024

  let queue: QOp[] = []
  let lastQueuedTime = -1
  let curTime = 0
  let queueChars = 0
  let scheduled = false
  let waitingDrain = false
  let lineOpen = false
  let currentFlow = ''
  // Non-ANSI mode: the open row, held until its newline.
  let held: string[] = []
  let heldChars = 0
  let heldSpilled = false
  // A background flush's failure without onError: thrown by the next call the owner makes.
  let deferred: unknown
  const stats: TerminalWriterStats = { chars: 0, writes: 0, stalls: 0, coalescedOps: 0, elidedOps: 0, skippedChars: 0 }

  const paint = (s: string, sgr: string): string => (color && sgr !== '' ? sgr + s + RESET : s)

  function prefix(): string {
    let p = ''
    if (showTime) p += `${hhmmss(curTime || time())} `
    if (showFlowId && currentFlow !== '') p += `${sanitizeText(shortId(currentFlow))} `
    return p === '' ? '' : paint(p, STYLE_SGR.prefix)
  }

  function header(op: Extract<RenderOp, { op: 'header' }>): string {
    const parts = [op.client ?? 'unknown client', `session ${op.session_id.slice(0, 8) || '?'}`]
    if (showFlowId) parts.push(`flow ${op.flow_id}`)
    // Record times are UTC; said once per card header (line prefixes stay short; --show-time says UTC).
    parts.push(`${hhmmss(op.ts)} UTC`)
    // ids and client names come from captured data: no control characters on the terminal
    return paint(sanitizeText(`── ${parts.join(' · ')} ──`), STYLE_SGR.header)
  }

  function format(ops: readonly QOp[]): string {
    const s: string[] = []
    const emitRow = (piece: string) => {
      if (ansi) s.push(piece)
      else {
        held.push(piece)
        heldChars += piece.length
      }
    }
    const endRow = () => {
      if (!ansi) {
        if (held.length > 0) s.push(held.join(''))
        held = []
        heldChars = 0
        heldSpilled = false
      }
      s.push('\n')
      lineOpen = false
    }
    for (const op of ops) {
      switch (op.op) {
        case 'time':
          curTime = op.t
          break
        case 'text':
          if (!lineOpen) {
            const p = prefix()
            if (p !== '') emitRow(p)
            lineOpen = true
          }
          emitRow(paint(op.text, STYLE_SGR[op.style]))
          if (!ansi && heldChars > maxHeld) {
            s.push(held.join(''))
            held = []
            heldChars = 0
            heldSpilled = true
          }
          break
        case 'newline':
          endRow()
          break
        case 'backtrack':
          if (ansi) s.push('\r\x1b[2K')
          else if (heldSpilled) s.push('\n')
          held = []
          heldChars = 0
          heldSpilled = false
          lineOpen = false
          break
        case 'notice': {
          // A warning interrupting an open row: the row goes on below it.
          if (lineOpen) endRow()
          const p = showTime ? paint(`${hhmmss(curTime || time())} `, STYLE_SGR.prefix) : ''
          s.push(p, paint(sanitizeText(op.text), STYLE_SGR[op.style]), '\n')
          break
        }
        case 'header':
          if (lineOpen) endRow()
          currentFlow = op.flow_id
          s.push(header(op), '\n')
          break
      }
    }
    return s.join('')
  }

  function emit(str: string): void {
    if (str === '') return
    stats.chars += str.length
    stats.writes++
    if (!out.write(str)) {
      stats.stalls++
      if (!waitingDrain) {
        waitingDrain = true
        out.once('drain', onDrain)
      }
    }
  }

  /** The reader went away: nothing queued can be shown any more. */
  function dropAll(): void {
    queue = []
    queueChars = 0
    held = []
    heldChars = 0
    waitingDrain = false
  }

  function onDrain(): void {
    waitingDrain = false
    backgroundFlush()
  }

  /** A flush nobody awaits: its failure goes to `onError`, not to the event loop. */
  function backgroundFlush(): void {
    try {
      flush()
    } catch (err) {
      queue = []
      queueChars = 0
      if (opts.onError) opts.onError(err)
      else deferred = err
    }
  }

  function skipOldest(): void {
    // Keep the newest ops; the cut happens at a row boundary so no row is half shown.
    let chars = queueChars
    let k = 0
    while (chars > maxPending / 2 && k < queue.length) chars -= opChars(queue[k++] as QOp)
    while (k < queue.length) {
      const op = queue[k] as QOp
      if (op.op === 'newline' || op.op === 'header' || op.op === 'backtrack') break
      chars -= opChars(op)
      k++
    }
    let skipped = 0
    let hdr: QOp | undefined
    for (let i = 0; i < k; i++) {
      const op2 = queue[i] as QOp
      if (op2.op === 'text') skipped += op2.text.length
      else if (op2.op === 'header') hdr = op2
    }
    stats.skippedChars += skipped
    const note: QOp[] = []
    // Re-show the last skipped header so the rows that follow keep their card.
    if (hdr) note.push(hdr)
    note.push({ op: 'text', text: `… skipped ${skipped} characters to keep up with the stream`, style: 'meta' }, { op: 'newline' })
    queue = [...note, ...queue.slice(k)]
    queueChars = chars + note.reduce((n, op) => n + opChars(op), 0)
  }

  function flush(): void {
    scheduled = false
    if (deferred !== undefined) {
      const err = deferred
      deferred = undefined
      throw err
    }
    if (queue.length === 0) return
    // The reader went away (`| head`): nothing more can be shown.
    if (outputGone(out)) return dropAll()
    if (waitingDrain) {
      // Behind: compact what waits, and past the cap drop the oldest.
      const c = coalesceOps(queue)
      stats.coalescedOps += c.merged
      stats.elidedOps += c.elided
      queue = c.ops
      queueChars = queue.reduce((n, op) => n + opChars(op), 0)
      if (queueChars > maxPending) skipOldest()
      return
    }
    const c = coalesceOps(queue)
    stats.coalescedOps += c.merged
    stats.elidedOps += c.elided
    queue = []
    queueChars = 0
    emit(format(c.ops))
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    setImmediate(backgroundFlush)
  }

  return {
    write(ops) {
      if (ops.length === 0) return
      if (showTime) {
        const t = time()
        if (t !== lastQueuedTime) {
          lastQueuedTime = t
          queue.push({ op: 'time', t })
        }
      }
      for (const op of ops) {
        queue.push(op)
        queueChars += opChars(op)
      }
      if (waitingDrain && queueChars > maxPending) flush()
      schedule()
    },
    notice(text, style = 'dim') {
      queue.push({ op: 'notice', text, style })
      queueChars += text.length
      schedule()
    },
    flush,
    async end() {
      flush()
      while (waitingDrain || queue.length > 0) {
        if (outputGone(out)) return dropAll()
        if (waitingDrain) await drainedOrGone(out)
        waitingDrain = false
        if (outputGone(out)) return dropAll()
        flush()
      }
      if (!ansi && held.length > 0) {
        // The stream ended mid-row: the row is final now.
        emit(held.join('') + '\n')
        held = []
        heldChars = 0
        lineOpen = false
      }
    },
    async room() {
      flush()
      while (waitingDrain) {
        await drainedOrGone(out)
        waitingDrain = false
        if (outputGone(out)) return dropAll()
        flush()
      }
    },
    get behind() {
      return waitingDrain
    },
    get pending() {
      return { ops: queue.length, chars: queueChars }
    },
    stats,
  }
}
