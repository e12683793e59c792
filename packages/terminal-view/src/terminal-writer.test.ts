import type { RenderOp } from '@agenttap/flow-fsm'
import { describe, expect, it } from 'vitest'
import { Sink, StuckSink, stripAnsi, tick } from '../test/helpers.js'
import { coalesceOps, createTerminalWriter } from './terminal-writer.js'

const t = (text: string, style: 'text' | 'dim' | 'tool' | 'command' | 'error' | 'thinking' | 'meta' = 'text'): RenderOp => ({ op: 'text', text, style })
const NL: RenderOp = { op: 'newline' }
const BT: RenderOp = { op: 'backtrack' }
const header = (flow_id: string): RenderOp => ({ op: 'header', flow_id, session_id: 'abcdef0123456789', client: 'codex', ts: Date.UTC(2026, 10, 20, 10, 0, 0, 5) })
const toolCall: RenderOp[] = [t('shell ', 'tool'), t('{"command":["bash","-lc"', 'dim'), BT, t('$ ', 'command'), t('ls -la', 'command'), NL]

describe('terminal writer', () => {
  it('ends when its reader went away (EPIPE reported only as an error event, like process.stdout), dropping what is queued', async () => {
    const out = new StuckSink(1)
    const w = createTerminalWriter({ output: out })
    for (let i = 0; i < 50; i++) w.write([t(`line ${i}`), NL])
    await tick()
    expect(w.behind).toBe(true)
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    // No drain will ever come: end() must settle anyway.
    await expect(w.end()).resolves.toBeUndefined()
    expect(w.pending.ops).toBe(0)
  })

  it('on a TTY erases the preview row with \\r ESC[2K and colours by style', async () => {
    const out = new Sink({ tty: true })
    const w = createTerminalWriter({ output: out, ansi: true, color: true })
    w.write(toolCall.slice(0, 2))
    await tick()
    w.write(toolCall.slice(2))
    await w.end()
    expect(out.text).toContain('\r\x1b[2K')
    expect(out.text).toContain('\x1b[1;32m$ ls -la\x1b[0m')
    expect(out.text).toContain('\x1b[2m{"command":["bash","-lc"\x1b[0m')
  })

  it('piped: no escape codes at all, and the backtracked preview never reaches the pipe', async () => {
    const out = new Sink()
    const w = createTerminalWriter({ output: out })
    w.write(toolCall.slice(0, 2))
    await tick() // the preview is written in an earlier batch than its backtrack
    w.write(toolCall.slice(2))
    w.write([t('done'), NL])
    await w.end()
    expect(out.text).toBe('$ ls -la\ndone\n')
    expect(out.text).not.toContain('\x1b')
  })

  it('piped: a row longer than the hold cap is written anyway, and its backtrack becomes a newline', async () => {
    const out = new Sink()
    const w = createTerminalWriter({ output: out, maxHeldLineChars: 10 })
    w.write([t('a very long preview row'), BT, t('$ x', 'command'), NL])
    await w.end()
    // coalescing happens first, so within one batch the erased row is elided
    expect(out.text).toBe('$ x\n')
    const out2 = new Sink()
    const w2 = createTerminalWriter({ output: out2, maxHeldLineChars: 10 })
    w2.write([t('a very long preview row')])
    await tick()
    w2.write([BT, t('$ x', 'command'), NL])
    await w2.end()
    expect(out2.text).toBe('a very long preview row\n$ x\n')
  })

  it('a row still open at the end is terminated', async () => {
    const out = new Sink()
    const w = createTerminalWriter({ output: out })
    w.write([t('partial')])
    await w.end()
    expect(out.text).toBe('partial\n')
  })

  it('headers: client, session prefix, capture time; flow id and line prefixes with showFlowId / showTime', async () => {
    const out = new Sink()
    let now = Date.UTC(2026, 10, 20, 10, 0, 1, 250)
    const w = createTerminalWriter({ output: out, showFlowId: true, showTime: true, time: () => now })
    w.write([header('flow-0000-1111'), t('hello'), NL])
    now += 1000
    w.write([t('world'), NL])
    await w.end()
    expect(out.text).toBe(
      '── codex · session abcdef01 · flow flow-0000-1111 · 10:00:00.005 UTC ──\n' + '10:00:01.250 000-1111 hello\n' + '10:00:02.250 000-1111 world\n',
    )
  })

  it('after a backtrack the line prefix is written again (the erased row took it along)', async () => {
    const out = new Sink({ tty: true })
    const w = createTerminalWriter({ output: out, ansi: true, showTime: true, time: () => Date.UTC(2026, 0, 1, 12, 0, 0, 0) })
    w.write(toolCall.slice(0, 2))
    await tick()
    w.write(toolCall.slice(2))
    await w.end()
    expect(out.text).toBe('12:00:00.000 shell {"command":["bash","-lc"\r\x1b[2K12:00:00.000 $ ls -la\n')
  })

  it('notices close an open row and carry no card prefix', async () => {
    const out = new Sink()
    const w = createTerminalWriter({ output: out, showFlowId: true })
    w.write([header('f1'), t('half')])
    w.notice('⚠ line 3 skipped')
    w.write([t(' rest'), NL])
    await w.end()
    const lines = out.text.split('\n')
    expect(lines[1]).toBe('f1 half')
    expect(lines[2]).toBe('⚠ line 3 skipped')
    expect(lines[3]).toBe('f1  rest')
  })

  it('NO colour codes unless asked, even on a TTY', async () => {
    const out = new Sink({ tty: true })
    const w = createTerminalWriter({ output: out, ansi: true, color: false })
    w.write([t('x', 'error'), NL])
    await w.end()
    expect(out.text).toBe('x\n')
  })
})

describe('coalesceOps', () => {
  it('merges consecutive text of one style and drops text a backtrack erases', () => {
    const r = coalesceOps([t('a'), t('b'), t('c', 'dim'), BT, t('d'), t('e'), NL, t('f'), t('g', 'tool')])
    expect(r.ops).toEqual([BT, t('de'), NL, t('f'), t('g', 'tool')])
    expect(r.merged).toBe(2)
    expect(r.elided).toBe(2)
  })

  it('never merges across a header or a newline', () => {
    const r = coalesceOps([t('a'), header('f2'), t('b'), NL, t('c')])
    expect(r.ops).toHaveLength(5)
  })
})

describe('falling behind', () => {
  it('coalesces while the destination is behind and skips the oldest past the cap, with a note', async () => {
    const out = new StuckSink(16)
    const w = createTerminalWriter({ output: out, ansi: true, maxPendingChars: 2000 })
    w.write([header('f1'), t('first row'), NL])
    await tick()
    expect(w.behind).toBe(true)
    for (let i = 0; i < 500; i++) w.write([t(`delta ${i} `)])
    w.write([NL, t('last row'), NL])
    await tick()
    expect(w.pending.chars).toBeLessThanOrEqual(2000)
    expect(w.stats.coalescedOps).toBeGreaterThan(0)
    expect(w.stats.skippedChars).toBeGreaterThan(0)
    const ended = w.end()
    for (let i = 0; i < 20; i++) {
      out.release()
      await tick()
    }
    await ended
    out.release()
    const text = stripAnsi(out.text)
    expect(text).toContain('first row')
    expect(text).toMatch(/… skipped \d+ characters to keep up with the stream/)
    expect(text).toContain('delta 499 ')
    expect(text).toContain('last row')
    expect(text).not.toContain('delta 0 ')
    // each op is not its own write: the backlog went out as few large writes
    expect(w.stats.writes).toBeLessThan(10)
  })

  it('lossless (no cap): nothing is skipped however far behind', async () => {
    const out = new StuckSink(16)
    const w = createTerminalWriter({ output: out, maxPendingChars: Number.POSITIVE_INFINITY })
    w.write([t('x'), NL])
    await tick()
    // Deltas arrive over several turns: the first batch fills the stuck destination, the rest wait.
    // (One row each: piped, an open row is held back until its newline anyway.)
    for (let i = 0; i < 300; i++) {
      w.write([t(`d${i} `), NL])
      if (i % 50 === 49) await tick()
    }
    await tick()
    expect(w.behind).toBe(true)
    // The backlog really grew: the rows after the first batch all wait in the writer (none skipped).
    expect(w.pending.chars).toBeGreaterThanOrEqual(250 * 'd10 \n'.length)
    expect(out.text).not.toContain('d299 ')
    const ended = w.end()
    for (let i = 0; i < 20; i++) {
      out.release()
      await tick()
    }
    await ended
    out.release()
    expect(w.stats.skippedChars).toBe(0)
    expect(out.text).toContain('d0 \nd1 \nd2 \n')
    expect(out.text).toContain('d298 \nd299 \n')
  })
})
