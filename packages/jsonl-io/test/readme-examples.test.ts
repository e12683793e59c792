/**
 * The README's TypeScript examples type-check against the built package, as a user would write
 * them (`import … from '@agenttap/jsonl-io'`): an example that no longer compiles fails here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const pkgDir = join(import.meta.dirname, '..')

describe('README examples', () => {
  it('every ```ts block type-checks (strict, NodeNext)', () => {
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8')
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
    expect(blocks.length).toBeGreaterThan(0)
    // Inside the package, so '@agenttap/jsonl-io' resolves to this package's built exports (self-reference).
    const dir = mkdtempSync(join(pkgDir, '.readme-check-'))
    try {
      const files = blocks.map((code, i) => {
        const f = join(dir, `example-${i}.ts`)
        writeFileSync(f, `${code}\nexport {}\n`)
        return f
      })
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        types: ['node'],
        skipLibCheck: true,
      })
      const problems = ts.getPreEmitDiagnostics(program).map((d) => {
        const where = d.file && d.start !== undefined ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : ''
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
      })
      expect(problems).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
