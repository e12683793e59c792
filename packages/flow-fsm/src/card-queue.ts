/**
 * The screen controller's waiting room: cards that have output to show, ordered by how long they
 * have waited. Kept as binary min-heaps (one over all cards, one per session) with lazy deletion,
 * so choosing the next card costs O(log n) instead of a scan of every open flow (100k flows that
 * never end used to make each switch, and the drain at the end, linear).
 */

/** Where a card stands in the queue. */
export interface QueueKey {
  /** Session of the card; '' is never preferred as "the same session". */
  session: string
  /** Clock time the card started waiting. */
  since: number
  /** Tie-break: the smaller goes first (the card's creation order). */
  order: number
}

interface Entry<C> extends QueueKey {
  card: C
  version: number
}

function less<C>(a: Entry<C>, b: Entry<C>): boolean {
  return a.since !== b.since ? a.since < b.since : a.order < b.order
}

function siftDown<C>(a: Entry<C>[], i: number): void {
  for (;;) {
    const l = 2 * i + 1
    const r = l + 1
    let m = i
    if (l < a.length && less(a[l] as Entry<C>, a[m] as Entry<C>)) m = l
    if (r < a.length && less(a[r] as Entry<C>, a[m] as Entry<C>)) m = r
    if (m === i) return
    const t = a[i] as Entry<C>
    a[i] = a[m] as Entry<C>
    a[m] = t
    i = m
  }
}

/** A binary min-heap of entries ordered by (since, order). */
class Heap<C> {
  items: Entry<C>[] = []

  push(e: Entry<C>): void {
    const a = this.items
    a.push(e)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(a[i] as Entry<C>, a[p] as Entry<C>)) break
      const t = a[i] as Entry<C>
      a[i] = a[p] as Entry<C>
      a[p] = t
      i = p
    }
  }

  pop(): void {
    const a = this.items
    const last = a.pop()
    if (last === undefined || a.length === 0) return
    a[0] = last
    siftDown(a, 0)
  }

  /** Keeps the entries `keep` accepts and restores the heap order (O(n)). */
  filter(keep: (e: Entry<C>) => boolean): void {
    const a = this.items.filter(keep)
    this.items = a
    for (let i = (a.length >> 1) - 1; i >= 0; i--) siftDown(a, i)
  }
}

/** The waiting cards. See {@link createCardQueue}. */
export interface CardQueue<C> {
  /** Queues a card with `key`, or moves it there (its older place is forgotten). */
  set(card: C, key: QueueKey): void
  /** Takes a card out of the queue. */
  delete(card: C): void
  /** The key a card is queued with, if it is queued. */
  get(card: C): QueueKey | undefined
  /** The card that waited longest, preferring one of `session` (when not ''). */
  next(session: string | undefined): C | undefined
  /** Cards queued. */
  readonly size: number
  /** The queued cards, in no particular order. */
  cards(): IterableIterator<C>
  clear(): void
}

/**
 * Creates the waiting-card queue of a screen controller: `next` returns the card of the preferred
 * session that waited longest, else the card that waited longest, ties to the smaller `order`.
 *
 * @example
 * ```ts
 * const q = createCardQueue<Card>()
 * q.set(card, { session: 's1', since: now(), order: card.order })
 * const next = q.next(current.session)
 * ```
 */
export function createCardQueue<C>(): CardQueue<C> {
  let all = new Heap<C>()
  let bySession = new Map<string, Heap<C>>()
  let queued = new Map<C, Entry<C>>()
  let entries = 0
  let version = 0

  const valid = (e: Entry<C>): boolean => queued.get(e.card)?.version === e.version

  /** Drops stale entries from the top of a heap; returns its valid top, if any. */
  function top(h: Heap<C>): Entry<C> | undefined {
    for (;;) {
      const e = h.items[0]
      if (e === undefined || valid(e)) return e
      h.pop()
      entries--
    }
  }

  function compact(): void {
    // A stale entry surfaces only once older ones are popped: rebuild when stale ones outnumber
    // the live ones, so memory stays proportional to the cards waiting.
    if (entries <= 2 * queued.size + 1024) return
    all.filter(valid)
    entries = all.items.length
    for (const [s, h] of bySession) {
      h.filter(valid)
      if (h.items.length === 0) bySession.delete(s)
      else entries += h.items.length
    }
  }

  return {
    set(card, key) {
      const e: Entry<C> = { card, session: key.session, since: key.since, order: key.order, version: ++version }
      queued.set(card, e)
      all.push(e)
      entries++
      if (key.session !== '') {
        let h = bySession.get(key.session)
        if (!h) bySession.set(key.session, (h = new Heap<C>()))
        h.push(e)
        entries++
      }
      compact()
    },
    delete(card) {
      queued.delete(card)
    },
    get(card) {
      return queued.get(card)
    },
    next(session) {
      if (session !== undefined && session !== '') {
        const h = bySession.get(session)
        if (h) {
          const e = top(h)
          if (e) return e.card
          bySession.delete(session)
        }
      }
      return top(all)?.card
    },
    get size() {
      return queued.size
    },
    cards() {
      return queued.keys()
    },
    clear() {
      all = new Heap<C>()
      bySession = new Map()
      queued = new Map()
      entries = 0
    },
  }
}
