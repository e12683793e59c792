import { FlowFsmError } from './errors.js'
import { JsonStreamFormatter } from '@agenttap/stream-normalizer'
import { CommandStringReader } from './command-string-reader.js'
import type { ToolCallKind } from './normalizer-contract.js'
import { pushText, sanitizeText } from './render-ops.js'
import { DEFAULT_SHELL_TOOLS, detectShell, type ShellForm } from './shell-detect.js'
import type { RenderOp } from './types.js'

/** Options of {@link createToolCallRenderer}. */
export interface ToolCallRendererOptions {
  /**
   * Detection window: how many non-empty argument deltas may pass before the call is settled as
   * "not a shell command". Minimum 8 (providers often send the key and the value separately).
   * @defaultValue 8
   */
  argsSubDeltas?: number
  /**
   * Longest raw-argument preview shown before detection; longer previews end in `…`. Keeps the
   * preview on one terminal row so the backtrack (which erases one row) removes all of it.
   * @defaultValue 72
   */
  previewChars?: number
  /**
   * Show the raw arguments while detection runs (then erase them with a backtrack). `false` for
   * pipes and logs, where a backtrack cannot erase: nothing is shown until the call is settled,
   * and no backtrack is ever emitted. @defaultValue true
   */
  preview?: boolean
  /** Extra tool names whose `command`/`cmd` string is a shell line (added to the defaults). */
  shellTools?: readonly string[]
  /**
   * Formatter for non-shell arguments, one per call.
   * @defaultValue `() => new JsonStreamFormatter()` from stream-normalizer (indent 2, strings decoded for display)
   */
  createFormatter?: () => StreamFormatter
}

/** The call being rendered. */
export interface ToolCallInfo {
  name: string
  kind?: ToolCallKind
  call_id?: string
}

/** What the renderer settled on. `pending`: still inside the detection window. */
export type ToolCallRenderMode = 'idle' | 'pending' | 'shell_wait' | 'shell' | 'json' | 'raw' | 'ended'

/** Renders one tool call at a time as {@link RenderOp}s. See {@link createToolCallRenderer}. */
export interface ToolCallRenderer {
  /** Starts a call: emits its name. Ends a call still open (as incomplete) first. */
  start(call: ToolCallInfo): RenderOp[]
  /** Feeds one argument fragment (`tool_args_delta.delta`). */
  feed(fragment: string): RenderOp[]
  /**
   * Ends the call (`tool_call_end`): settles detection if still pending, flushes, reports
   * `parse_error`, closes the line. Without `final` the call is treated as cut off.
   */
  end(final?: { arguments?: string; parse_error?: string }): RenderOp[]
  reset(): void
  readonly mode: ToolCallRenderMode
  /** Shell command decoded so far (shell mode), capped at 64 KiB. */
  readonly command: string | undefined
  readonly shellForm: ShellForm | undefined
}

/** What the renderer needs from a streaming JSON formatter (stream-normalizer's JsonStreamFormatter). */
export interface StreamFormatter {
  feed(fragment: string): string
  end(): string
  reset(): void
}

const DEFAULT_SHELL_SET: ReadonlySet<string> = new Set(DEFAULT_SHELL_TOOLS.map((s) => s.toLowerCase()))
const MAX_PENDING_CHARS = 256 * 1024
const MAX_COMMAND_CHARS = 64 * 1024
const MAX_WAIT_CHARS = 16 * 1024

/**
 * Creates a renderer for streamed tool calls. While argument fragments arrive it shows them raw
 * (dim, one row), and within the first `argsSubDeltas` fragments decides whether the call is a
 * shell command (`{"command":["bash","-lc",…]}`, `sh -c`, `zsh -lc`, `shell_command`
 * `{"command":…}`, `exec_command` `{"cmd":…}`, Claude Code `Bash` `{"command":…}`). On detection
 * it emits a `backtrack` (erase the raw row) and renders `$ <command>` decoded as it streams
 * (escapes split across fragments are handled). Other calls re-render as indented JSON through
 * the formatter; custom calls (raw input such as apply_patch) render as text.
 *
 * @example
 * ```ts
 * const r = createToolCallRenderer()
 * ops.push(...r.start({ name: 'shell' }))
 * for (const d of ['{"command":["bash","-lc","ls', ' -la"]}']) ops.push(...r.feed(d))
 * ops.push(...r.end({ arguments: '{"command":["bash","-lc","ls -la"]}' }))
 * // text "shell ", text '{"command":…' (dim), backtrack, text "$ " , text "ls", text " -la", newline
 * ```
 */
export function createToolCallRenderer(opts: ToolCallRendererOptions = {}): ToolCallRenderer {
  return new ShellAwareToolCallRenderer(opts)
}

/**
 * A class, not closures made per call: a renderer is made per tool call, and its methods are then
 * one function each for the process (closures made per call keep their optimized code only while
 * one of them is alive; a full GC between calls threw it away).
 */
class ShellAwareToolCallRenderer implements ToolCallRenderer {
  private readonly argsSubDeltas: number
  private readonly previewChars: number
  private readonly preview: boolean
  private readonly shellTools: ReadonlySet<string>
  private readonly makeFormatter: () => StreamFormatter

  private current: ToolCallRenderMode = 'idle'
  private call: ToolCallInfo | undefined = undefined
  private fragments: string[] = []
  private pendingChars = 0
  private deltas = 0
  private previewShown = 0
  private previewCut = false
  private formatter: StreamFormatter | undefined = undefined
  // shell streaming state
  private shellFormOf: ShellForm | undefined = undefined
  private decoder = new CommandStringReader()
  private between: 'string' | 'after' | 'next' | 'done' = 'string'
  private commandParts: string[] = []
  private commandChars = 0
  private lineOpen = false

  constructor(opts: ToolCallRendererOptions) {
    const argsSubDeltas = opts.argsSubDeltas ?? 8
    if (!Number.isInteger(argsSubDeltas) || argsSubDeltas < 8) {
      throw new FlowFsmError(
        'INVALID_OPTION',
        `option argsSubDeltas: expected an integer >= 8 (providers split the key and the command over several deltas), received ${String(opts.argsSubDeltas)}`,
      )
    }
    this.argsSubDeltas = argsSubDeltas
    this.previewChars = opts.previewChars ?? 72
    this.preview = opts.preview ?? true
    this.shellTools =
      opts.shellTools === undefined || opts.shellTools.length === 0
        ? DEFAULT_SHELL_SET
        : new Set([...DEFAULT_SHELL_TOOLS, ...opts.shellTools].map((s) => s.toLowerCase()))
    this.makeFormatter = opts.createFormatter ?? (() => new JsonStreamFormatter())
  }

  private clear(): void {
    this.current = 'idle'
    this.call = undefined
    this.fragments = []
    this.pendingChars = 0
    this.deltas = 0
    this.previewShown = 0
    this.previewCut = false
    this.formatter = undefined
    this.shellFormOf = undefined
    this.decoder = new CommandStringReader()
    this.between = 'string'
    this.commandParts = []
    this.commandChars = 0
  }

  private keepCommand(text: string): void {
    if (this.commandChars >= MAX_COMMAND_CHARS || text === '') return
    const room = MAX_COMMAND_CHARS - this.commandChars
    const piece = text.length > room ? text.slice(0, room) : text
    this.commandParts.push(piece)
    this.commandChars += piece.length
  }

  private emitCommand(out: RenderOp[], text: string): void {
    this.keepCommand(text)
    pushText(out, text, 'command')
  }

  /** Streams the this.commandParts text out of argument characters (after detection). */
  private shellFeed(out: RenderOp[], s: string): void {
    let i = 0
    while (i < s.length && this.between !== 'done') {
      if (this.between === 'string') {
        const r = this.decoder.feed(i === 0 ? s : s.slice(i))
        this.emitCommand(out, r.text)
        i += r.consumed
        if (r.closed) this.between = this.shellFormOf === 'argv' ? 'after' : 'done'
        continue
      }
      const ch = s[i++] as string
      if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') continue
      if (this.between === 'after') {
        this.between = ch === ',' ? 'next' : 'done'
      } else if (this.between === 'next') {
        if (ch === '"') {
          this.decoder = new CommandStringReader()
          this.emitCommand(out, ' ')
          this.between = 'string'
        } else this.between = 'done'
      }
    }
  }

  private showPreview(out: RenderOp[], fragment: string): void {
    if (this.previewCut || fragment === '') return
    const flat = sanitizeText(fragment.replace(/[\r\n\t]/g, ' '))
    const room = this.previewChars - this.previewShown
    if (flat.length <= room) {
      this.previewShown += flat.length
      out.push({ op: 'text', text: flat, style: 'dim' })
    } else {
      if (room > 0) out.push({ op: 'text', text: flat.slice(0, room), style: 'dim' })
      out.push({ op: 'text', text: '…', style: 'dim' })
      this.previewShown = this.previewChars
      this.previewCut = true
    }
  }

  private toShell(out: RenderOp[], f: ShellForm, pos: number, raw: string): void {
    if (this.current !== 'shell_wait') {
      if (this.preview) out.push({ op: 'backtrack' })
      out.push({ op: 'text', text: '$ ', style: 'command' })
    }
    this.current = 'shell'
    this.shellFormOf = f
    this.fragments = []
    this.shellFeed(out, raw.slice(pos))
  }

  private toJson(out: RenderOp[], raw: string): void {
    this.current = 'json'
    this.fragments = []
    const f: StreamFormatter = this.makeFormatter()
    this.formatter = f
    if (this.preview) out.push({ op: 'backtrack' })
    out.push({ op: 'text', text: `${sanitizeText(this.call?.name ?? '')} `, style: 'tool' })
    pushText(out, f.feed(raw), 'tool')
  }

  private settle(out: RenderOp[], complete: boolean): void {
    const raw = this.fragments.join('')
    const d = detectShell(this.call?.name ?? '', raw, complete, this.shellTools)
    if (d.state === 'shell') this.toShell(out, d.form, d.pos, raw)
    else if (d.state === 'likely_shell') {
      if (this.current === 'pending') {
        // `["bash", …` is a shell command already: switch now, the script follows.
        if (this.preview) out.push({ op: 'backtrack' })
        out.push({ op: 'text', text: '$ ', style: 'command' })
        this.current = 'shell_wait'
      }
      // Waiting re-scans the prefix per delta: past a small budget, stream the argv as it is.
      if (complete || this.pendingChars > MAX_WAIT_CHARS || this.deltas > this.argsSubDeltas * 8) this.toShell(out, 'argv', d.pos, raw)
    } else if (this.current === 'shell_wait') {
      // Cannot happen for a prefix that was likely_shell; keep whatever streamed visible.
      if (complete) this.toShell(out, 'argv', 0, '')
    } else if (d.state === 'not_shell' || complete || this.deltas >= this.argsSubDeltas || this.pendingChars > MAX_PENDING_CHARS) {
      this.toJson(out, raw)
    }
  }

  private finish(out: RenderOp[], final: { arguments?: string; parse_error?: string } | undefined): void {
    if (this.current === 'idle' || this.current === 'ended') return
    if (this.current === 'shell_wait') {
      // Settle on what arrived (even if cut off): the argv seen so far is better than nothing.
      this.settle(out, true)
      if (this.current === 'shell_wait') this.toShell(out, 'argv', 0, '')
    }
    if (this.current === 'pending') {
      // Responses may deliver arguments only at `.done`: use them when nothing streamed.
      if (this.fragments.length === 0 && final?.arguments) {
        this.fragments.push(final.arguments)
        this.deltas++
      }
      this.settle(out, final !== undefined)
      if (this.current === 'pending') this.toJson(out, this.fragments.join(''))
    }
    if (this.current === 'json' && this.formatter) pushText(out, this.formatter.end(), 'tool')
    if (this.current === 'shell') {
      pushText(out, this.decoder.end(), 'command')
      if (this.between === 'string' && final !== undefined) {
        // Arguments ended inside the command string.
        this.closeLine(out)
        out.push({ op: 'text', text: '✗ command text never closed', style: 'error' })
      }
    }
    this.closeLine(out)
    if (final === undefined) {
      out.push({ op: 'text', text: '✗ tool call cut off before its arguments completed', style: 'error' }, { op: 'newline' })
    } else if (final.parse_error !== undefined) {
      out.push(
        { op: 'text', text: `✗ arguments did not parse: ${sanitizeText(final.parse_error.replace(/\n/g, ' '))}`, style: 'error' },
        { op: 'newline' },
      )
    }
    this.current = 'ended'
  }

  private closeLine(out: RenderOp[]): void {
    // The cursor is mid-line if the last op of this batch (or of earlier batches) is text.
    const last = out[out.length - 1]
    const open = last === undefined ? this.lineOpen : last.op === 'text'
    if (open) out.push({ op: 'newline' })
  }

  private track(out: RenderOp[]): RenderOp[] {
    for (const op of out) {
      if (op.op === 'newline' || op.op === 'backtrack' || op.op === 'header') this.lineOpen = false
      else this.lineOpen = true
    }
    return out
  }

  start(c: ToolCallInfo): RenderOp[] {
    const out: RenderOp[] = []
    if (this.current !== 'idle' && this.current !== 'ended') this.finish(out, undefined)
    this.track(out)
    const tail: RenderOp[] = []
    this.clear()
    this.call = { ...c }
    if (c.kind === 'custom') {
      this.current = 'raw'
      tail.push({ op: 'text', text: sanitizeText(c.name), style: 'tool' }, { op: 'newline' })
    } else {
      this.current = 'pending'
      if (this.preview) tail.push({ op: 'text', text: `${sanitizeText(c.name)} `, style: 'tool' })
    }
    out.push(...this.track(tail))
    return out
  }

  feed(fragment: string): RenderOp[] {
    const out: RenderOp[] = []
    if (typeof fragment !== 'string' || fragment === '') return out
    switch (this.current) {
      case 'shell_wait':
        this.fragments.push(fragment)
        this.pendingChars += fragment.length
        this.deltas++
        this.settle(out, false)
        break
      case 'pending':
        this.fragments.push(fragment)
        this.pendingChars += fragment.length
        this.deltas++
        if (this.preview) this.showPreview(out, fragment)
        this.settle(out, false)
        break
      case 'shell':
        if (this.between !== 'done') this.shellFeed(out, fragment)
        break
      case 'json':
        if (this.formatter) pushText(out, this.formatter.feed(fragment), 'tool')
        break
      case 'raw':
        pushText(out, fragment, 'tool')
        break
      default:
        // Arguments without a start (monitor joined mid-call): render them raw.
        this.current = 'raw'
        pushText(out, fragment, 'tool')
    }
    return this.track(out)
  }

  end(final?: { arguments?: string; parse_error?: string }): RenderOp[] {
    const out: RenderOp[] = []
    this.finish(out, final)
    return this.track(out)
  }

  reset(): void {
    this.clear()
    this.lineOpen = false
  }

  get mode(): ToolCallRenderMode {
    return this.current
  }

  get command(): string | undefined {
    return this.shellFormOf === undefined ? undefined : this.commandParts.join('')
  }

  get shellForm(): ShellForm | undefined {
    return this.shellFormOf
  }
}
