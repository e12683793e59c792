import { isObj } from './record-fields.js'
import type { CallError, CallOutcome } from './types.js'

/** Flow outcomes of the capture, as call outcomes. */
export function captureOutcome(o: unknown): CallOutcome {
  return o === 'completed' || o === 'error' || o === 'aborted' || o === 'upstream_error' ? o : 'error'
}

/** The error the capture itself recorded (`flow_end.error`: a message, or `{type?, message, all?}`). */
export function captureError(e: unknown): CallError | undefined {
  if (typeof e === 'string' && e !== '') return { message: e }
  if (isObj(e) && typeof e['message'] === 'string') {
    const out: CallError = { message: e['message'] }
    if (typeof e['type'] === 'string') out.type = e['type']
    return out
  }
  return undefined
}
