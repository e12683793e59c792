import type { ProblemSummary } from '@agenttap/extractors'

/** One line about the input the index skipped (the details: `agenttap-analyze check`). */
export function problemLine(p: Pick<ProblemSummary, 'total' | 'byCode' | 'first'>): string | undefined {
  if (p.total === 0) return undefined
  const kinds = Object.entries(p.byCode).map(([k, n]) => `${n} ${k.toLowerCase().replace(/_/g, ' ')}`).join(', ')
  const f = p.first[0]
  const where = f?.file ? ` — first at ${f.file}${f.line !== null ? `:${f.line}` : ''}${f.offset !== null ? ` (byte ${f.offset})` : ''}` : ''
  return `skipped or repaired ${p.total} input problem(s): ${kinds}${where}; agenttap-analyze check lists them`
}
