import { readJsonl } from '@agenttap/jsonl-io'
import { ExtractError } from './errors.js'
import { isoInstant } from './sources.js'
import type { CaptureFiles } from './sources.js'
import type { ExtractFilters, Row } from './types.js'

interface ValidatorLike {
  add(record: unknown): void
  finish(): { findings: Array<Record<string, unknown>>; sessions: Record<string, unknown> }
}
type ValidatorFactory = (opts?: { onError?: (e: Error) => void }) => ValidatorLike

/**
 * Loads flow-fsm's `createCallValidator` at run time: the validator landed in flow-fsm after
 * this package, so a flow-fsm build without it makes this one mode fail with a clear message
 * instead of breaking every import.
 */
async function loadValidator(): Promise<ValidatorFactory> {
  const mod = (await import('@agenttap/flow-fsm')) as Record<string, unknown>
  const f = mod.createCallValidator
  if (typeof f !== 'function') {
    throw new ExtractError('ENGINE_UNSUPPORTED', 'call_validation is pending: the installed @agenttap/flow-fsm has no createCallValidator yet (rebuild flow-fsm once it lands: pnpm --filter @agenttap/flow-fsm build)')
  }
  return f as ValidatorFactory
}

export const CALL_VALIDATION_COLUMNS = ['session_id', 'flow_id', 'kind', 'call_id', 'name', 'position', 'related_flow_id', 'message']

/**
 * `call_validation`: every canonical record, fed in file order (flows, then lines, then ends)
 * to flow-fsm's call validator, which rebuilds the streams with stream-normalizer. A Node pass
 * (the validator is a state machine), so it costs a full read of the capture.
 */
export async function runCallValidation(files: CaptureFiles, filters: ExtractFilters, limit?: number): Promise<{ columns: string[]; rows: Row[]; warnings: string[] }> {
  const create = await loadValidator()
  const warnings: string[] = []
  let errors = 0
  const v = create({ onError: () => void errors++ })
  const since = filters.since === undefined ? undefined : isoInstant(filters.since, '--since')
  const until = filters.until === undefined ? undefined : isoInstant(filters.until, '--until')
  const keepFlows = new Set<string>()
  const filtered = since !== undefined || until !== undefined || filters.session !== undefined || filters.client !== undefined
  let malformed = 0
  const onError = (): void => void malformed++
  for (const f of files.flows) {
    for await (const { value } of readJsonl(f, { onError })) {
      const r = value as Record<string, unknown> | null
      if (r === null || typeof r !== 'object' || r.type !== 'flow') continue
      const ts = String(r.ts ?? '')
      if (filtered) {
        if (since !== undefined && ts < since) continue
        if (until !== undefined && ts >= until) continue
        if (filters.session !== undefined && r.session_id !== filters.session) continue
        if (filters.client !== undefined && r.client !== filters.client) continue
        keepFlows.add(String(r.flow_id))
      }
      v.add(r)
    }
  }
  for (const f of [...files.lines, ...files.ends]) {
    for await (const { value } of readJsonl(f, { onError })) {
      const r = value as Record<string, unknown> | null
      if (r === null || typeof r !== 'object' || typeof r.type !== 'string') continue
      if (filtered && !keepFlows.has(String(r.flow_id))) continue
      v.add(r)
    }
  }
  const { findings } = v.finish()
  if (malformed > 0) warnings.push(`call_validation: ${malformed} malformed line(s) skipped`)
  if (errors > 0) warnings.push(`call_validation: the validator reported ${errors} malformed record(s)`)
  let rows: Row[] = findings.map((f) => ({
    session_id: typeof f.session_id === 'string' ? f.session_id : null,
    flow_id: typeof f.flow_id === 'string' ? f.flow_id : null,
    kind: typeof f.kind === 'string' ? f.kind : null,
    call_id: typeof f.call_id === 'string' ? f.call_id : null,
    name: typeof f.name === 'string' ? f.name : null,
    position: typeof f.position === 'string' ? f.position : null,
    related_flow_id: typeof f.related_flow_id === 'string' ? f.related_flow_id : null,
    message: typeof f.message === 'string' ? f.message : null,
  }))
  if (limit !== undefined) rows = rows.slice(Math.max(0, rows.length - limit))
  return { columns: CALL_VALIDATION_COLUMNS, rows, warnings }
}
