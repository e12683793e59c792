import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CAPTURE_DIR, CAPTURE_FILES, captureFileFor, createJsonlWriter, readJsonl, resolveCapture, type JsonlWriter } from '@agenttap/jsonl-io'

/** A capture made from one file or stdin, in a private temporary log root. */
export interface SingleInput {
  root: string
  records: number
  cleanup(): void
}

/**
 * Whether `--log-dir` names one capture file (any `.jsonl` of canonical records, e.g. a fixture
 * or one `sse_lines.jsonl`) or `-` (stdin) rather than a log root or capture directory.
 */
export function isSingleInput(logDir: string | undefined): logDir is string {
  if (logDir === undefined) return false
  if (logDir === '-') return true
  try {
    return statSync(logDir).isFile() && resolveCapture(logDir).kind === 'file'
  } catch {
    return false
  }
}

/**
 * Lays the records of one file or of stdin out as a capture directory (each record in the file
 * of its type), so every mode reads it like a capture the proxy wrote. The index of it lives in
 * memory only. Malformed lines are reported with their place in the input and skipped.
 */
export async function singleInput(source: string, stdin: AsyncIterable<Uint8Array>, warn: (message: string) => void): Promise<SingleInput> {
  const root = mkdtempSync(join(tmpdir(), 'agenttap-analyze-input-'))
  const dir = join(root, CAPTURE_DIR)
  const writers = new Map<string, JsonlWriter>()
  const cleanup = (): void => rmSync(root, { recursive: true, force: true })
  let n = 0
  try {
    const input = source === '-' ? stdin : source
    const file = source === '-' ? 'stdin' : source
    for await (const { value } of readJsonl(input, { file, onError: (e) => warn(e.message) })) {
      const type = (value as { type?: unknown } | null)?.type
      const name = captureFileFor(typeof type === 'string' ? type : '')
      let w = writers.get(name)
      if (!w) writers.set(name, (w = createJsonlWriter(join(dir, name), { fsync: 'never', mkdir: true })))
      w.write(value as Record<string, unknown>)
      n++
    }
    for (const name of [CAPTURE_FILES.flows, CAPTURE_FILES.lines, CAPTURE_FILES.flowEnds]) {
      if (!writers.has(name)) writers.set(name, createJsonlWriter(join(dir, name), { fsync: 'never', mkdir: true }))
    }
  } catch (e) {
    await Promise.all([...writers.values()].map((w) => w.close())).catch(() => undefined)
    cleanup()
    throw e
  }
  await Promise.all([...writers.values()].map((w) => w.close()))
  return { root, records: n, cleanup }
}
