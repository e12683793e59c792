import { JsonlError, excerptOf } from '../errors.js'
import { validateRecord } from '../validate.js'
import type { CaptureRecord, UnknownRecord } from '../types.js'

/** Default stream key. */
export const DEFAULT_STREAM = 'agenttap:events'

/**
 * Fields of one stream entry for a record: the record's JSON in `r`, plus `flow_id` and `type`
 * so consumers (and `XRANGE` users) can filter without parsing.
 */
export function encodeEntry(record: { flow_id?: unknown; type?: unknown }, json = JSON.stringify(record)): string[] {
  return ['r', json, 'flow_id', String(record.flow_id ?? ''), 'type', String(record.type ?? '')]
}

/** A record read from a stream, with its entry id. */
export interface StreamEntry {
  id: string
  record: CaptureRecord | UnknownRecord
  error?: undefined
}

/**
 * Decodes one `[id, [field, value, …]]` entry. Returns a `JsonlError` (code `INVALID_RECORD` or
 * `MALFORMED_JSON`, `file` = `redis:<stream>`, `excerpt`, and the id in the message) for an entry
 * that is not a canonical record.
 */
export function decodeEntry(stream: string, id: string, fields: unknown): StreamEntry | JsonlError {
  const where = { file: `redis:${stream}` }
  if (!Array.isArray(fields)) return new JsonlError('INVALID_RECORD', `entry ${id}: expected a field list`, where)
  let json: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (String(fields[i]) === 'r') {
      json = String(fields[i + 1])
      break
    }
  }
  if (json === undefined) return new JsonlError('INVALID_RECORD', `entry ${id}: no "r" field (not written by agenttap?)`, { ...where, excerpt: excerptOf(fields.map(String).join(' ')) })
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (err) {
    return new JsonlError('MALFORMED_JSON', `entry ${id}: "r" is not JSON (${(err as Error).message})`, { ...where, excerpt: excerptOf(json), cause: err })
  }
  const v = validateRecord(value)
  if (!v.ok) return new JsonlError('INVALID_RECORD', `entry ${id}: ${v.error}`, { ...where, excerpt: excerptOf(json) })
  return { id, record: v.record }
}
