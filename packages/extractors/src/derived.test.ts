import { describe, expect, it } from 'vitest'
import { fileEdits, filesRead, patchFiles, shellReadFiles, webAccess } from './derived.js'

describe('patchFiles', () => {
  it('lists every file an apply_patch body touches, moves included', () => {
    const patch = '*** Begin Patch\n*** Add File: a.ts\n+x\n*** Delete File: b.ts\n*** Update File: c.ts\n*** Move to: d.ts\n@@\n-a\n+b\n*** End Patch'
    expect(patchFiles(patch)).toEqual([
      { op: 'add', path: 'a.ts' },
      { op: 'delete', path: 'b.ts' },
      { op: 'update', path: 'c.ts' },
      { op: 'move', path: 'd.ts' },
    ])
    expect(patchFiles('no patch here')).toEqual([])
  })
})

describe('shellReadFiles', () => {
  it('reads the files of simple read commands only', () => {
    expect(shellReadFiles('cat a.txt b.txt')).toEqual(['a.txt', 'b.txt'])
    expect(shellReadFiles("sed -n '1,40p' src/parse.ts")).toEqual(['src/parse.ts'])
    expect(shellReadFiles('head -n 5 x.log | grep foo')).toEqual(['x.log'])
    expect(shellReadFiles('cd repo && tail -f app.log')).toEqual(['app.log'])
    expect(shellReadFiles('npm test')).toEqual([])
    expect(shellReadFiles('cat > out.txt')).toEqual([])
  })
})

// A tool-call row of the index: `command` / `workdir` are the ledger's (stream-normalizer's shell vocabulary).
const call = (name: string, args: unknown, extra: { kind?: string; command?: string; workdir?: string } = {}) => ({
  ts: 't', session_id: 's', flow_id: 'f', call_id: 'c', name, kind: extra.kind ?? 'function', arguments: typeof args === 'string' ? args : JSON.stringify(args),
  command: extra.command ?? null, workdir: extra.workdir ?? null,
})

describe('tool-call derived rows', () => {
  it('file edits from Write and from a patch sent through a shell heredoc', () => {
    const heredoc = "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: z.py\n@@\n-a\n+b\n*** End Patch\nEOF"
    const rows = fileEdits([
      call('Write', { file_path: '/a.md', content: 'x' }),
      call('shell', { command: ['bash', '-lc', heredoc] }, { command: heredoc }),
      call('apply_patch', { input: '*** Begin Patch\n*** Delete File: old.txt\n*** End Patch' }),
      call('apply_patch', '*** Begin Patch\n*** Add File: n.txt\n+x\n*** End Patch', { kind: 'custom' }),
    ])
    expect(rows.map((r) => [r.tool, r.op, r.path])).toEqual([
      ['Write', 'write', '/a.md'],
      ['shell', 'update', 'z.py'],
      ['apply_patch', 'delete', 'old.txt'],
      ['apply_patch', 'add', 'n.txt'],
    ])
  })

  it('files read by a tool and by a simple shell read the ledger found', () => {
    const rows = filesRead([
      call('Read', { file_path: '/r.md' }),
      call('shell', { command: ['bash', '-lc', 'cat a.txt'] }, { command: 'cat a.txt' }),
      call('shell', { command: ['bash', '-lc', 'cat b.txt'] }), // no command: the ledger did not see a shell tool
    ])
    expect(rows.map((r) => [r.tool, r.path, r.via])).toEqual([
      ['Read', '/r.md', 'tool'],
      ['shell', 'a.txt', 'shell'],
    ])
  })

  it('web access from curl in a shell command', () => {
    const cmd = 'curl -s https://api.example.com/v1?q=1 | jq .'
    expect(webAccess([call('Bash', { command: cmd }, { command: cmd })]).map((r) => [r.kind, r.target])).toEqual([['shell', 'https://api.example.com/v1?q=1']])
  })
})
