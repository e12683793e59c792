import { contextWindowOf, readQuota, summaryHash } from '@agenttap/cache-insights'
import type { ModelCall } from '@agenttap/ledger'
import type { TimelinePoint } from './timeline-svg.js'

/** Each session's context and quota points, from its calls as they end: the timeline plot's data (bounded). */
export interface SessionTimelines {
  /** Adds the point of a call that ended: a main-agent model call with usage (others add nothing). */
  add(c: ModelCall): void
  /** A session's points (a copy), in call-start order. */
  get(session_id: string): TimelinePoint[]
  /** The point a call (its `key`) added, for the alerts raised on that call. */
  point(key: string): TimelinePoint | undefined
}

/** Sessions kept (the oldest dropped past it), points per session, and calls whose point is found by key. */
const MAX_SESSIONS = 1000
const MAX_POINTS = 2000
const MAX_KEYS = 20_000

export function createSessionTimelines(): SessionTimelines {
  const timelines = new Map<string, TimelinePoint[]>()
  const pointOf = new Map<string, TimelinePoint>()
  /** Per session whose latest request carried a compaction summary: that summary's hash (bounded with the timelines). */
  const summaries = new Map<string, string>()
  return {
    add(c) {
      if (c.usage === undefined || c.kind === 'aux' || c.agent !== undefined) return
      const tokens = c.usage.input + c.usage.cache_read + c.usage.cache_write_5m + c.usage.cache_write_1h
      const w = contextWindowOf(c.model ?? c.request.model)
      const p: TimelinePoint = { t: Date.parse(c.started_at) || 0, context_tokens: tokens }
      if (w !== undefined) p.context = Math.round((tokens / w) * 1e4) / 1e4
      const q = readQuota(c.rate_limits, c.ended_at ?? c.started_at)
      if (q.length > 0) p.quota = Object.fromEntries(q.map((r) => [r.window, r.used]))
      let list = timelines.get(c.session_id)
      if (!list) {
        timelines.set(c.session_id, (list = []))
        if (timelines.size > MAX_SESSIONS) {
          const oldest = timelines.keys().next().value as string
          timelines.delete(oldest)
          summaries.delete(oldest)
        }
      }
      const prev = list[list.length - 1]
      // A compaction: a summary the previous request did not carry (a new one, when it carried an
      // earlier summary), or the context halved.
      const summary = summaryHash(c)
      const before = summaries.get(c.session_id)
      if ((summary !== undefined && summary !== before) || (prev?.context_tokens !== undefined && tokens < prev.context_tokens / 2)) p.compaction = true
      if (summary !== undefined) summaries.set(c.session_id, summary)
      else summaries.delete(c.session_id)
      // In call-start order, as analyze's context rows (a call that ends after a later-started one comes later).
      let at = list.length
      while (at > 0 && (list[at - 1] as TimelinePoint).t > p.t) at--
      list.splice(at, 0, p)
      if (list.length > MAX_POINTS) list.shift()
      pointOf.set(c.key, p)
      if (pointOf.size > MAX_KEYS) pointOf.delete(pointOf.keys().next().value as string)
    },
    get: (session_id) => [...(timelines.get(session_id) ?? [])],
    point: (key) => pointOf.get(key),
  }
}
