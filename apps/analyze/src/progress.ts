/** A stderr progress line for scans that take over a second; silent when not a TTY or with --quiet. */
export interface Progress {
  /** Sets what is being done (`usage (2/5)`). */
  step(label: string): void
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
  if (!opts.enabled || !stream.isTTY) return { step: () => {}, log: (l) => void stream.write(l), done: () => {} }
  const start = Date.now()
  let label = ''
  let index = 0
  let shown = false
  let frame = 0
  const mb = (opts.bytes / 1e6).toFixed(opts.bytes > 1e9 ? 0 : 1)
  const draw = (): void => {
    if (Date.now() - start < (opts.delayMs ?? 1000)) return
    shown = true
    const width = 20
    const filled = Math.round((Math.max(0, index - 1) / Math.max(1, opts.total)) * width)
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled)
    const secs = ((Date.now() - start) / 1000).toFixed(1)
    const text = `${FRAMES[frame++ % FRAMES.length]} [${bar}] ${label} · ${mb} MB · ${secs}s`
    stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (stream.columns || 80) - 1))}`)
  }
  const timer = setInterval(draw, 100)
  timer.unref()
  return {
    step(l) {
      index++
      label = `${l} (${index}/${opts.total})`
      draw()
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
