import { createCardQueue } from './card-queue.js'
import { FlowFsmError, checkNumberOption } from './errors.js'
import type { FlowState, RenderOp } from './types.js'

/** Options of {@link createScreenController}. */
export interface ScreenControllerOptions {
  /**
   * The current card keeps the screen until it has produced no output for this long; only then
   * may another card with pending output take over. A finished current card yields at once.
   * @defaultValue 2000
   */
  sessionGuardMs?: number
  /** Clock in ms (inject a fake one in tests). */
  now: () => number
  /**
   * Cap on the text a background card may buffer (characters). Past it the oldest ops are
   * dropped and a `meta` line says how many, so a stuck screen cannot grow memory without bound.
   * @defaultValue 1048576
   */
  maxBufferedChars?: number
  /**
   * Erase a card's unfinished row on a switch and replay it after the card's next header.
   * `false` for pipes and logs (a backtrack cannot erase there): the row is ended with a newline
   * instead and never repeated. @defaultValue true
   */
  replayRows?: boolean
}

/** A card as the controller sees it. */
export interface CardInfo {
  flow_id: string
  session_id: string
  client?: string
  state: FlowState
  /** Ops waiting to be shown (the card is not current). */
  buffered: number
  /** Clock time of the card's last output. */
  lastOutputAt: number | undefined
  /** Ops dropped because of `maxBufferedChars`. */
  dropped: number
}

/** Metadata of a flow's card. */
export interface CardMeta {
  flow_id: string
  session_id: string
  client?: string
}

/**
 * Decides which flow's output reaches the screen when several stream at once. See
 * {@link createScreenController}.
 */
export interface ScreenController {
  /** Registers a STREAMING card, or updates and reopens one. Writing to an unknown card opens it too. */
  open(card: CardMeta): void
  /** Output of one flow. Returns the ops to put on the screen now (maybe others' buffered ones). */
  write(flow_id: string, ops: readonly RenderOp[]): RenderOp[]
  /** The flow is DONE or DEAD. A finished current card yields the screen immediately. */
  finish(flow_id: string, state: 'DONE' | 'DEAD'): RenderOp[]
  /** Applies the clock (session guard); call it from a timer. */
  tick(): RenderOp[]
  /** Shows everything still buffered, card after card (end of input, shutdown). */
  drain(): RenderOp[]
  /** Flow id of the card on screen. */
  readonly current: string | undefined
  /** Cards held, current first. */
  cards(): CardInfo[]
  reset(): void
}

interface Card {
  meta: CardMeta
  state: FlowState
  buf: RenderOp[]
  bufChars: number
  dropped: number
  /** Clock time the oldest buffered op arrived, for fair (FIFO) switching. */
  pendingSince: number
  lastOutputAt: number | undefined
  /** Ops of the card's unfinished screen row (since its last newline), while short enough to replay. */
  lineOps: RenderOp[]
  lineChars: number
  lineTrackable: boolean
  /** The unfinished row was erased when the card lost the screen: replay it after the next header. */
  restore: boolean
  /** Order the card (re)entered the card table: ties on `pendingSince` go to the older card. */
  order: number
}

/** Longest unfinished row the controller erases and replays on a switch (longer rows wrap). */
const MAX_LINE_CHARS = 4096

function opChars(op: RenderOp): number {
  return op.op === 'text' ? op.text.length : 1
}

/**
 * Creates the card-based multi-flow screen controller. Each flow is a card (STREAMING, DONE or
 * DEAD). The current card's output goes straight to the screen; output of other cards is
 * buffered. The controller switches only when the current card is finished or has been silent
 * for `sessionGuardMs`, preferring a card of the same session, then the one waiting longest; it
 * emits a `header` op (flow id, session, client, time) and flushes the new card's buffer, so
 * nothing is lost or printed twice. A row the old card left unfinished is erased (`backtrack`)
 * and replayed after that card's next header, so rows never mix output of two flows and a
 * card's own backtrack still reaches its row. Finished cards are dropped once their output
 * has been shown.
 *
 * @example
 * ```ts
 * const screen = createScreenController({ now: Date.now })
 * screen.open({ flow_id, session_id, client })
 * write(screen.write(flow_id, renderer.feed(delta)))   // write(): the app turns ops into bytes
 * setInterval(() => write(screen.tick()), 250)
 * ```
 */
export function createScreenController(opts: ScreenControllerOptions): ScreenController {
  if (!opts || typeof opts.now !== 'function') {
    throw new FlowFsmError('INVALID_OPTION', 'option now: expected a clock function () => number (e.g. Date.now)')
  }
  checkNumberOption('sessionGuardMs', opts.sessionGuardMs, 0)
  checkNumberOption('maxBufferedChars', opts.maxBufferedChars, 1)
  const guard = opts.sessionGuardMs ?? 2000
  const maxBuffered = opts.maxBufferedChars ?? 1024 * 1024
  const now = opts.now
  const replayRows = opts.replayRows ?? true

  let cards = new Map<string, Card>()
  // Cards dropped after finishing, remembered (bounded) so late output keeps its header data.
  let gone = new Map<string, { meta: CardMeta; state: FlowState }>()
  let current: Card | undefined
  let lineOpen = false
  // Cards that may take the screen, by how long they waited (see nextCard). A streaming card whose
  // row was only erased is "parked" instead: it waits for new output, or for drain().
  const waiting = createCardQueue<Card>()
  const parked = new Set<Card>()
  let draining = false
  let order = 0

  /** Puts a card where it belongs: waiting (with its current key), parked, or neither. */
  function place(c: Card): void {
    if (c === current || cards.get(c.meta.flow_id) !== c) {
      waiting.delete(c)
      parked.delete(c)
      return
    }
    if (c.buf.length > 0 || (c.restore && (draining || c.state !== 'STREAMING'))) {
      parked.delete(c)
      const k = waiting.get(c)
      if (k === undefined || k.since !== c.pendingSince || k.session !== c.meta.session_id || k.order !== c.order) {
        waiting.set(c, { session: c.meta.session_id, since: c.pendingSince, order: c.order })
      }
    } else {
      waiting.delete(c)
      if (c.restore) parked.add(c)
      else parked.delete(c)
    }
  }

  function ensure(flow_id: string): Card {
    let c = cards.get(flow_id)
    if (!c && current?.meta.flow_id === flow_id) {
      c = current
      // Back in the table: it counts as the newest card for ties, as a new one would.
      c.order = order++
      cards.set(flow_id, c)
    }
    if (!c) {
      const old = gone.get(flow_id)
      c = {
        meta: old?.meta ?? { flow_id, session_id: '' },
        state: old?.state ?? 'STREAMING',
        buf: [],
        bufChars: 0,
        dropped: 0,
        pendingSince: 0,
        lastOutputAt: undefined,
        lineOps: [],
        lineChars: 0,
        lineTrackable: true,
        restore: false,
        order: order++,
      }
      cards.set(flow_id, c)
    }
    return c
  }

  function drop(c: Card): void {
    cards.delete(c.meta.flow_id)
    waiting.delete(c)
    parked.delete(c)
    gone.delete(c.meta.flow_id)
    gone.set(c.meta.flow_id, { meta: c.meta, state: c.state })
    if (gone.size > 256) {
      const first = gone.keys().next()
      if (!first.done) gone.delete(first.value)
    }
  }

  /** Puts ops on the screen; with `card`, also tracks that card's unfinished row. */
  function emit(out: RenderOp[], ops: readonly RenderOp[], card?: Card): void {
    for (const op of ops) {
      out.push(op)
      lineOpen = op.op === 'text'
      if (!card) continue
      if (op.op === 'text') {
        if (!card.lineTrackable) continue
        card.lineChars += op.text.length
        if (card.lineChars > MAX_LINE_CHARS) {
          card.lineTrackable = false
          card.lineOps = []
        } else card.lineOps.push(op)
      } else {
        card.lineOps = []
        card.lineChars = 0
        card.lineTrackable = true
      }
    }
  }

  function buffer(c: Card, ops: readonly RenderOp[]): void {
    if (ops.length === 0) return
    if (c.buf.length === 0) c.pendingSince = now()
    for (const op of ops) {
      c.buf.push(op)
      c.bufChars += opChars(op)
    }
    if (c.bufChars > maxBuffered) {
      // Drop from the head in one splice (never shift in a loop: quadratic).
      let k = 0
      let chars = c.bufChars
      while (chars > maxBuffered && k < c.buf.length) chars -= opChars(c.buf[k++] as RenderOp)
      c.buf.splice(0, k)
      c.bufChars = chars
      c.dropped += k
    }
    place(c)
  }

  function isActive(c: Card): boolean {
    return c.state === 'STREAMING' && c.lastOutputAt !== undefined && now() - c.lastOutputAt < guard
  }

  /**
   * The card to show next: one of the current card's session first, then the one waiting
   * longest. A streaming card whose row was only erased waits for new output (else two cards
   * could hand the screen back and forth forever); drain() shows it too.
   */
  function nextCard(): Card | undefined {
    return waiting.next(current?.meta.session_id)
  }

  function switchTo(out: RenderOp[], c: Card, erase = true): void {
    const prev = current
    if (lineOpen) {
      if (erase && replayRows && prev && prev.state === 'STREAMING' && prev.lineTrackable && prev.lineOps.length > 0) {
        // Erase the interrupted row and replay it when the card comes back, so the row stays
        // whole (and a later backtrack of it, e.g. a command replacing its raw preview, works).
        emit(out, [{ op: 'backtrack' }])
        prev.restore = true
        if (prev.buf.length === 0) prev.pendingSince = now()
      } else emit(out, [{ op: 'newline' }])
    }
    waiting.delete(c)
    parked.delete(c)
    const header: RenderOp = { op: 'header', flow_id: c.meta.flow_id, session_id: c.meta.session_id, ts: now() }
    if (c.meta.client !== undefined) header.client = c.meta.client
    emit(out, [header])
    current = c
    c.lastOutputAt = now()
    if (c.dropped > 0) {
      emit(out, [{ op: 'text', text: `… ${c.dropped} earlier output ops dropped (buffer cap ${maxBuffered} chars)`, style: 'meta' }, { op: 'newline' }])
      c.dropped = 0
    }
    if (c.restore) {
      c.restore = false
      const row = c.lineOps
      c.lineOps = []
      c.lineChars = 0
      emit(out, row, c)
    }
    const buf = c.buf
    c.buf = []
    c.bufChars = 0
    emit(out, buf, c)
    if (prev && prev !== c) {
      if (prev.state !== 'STREAMING' && prev.buf.length === 0 && !prev.restore) drop(prev)
      else place(prev)
    }
  }

  /** Switches while the current card may yield and someone is waiting; returns the ops. */
  function settle(out: RenderOp[]): RenderOp[] {
    for (;;) {
      if (current && isActive(current)) return out
      const next = nextCard()
      if (!next) break
      switchTo(out, next)
      // A finished card that was just flushed yields again at once if others wait.
      if (current && current.state === 'STREAMING') break
    }
    if (current && current.state !== 'STREAMING' && current.buf.length === 0 && !current.restore && nextCard() === undefined) {
      // Keep a finished current card as "current" (so a new card still gets a header) — the
      // map entry can go, the reference is all we need.
      drop(current)
    }
    return out
  }

  return {
    open(meta) {
      const c = ensure(meta.flow_id)
      c.meta = { ...meta }
      // (Re)opening means the flow streams (again), e.g. an idle-dead flow that resumed.
      c.state = 'STREAMING'
      gone.delete(meta.flow_id)
      place(c)
    },
    write(flow_id, ops) {
      const out: RenderOp[] = []
      // Late output of a finished card (e.g. the renderer's closing line) is still shown.
      const c = ensure(flow_id)
      if (!current) {
        buffer(c, ops)
        switchTo(out, c)
        return settle(out)
      }
      if (current === c) {
        emit(out, ops, c)
        if (ops.length > 0) c.lastOutputAt = now()
        return settle(out)
      }
      buffer(c, ops)
      return settle(out)
    },
    finish(flow_id, state) {
      const c = cards.get(flow_id) ?? (current?.meta.flow_id === flow_id ? current : undefined)
      if (!c) return []
      c.state = state
      if (c !== current && c.buf.length === 0 && !c.restore) drop(c)
      else place(c)
      return settle([])
    },
    tick() {
      return settle([])
    },
    drain() {
      const out: RenderOp[] = []
      draining = true
      for (const c of [...parked]) place(c)
      try {
        for (;;) {
          const next = nextCard()
          if (!next) break
          switchTo(out, next, false)
        }
      } finally {
        draining = false
      }
      if (lineOpen) emit(out, [{ op: 'newline' }])
      return out
    },
    get current() {
      return current?.meta.flow_id
    },
    cards() {
      const list = [...cards.values()]
      if (current && !cards.has(current.meta.flow_id)) list.unshift(current)
      list.sort((a, b) => (a === current ? -1 : b === current ? 1 : 0))
      return list.map((c) => {
        const info: CardInfo = {
          flow_id: c.meta.flow_id,
          session_id: c.meta.session_id,
          state: c.state,
          buffered: c.buf.length,
          lastOutputAt: c.lastOutputAt,
          dropped: c.dropped,
        }
        if (c.meta.client !== undefined) info.client = c.meta.client
        return info
      })
    },
    reset() {
      cards = new Map()
      gone = new Map()
      waiting.clear()
      parked.clear()
      current = undefined
      lineOpen = false
    },
  }
}
