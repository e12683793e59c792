import { describe, expect, it } from 'vitest'
import { argvToCommand, isShellTool, shellCommandOf } from './shell-tools.js'

describe('shell-tool vocabulary', () => {
  it('names the shell tools of Claude Code, Codex and other agents, case-insensitively; local_shell by kind', () => {
    for (const n of ['Bash', 'shell', 'shell_command', 'exec_command', 'local_shell', 'container.exec', 'run_shell_command']) expect(isShellTool(n)).toBe(true)
    expect(isShellTool('Read')).toBe(false)
    expect(isShellTool('anything', 'local_shell')).toBe(true)
  })

  it('gets the command and workdir of every argument shape', () => {
    expect(shellCommandOf('Bash', 'function', '{"command":"ls -la src/","description":"List"}')).toEqual({ command: 'ls -la src/' })
    expect(shellCommandOf('shell', 'function', { command: ['bash', '-lc', 'npm test'], workdir: '/repo', timeout_ms: 1 })).toEqual({ command: 'npm test', workdir: '/repo', shell: 'bash' })
    expect(shellCommandOf('shell', 'function', { command: ['/bin/zsh', '-c', 'echo hi'] })).toEqual({ command: 'echo hi', shell: 'zsh' })
    expect(shellCommandOf('shell', 'function', { command: ['rg', '-n', 'a b', "it's"] })).toEqual({ command: `rg -n 'a b' 'it'\\''s'` })
    expect(shellCommandOf('shell_command', 'function', { command: 'rg -n x', workdir: '/w', login: true })).toEqual({ command: 'rg -n x', workdir: '/w' })
    expect(shellCommandOf('exec_command', 'function', '{"cmd":"sed -n 1,4p a.ts","workdir":"/repo","yield_time_ms":1000}')).toEqual({ command: 'sed -n 1,4p a.ts', workdir: '/repo' })
    expect(shellCommandOf('local_shell', 'local_shell', { type: 'exec', command: ['bash', '-lc', 'ls'], working_directory: '/tmp' })).toEqual({ command: 'ls', workdir: '/tmp', shell: 'bash' })
    expect(shellCommandOf('container.exec', 'function', { cmd: ['bash', '-lc', 'make'], workdir: '/x' })).toEqual({ command: 'make', workdir: '/x', shell: 'bash' })
    expect(shellCommandOf('run_shell_command', 'function', { command: 'ls', directory: 'src' })).toEqual({ command: 'ls', workdir: 'src' })
  })

  it('a command field of another tool is no shell line, unless it is a shell argv with -c', () => {
    expect(shellCommandOf('Task', 'function', { command: 'deploy' })).toBeUndefined()
    expect(shellCommandOf('my_tool', 'function', { command: ['bash', '-c', 'ls'] })).toEqual({ command: 'ls', shell: 'bash' })
    expect(shellCommandOf('my_tool', 'function', { command: ['ls', '-la'] })).toBeUndefined()
  })

  it('bad arguments are no command, never a throw', () => {
    expect(shellCommandOf('Bash', 'function', '{"command":')).toBeUndefined()
    expect(shellCommandOf('Bash', 'function', '')).toBeUndefined()
    expect(shellCommandOf('Bash', 'function', null)).toBeUndefined()
    expect(shellCommandOf('Bash', 'function', { command: 42 })).toBeUndefined()
    expect(shellCommandOf('shell', 'function', { command: [] })).toBeUndefined()
    expect(argvToCommand([1, 2])).toBeUndefined()
  })
})
