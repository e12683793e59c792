import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export { prng } from '../../../test-support/prng.js'

export const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures')

/** The records of a fixture scenario (`fixtures/<name>`), parsed. */
export function fixture(name: string): Record<string, unknown>[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** The three capture files of fixtures/capture/all-mitm-sse, as text. */
export function captureFiles(): Record<'sse_flows.jsonl' | 'sse_lines.jsonl' | 'sse_flow_ends.jsonl', string> {
  const dir = join(FIXTURES, 'capture', 'all-mitm-sse')
  return {
    'sse_flows.jsonl': readFileSync(join(dir, 'sse_flows.jsonl'), 'utf8'),
    'sse_lines.jsonl': readFileSync(join(dir, 'sse_lines.jsonl'), 'utf8'),
    'sse_flow_ends.jsonl': readFileSync(join(dir, 'sse_flow_ends.jsonl'), 'utf8'),
  }
}
