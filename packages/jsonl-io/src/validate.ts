import type { CaptureRecord, UnknownRecord } from './types.js'

/** Result of {@link validateRecord}. */
export type ValidationResult = { ok: true; record: CaptureRecord | UnknownRecord } | { ok: false; error: string }

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const optNum = (r: Record<string, unknown>, k: string) => r[k] === undefined || r[k] === null || typeof r[k] === 'number'
const optStr = (r: Record<string, unknown>, k: string) => r[k] === undefined || typeof r[k] === 'string'

/**
 * Checks that a parsed line is a canonical record of schema v1 (or a forward-compatible one).
 * Required everywhere: `v` (number), `type`, `ts`, `flow_id`, `session_id` (strings). Known
 * types get their own fields checked; unknown fields and unknown types pass through untouched.
 *
 * @example
 * ```ts
 * const r = validateRecord(JSON.parse(line))
 * if (!r.ok) console.error(r.error)
 * ```
 */
export function validateRecord(value: unknown): ValidationResult {
  if (!isObj(value)) return { ok: false, error: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` }
  if (typeof value.v !== 'number') return { ok: false, error: `expected a numeric schema version "v", got ${JSON.stringify(value.v) ?? 'nothing'}` }
  for (const k of ['type', 'ts', 'flow_id', 'session_id'] as const) {
    if (typeof value[k] !== 'string') return { ok: false, error: `expected string field "${k}", got ${JSON.stringify(value[k]) ?? 'nothing'}` }
  }
  switch (value.type) {
    case 'sse':
      if (typeof value.data !== 'string') return { ok: false, error: 'sse record: expected string field "data"' }
      if (typeof value.seq !== 'number') return { ok: false, error: 'sse record: expected numeric field "seq"' }
      if (!optStr(value, 'event')) return { ok: false, error: 'sse record: "event" must be a string when present' }
      if (!optNum(value, 't_ms')) return { ok: false, error: 'sse record: "t_ms" must be a number when present' }
      break
    case 'flow':
      if (!optStr(value, 'url')) return { ok: false, error: 'flow record: "url" must be a string when present' }
      if (!optNum(value, 'status')) return { ok: false, error: 'flow record: "status" must be a number when present' }
      break
    case 'flow_end':
      if (typeof value.outcome !== 'string') return { ok: false, error: 'flow_end record: expected string field "outcome"' }
      for (const k of ['events', 'bytes', 'ttfb_ms', 'duration_ms', 'status']) {
        if (!optNum(value, k)) return { ok: false, error: `flow_end record: "${k}" must be a number when present` }
      }
      break
    default:
      break
  }
  return { ok: true, record: value as unknown as CaptureRecord }
}

/** Type guard: a validated record of type `sse`. */
export function isSseRecord(r: { type: string }): r is import('./types.js').SseRecord {
  return r.type === 'sse'
}
/** Type guard: a validated record of type `flow`. */
export function isFlowRecord(r: { type: string }): r is import('./types.js').FlowRecord {
  return r.type === 'flow'
}
/** Type guard: a validated record of type `flow_end`. */
export function isFlowEndRecord(r: { type: string }): r is import('./types.js').FlowEndRecord {
  return r.type === 'flow_end'
}
