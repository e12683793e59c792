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
  const argsSubDeltas = opts.argsSubDeltas ?? 8
  if (!Number.isInteger(argsSubDeltas) || argsSubDeltas < 8) {
    throw new FlowFsmError(
      'INVALID_OPTION',
      `option argsSubDeltas: expected an integer >= 8 (providers split the key and the command over several deltas), received ${String(opts.argsSubDeltas)}`,
    )
  }
  const previewChars = opts.previewChars ?? 72
  const preview = opts.preview ?? true
  const shellTools =
    opts.shellTools === undefined || opts.shellTools.length === 0
      ? DEFAULT_SHELL_SET
      : new Set([...DEFAULT_SHELL_TOOLS, ...opts.shellTools].map((s) => s.toLowerCase()))
  const makeFormatter: () => StreamFormatter = opts.createFormatter ?? (() => new JsonStreamFormatter())

  let mode: ToolCallRenderMode = 'idle'
  let call: ToolCallInfo | undefined
  let fragments: string[] = []
  let pendingChars = 0
  let deltas = 0
  let previewShown = 0
  let previewCut = false
  let formatter: StreamFormatter | undefined
  // shell streaming state
  let form: ShellForm | undefined
  let decoder = new CommandStringReader()
  let between: 'string' | 'after' | 'next' | 'done' = 'string'
  let command: string[] = []
  let commandChars = 0

  function clear(): void {
    mode = 'idle'
    call = undefined
    fragments = []
    pendingChars = 0
    deltas = 0
    previewShown = 0
    previewCut = false
    formatter = undefined
    form = undefined
    decoder = new CommandStringReader()
    between = 'string'
    command = []
    commandChars = 0
  }

  function keepCommand(text: string): void {
    if (commandChars >= MAX_COMMAND_CHARS || text === '') return
    const room = MAX_COMMAND_CHARS - commandChars
    const piece = text.length > room ? text.slice(0, room) : text
    command.push(piece)
    commandChars += piece.length
  }

  function emitCommand(out: RenderOp[], text: string): void {
    keepCommand(text)
    pushText(out, text, 'command')
  }

  /** Streams the command text out of argument characters (after detection). */
  function shellFeed(out: RenderOp[], s: string): void {
    let i = 0
    while (i < s.length && between !== 'done') {
      if (between === 'string') {
        const r = decoder.feed(i === 0 ? s : s.slice(i))
        emitCommand(out, r.text)
        i += r.consumed
        if (r.closed) between = form === 'argv' ? 'after' : 'done'
        continue
      }
      const ch = s[i++] as string
      if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') continue
      if (between === 'after') {
        between = ch === ',' ? 'next' : 'done'
      } else if (between === 'next') {
        if (ch === '"') {
          decoder = new CommandStringReader()
          emitCommand(out, ' ')
          between = 'string'
        } else between = 'done'
      }
    }
  }

  function showPreview(out: RenderOp[], fragment: string): void {
    if (previewCut || fragment === '') return
    const flat = sanitizeText(fragment.replace(/[\r\n\t]/g, ' '))
    const room = previewChars - previewShown
    if (flat.length <= room) {
      previewShown += flat.length
      out.push({ op: 'text', text: flat, style: 'dim' })
    } else {
      if (room > 0) out.push({ op: 'text', text: flat.slice(0, room), style: 'dim' })
      out.push({ op: 'text', text: '…', style: 'dim' })
      previewShown = previewChars
      previewCut = true
    }
  }

  function toShell(out: RenderOp[], f: ShellForm, pos: number, raw: string): void {
    if (mode !== 'shell_wait') {
      if (preview) out.push({ op: 'backtrack' })
      out.push({ op: 'text', text: '$ ', style: 'command' })
    }
    mode = 'shell'
    form = f
    fragments = []
    shellFeed(out, raw.slice(pos))
  }

  function toJson(out: RenderOp[], raw: string): void {
    mode = 'json'
    fragments = []
    const f: StreamFormatter = makeFormatter()
    formatter = f
    if (preview) out.push({ op: 'backtrack' })
    out.push({ op: 'text', text: `${sanitizeText(call?.name ?? '')} `, style: 'tool' })
    pushText(out, f.feed(raw), 'tool')
  }

  function settle(out: RenderOp[], complete: boolean): void {
    const raw = fragments.join('')
    const d = detectShell(call?.name ?? '', raw, complete, shellTools)
    if (d.state === 'shell') toShell(out, d.form, d.pos, raw)
    else if (d.state === 'likely_shell') {
      if (mode === 'pending') {
        // `["bash", …` is a shell command already: switch now, the script follows.
        if (preview) out.push({ op: 'backtrack' })
        out.push({ op: 'text', text: '$ ', style: 'command' })
        mode = 'shell_wait'
      }
      // Waiting re-scans the prefix per delta: past a small budget, stream the argv as it is.
      if (complete || pendingChars > MAX_WAIT_CHARS || deltas > argsSubDeltas * 8) toShell(out, 'argv', d.pos, raw)
    } else if (mode === 'shell_wait') {
      // Cannot happen for a prefix that was likely_shell; keep whatever streamed visible.
      if (complete) toShell(out, 'argv', 0, '')
    } else if (d.state === 'not_shell' || complete || deltas >= argsSubDeltas || pendingChars > MAX_PENDING_CHARS) {
      toJson(out, raw)
    }
  }

  function finish(out: RenderOp[], final: { arguments?: string; parse_error?: string } | undefined): void {
    if (mode === 'idle' || mode === 'ended') return
    if (mode === 'shell_wait') {
      // Settle on what arrived (even if cut off): the argv seen so far is better than nothing.
      settle(out, true)
      if (mode === 'shell_wait') toShell(out, 'argv', 0, '')
    }
    if (mode === 'pending') {
      // Responses may deliver arguments only at `.done`: use them when nothing streamed.
      if (fragments.length === 0 && final?.arguments) {
        fragments.push(final.arguments)
        deltas++
      }
      settle(out, final !== undefined)
      if (mode === 'pending') toJson(out, fragments.join(''))
    }
    if (mode === 'json' && formatter) pushText(out, formatter.end(), 'tool')
    if (mode === 'shell') {
      pushText(out, decoder.end(), 'command')
      if (between === 'string' && final !== undefined) {
        // Arguments ended inside the command string.
        closeLine(out)
        out.push({ op: 'text', text: '✗ command text never closed', style: 'error' })
      }
    }
    closeLine(out)
    if (final === undefined) {
      out.push({ op: 'text', text: '✗ tool call cut off before its arguments completed', style: 'error' }, { op: 'newline' })
    } else if (final.parse_error !== undefined) {
      out.push(
        { op: 'text', text: `✗ arguments did not parse: ${sanitizeText(final.parse_error.replace(/\n/g, ' '))}`, style: 'error' },
        { op: 'newline' },
      )
    }
    mode = 'ended'
  }

  let lineOpen = false
  function closeLine(out: RenderOp[]): void {
    // The cursor is mid-line if the last op of this batch (or of earlier batches) is text.
    const last = out[out.length - 1]
    const open = last === undefined ? lineOpen : last.op === 'text'
    if (open) out.push({ op: 'newline' })
  }

  function track(out: RenderOp[]): RenderOp[] {
    for (const op of out) {
      if (op.op === 'newline' || op.op === 'backtrack' || op.op === 'header') lineOpen = false
      else lineOpen = true
    }
    return out
  }

  return {
    start(c) {
      const out: RenderOp[] = []
      if (mode !== 'idle' && mode !== 'ended') finish(out, undefined)
      track(out)
      const tail: RenderOp[] = []
      clear()
      call = { ...c }
      if (c.kind === 'custom') {
        mode = 'raw'
        tail.push({ op: 'text', text: sanitizeText(c.name), style: 'tool' }, { op: 'newline' })
      } else {
        mode = 'pending'
        if (preview) tail.push({ op: 'text', text: `${sanitizeText(c.name)} `, style: 'tool' })
      }
      out.push(...track(tail))
      return out
    },
    feed(fragment) {
      const out: RenderOp[] = []
      if (typeof fragment !== 'string' || fragment === '') return out
      switch (mode) {
        case 'shell_wait':
          fragments.push(fragment)
          pendingChars += fragment.length
          deltas++
          settle(out, false)
          break
        case 'pending':
          fragments.push(fragment)
          pendingChars += fragment.length
          deltas++
          if (preview) showPreview(out, fragment)
          settle(out, false)
          break
        case 'shell':
          if (between !== 'done') shellFeed(out, fragment)
          break
        case 'json':
          if (formatter) pushText(out, formatter.feed(fragment), 'tool')
          break
        case 'raw':
          pushText(out, fragment, 'tool')
          break
        default:
          // Arguments without a start (monitor joined mid-call): render them raw.
          mode = 'raw'
          pushText(out, fragment, 'tool')
      }
      return track(out)
    },
    end(final) {
      const out: RenderOp[] = []
      finish(out, final)
      return track(out)
    },
    reset() {
      clear()
      lineOpen = false
    },
    get mode() {
      return mode
    },
    get command() {
      return form === undefined ? undefined : command.join('')
    },
    get shellForm() {
      return form
    },
  }
}
