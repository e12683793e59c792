import type { IndexProgress } from '@agenttap/extractors'

/** A stderr progress line for scans that take over a second; silent when not a TTY or with --quiet. */
export interface Progress {
  /** Sets what is being done (`usage (2/5)`). */
  step(label: string): void
  /**
   * How the index update of the current step goes (the extractor's `onProgress`): drawn from
   * here, at most every 100 ms, since a large update keeps the thread (and the timer) busy.
   */
  index(p: IndexProgress): void
  /** Writes a message line to the stream without tearing the bar (the bar redraws below it). */
  log(line: string): void
  /** Clears the line and stops the timer. */
  done(): void
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * The bar shows the mode being scanned, how many of the requested modes are done and the
 * elapsed time; it appears only after `delayMs`, so quick answers never flash a bar.
 */
export function createProgress(stream: NodeJS.WriteStream, opts: { enabled: boolean; total: number; bytes: number; delayMs?: number }): Progress {
  if (!opts.enabled || !stream.isTTY) return { step: () => {}, index: () => {}, log: (l) => void stream.write(l), done: () => {} }
  const start = Date.now()
  let label = ''
  let index = 0
  let shown = false
  let frame = 0
  let lastDraw = 0
  /** The index update of the current step, while there is one. */
  let update: IndexProgress | undefined
  const mb = (opts.bytes / 1e6).toFixed(opts.bytes > 1e9 ? 0 : 1)
  const draw = (): void => {
    const now = Date.now()
    if (now - start < (opts.delayMs ?? 1000)) return
    shown = true
    lastDraw = now
    const width = 20
    const done = update !== undefined ? update.bytes / Math.max(1, update.total) : Math.max(0, index - 1) / Math.max(1, opts.total)
    const filled = Math.round(Math.min(1, done) * width)
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled)
    const secs = ((now - start) / 1000).toFixed(1)
    const what = update === undefined ? `${mb} MB` : indexText(update)
    const text = `${FRAMES[frame++ % FRAMES.length]} [${bar}] ${label} · ${what} · ${secs}s`
    stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (stream.columns || 80) - 1))}`)
  }
  const timer = setInterval(draw, 100)
  timer.unref()
  return {
    step(l) {
      index++
      label = `${l} (${index}/${opts.total})`
      update = undefined
      draw()
    },
    index(p) {
      update = p
      if (p.phase === 'commit' || Date.now() - lastDraw >= 100) draw()
    },
    log(line) {
      stream.write(shown ? `\r\x1b[2K${line}` : line)
      if (shown) draw()
    },
    done() {
      clearInterval(timer)
      if (shown) stream.write('\r\x1b[2K')
    },
  }
}

/** `indexing 460 / 1024 MB (45%) · 72 MB/s · ~8 s left` (`indexing transcripts …`), or the commit that follows. */
export function indexText(p: IndexProgress): string {
  const mb = (b: number): string => (b / 1e6).toFixed(p.total >= 1e9 ? 0 : 1)
  const what = p.of === 'transcripts' ? 'indexing transcripts' : 'indexing'
  if (p.phase === 'commit') return `${what}: writing the index (${mb(p.total)} MB read)`
  const rate = p.ms > 0 ? p.bytes / 1e6 / (p.ms / 1000) : 0
  const left = rate > 0 && p.bytes > 0 ? (p.total - p.bytes) / 1e6 / rate : undefined
  const pct = Math.floor((100 * p.bytes) / Math.max(1, p.total))
  return `${what} ${mb(p.bytes)} / ${mb(p.total)} MB (${pct}%)${rate > 0 ? ` · ${rate.toFixed(0)} MB/s` : ''}${left !== undefined && p.bytes >= p.total / 20 && p.bytes < p.total ? ` · ~${Math.ceil(left)} s left` : ''}`
}
