import { describe, expect, it } from 'vitest'
import { argvToCommand, fileEdits, patchFiles, shellCommands, shellReadFiles, webAccess } from './derived.js'

describe('argvToCommand', () => {
  it('unwraps bash -lc and quotes other argv', () => {
    expect(argvToCommand(['bash', '-lc', 'ls -la && echo hi'])).toBe('ls -la && echo hi')
    expect(argvToCommand(['/bin/zsh', '-c', 'pwd'])).toBe('pwd')
    expect(argvToCommand(['rg', '-n', 'a b', "it's"])).toBe(`rg -n 'a b' 'it'\\''s'`)
    expect(argvToCommand([])).toBeUndefined()
  })
})

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

const call = (name: string, args: unknown, kind = 'function') => ({ ts: 't', session_id: 's', flow_id: 'f', call_id: 'c', name, kind, arguments: typeof args === 'string' ? args : JSON.stringify(args) })

describe('tool-call derived rows', () => {
  it('shell commands from every shell tool shape', () => {
    const rows = shellCommands([
      call('Bash', { command: 'npm test' }),
      call('shell', { command: ['bash', '-lc', 'ls'], workdir: '/w' }),
      call('shell_command', { command: 'git status' }),
      call('exec_command', { cmd: 'make' }),
      call('local_shell', { type: 'exec', command: ['echo', 'hi there'] }, 'local_shell'),
      call('Read', { file_path: 'x' }),
      call('Bash', '{"command": "unterminated'),
    ])
    expect(rows.map((r) => [r.tool, r.command, r.workdir])).toEqual([
      ['Bash', 'npm test', null],
      ['shell', 'ls', '/w'],
      ['shell_command', 'git status', null],
      ['exec_command', 'make', null],
      ['local_shell', "echo 'hi there'", null],
    ])
  })

  it('file edits from Write and from a patch sent through a shell heredoc', () => {
    const rows = fileEdits([
      call('Write', { file_path: '/a.md', content: 'x' }),
      call('shell', { command: ['bash', '-lc', "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: z.py\n@@\n-a\n+b\n*** End Patch\nEOF"] }),
      call('apply_patch', { input: '*** Begin Patch\n*** Delete File: old.txt\n*** End Patch' }),
    ])
    expect(rows.map((r) => [r.tool, r.op, r.path])).toEqual([
      ['Write', 'write', '/a.md'],
      ['shell', 'update', 'z.py'],
      ['apply_patch', 'delete', 'old.txt'],
    ])
  })

  it('web access from curl in a shell command', () => {
    expect(webAccess([call('Bash', { command: 'curl -s https://api.example.com/v1?q=1 | jq .' })]).map((r) => [r.kind, r.target])).toEqual([['shell', 'https://api.example.com/v1?q=1']])
  })
})
