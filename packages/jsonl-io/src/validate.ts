import type { CaptureRecord, UnknownRecord } from './types.js'

/** Result of {@link validateRecord}. */
export type ValidationResult = { ok: true; record: CaptureRecord | UnknownRecord } | { ok: false; error: string }

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const optNum = (v: unknown) => v === undefined || v === null || typeof v === 'number'
const optStr = (v: unknown) => v === undefined || typeof v === 'string'
const notString = (k: string, v: unknown): ValidationResult => ({ ok: false, error: `expected string field "${k}", got ${JSON.stringify(v) ?? 'nothing'}` })

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
  // Each field read by name, not in a loop over the names: every line read goes through here, and
  // a load with a variable key from records of many shapes is a megamorphic lookup each time.
  if (typeof value.type !== 'string') return notString('type', value.type)
  if (typeof value.ts !== 'string') return notString('ts', value.ts)
  if (typeof value.flow_id !== 'string') return notString('flow_id', value.flow_id)
  if (typeof value.session_id !== 'string') return notString('session_id', value.session_id)
  switch (value.type) {
    case 'sse':
      if (typeof value.data !== 'string') return { ok: false, error: 'sse record: expected string field "data"' }
      if (typeof value.seq !== 'number') return { ok: false, error: 'sse record: expected numeric field "seq"' }
      if (!optStr(value.event)) return { ok: false, error: 'sse record: "event" must be a string when present' }
      if (!optNum(value.t_ms)) return { ok: false, error: 'sse record: "t_ms" must be a number when present' }
      break
    case 'flow':
      if (!optStr(value.url)) return { ok: false, error: 'flow record: "url" must be a string when present' }
      if (!optNum(value.status)) return { ok: false, error: 'flow record: "status" must be a number when present' }
      break
    case 'flow_end':
      if (typeof value.outcome !== 'string') return { ok: false, error: 'flow_end record: expected string field "outcome"' }
      for (const k of ['events', 'bytes', 'ttfb_ms', 'duration_ms', 'status']) {
        if (!optNum(value[k])) return { ok: false, error: `flow_end record: "${k}" must be a number when present` }
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
