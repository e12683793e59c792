import { describe, expect, it } from 'vitest'
import { JsonStreamFormatter } from '@agenttap/stream-normalizer'
import { createToolCallRenderer } from './tool-call-renderer.js'
import { FlowFsmError } from './errors.js'
import type { RenderOp } from './types.js'
import { randomSplit, rng, screen } from '../test/helpers.js'

function render(name: string, parts: string[], opts: Parameters<typeof createToolCallRenderer>[0] = {}, kind?: 'function' | 'custom') {
  const r = createToolCallRenderer(opts)
  const ops: RenderOp[] = []
  ops.push(...r.start(kind ? { name, kind } : { name }))
  for (const p of parts) ops.push(...r.feed(p))
  const args = parts.join('')
  let parse_error: string | undefined
  try {
    JSON.parse(args)
  } catch (e) {
    parse_error = (e as Error).message
  }
  ops.push(...r.end(parse_error === undefined ? { arguments: args } : { arguments: args, parse_error }))
  return { r, ops, lines: screen(ops), backtracks: ops.filter((o) => o.op === 'backtrack').length }
}

const SHELL_CASES: Array<[string, unknown, string]> = [
  ['shell', { command: ['bash', '-lc', 'ls -la && echo "done"'], workdir: '/w', timeout_ms: 1000 }, 'ls -la && echo "done"'],
  ['shell', { command: ['sh', '-c', 'cat a | grep \\"b\\"'] }, 'cat a | grep \\"b\\"'],
  ['container.exec', { command: ['/bin/zsh', '-lc', 'pwd'] }, 'pwd'],
  ['anything', { command: ['bash', '-lc', 'echo é😀\ttab'] }, 'echo é😀\ttab'],
  ['shell_command', { command: 'git status --short', workdir: '/repo', login: true }, 'git status --short'],
  ['exec_command', { cmd: 'npm test -- --run', yield_time_ms: 1000 }, 'npm test -- --run'],
  ['Bash', { command: 'cd /tmp && printf "%s\\n" x', description: 'print' }, 'cd /tmp && printf "%s\\n" x'],
  ['shell', { command: ['git', 'diff', '--stat'] }, 'git diff --stat'],
  ['shell', { workdir: '/w', command: ['bash', '-lc', 'make'] }, 'make'],
  ['local_shell', { type: 'exec', command: ['ls', '-la'], env: {} }, 'ls -la'],
  ['exec_command', { cmd: ['zsh', '-lc', 'echo "$HOME"'] }, 'echo "$HOME"'],
]

describe('createToolCallRenderer: shell commands', () => {
  it('detects every shell form, backtracks once and renders `$ <command>` for every chunking', () => {
    const rand = rng(7)
    for (const [name, args, cmd] of SHELL_CASES) {
      const json = JSON.stringify(args)
      for (let k = 0; k < 40; k++) {
        const parts = randomSplit(json, rand, 8)
        const { r, lines, backtracks } = render(name, parts)
        expect(r.mode, `${name} ${json} ${JSON.stringify(parts)}`).toBe('ended')
        expect(backtracks).toBe(1)
        expect(lines).toEqual(`$ ${cmd}`.split('\n'))
        expect(r.command).toBe(cmd)
      }
    }
  })

  it('emits the exact op stream: name, raw preview, backtrack, then the command as it streams', () => {
    const late = render('shell', ['{"comm', 'and":["', 'bash","-', 'lc","ls"]}'])
    expect(late.ops.slice(0, 5)).toEqual([
      { op: 'text', text: 'shell ', style: 'tool' },
      { op: 'text', text: '{"comm', style: 'dim' },
      { op: 'text', text: 'and":["', style: 'dim' },
      { op: 'text', text: 'bash","-', style: 'dim' },
      { op: 'backtrack' },
    ])
    const { ops } = render('shell', ['{"command":["bash",', '"-lc","ls', ' -la"]', ',"workdir":"/w"}'])
    expect(ops).toEqual([
      { op: 'text', text: 'shell ', style: 'tool' },
      { op: 'text', text: '{"command":["bash",', style: 'dim' },
      { op: 'backtrack' }, // `["bash"` is enough: the script follows
      { op: 'text', text: '$ ', style: 'command' },
      { op: 'text', text: 'ls', style: 'command' },
      { op: 'text', text: ' -la', style: 'command' },
      { op: 'newline' },
    ])
  })

  it('renders a multi-line heredoc command with newline ops and decodes escapes split across deltas', () => {
    const parts = ['{"command":"cat <<EOF\\', 'nline 1\\u00', 'e9\\nEOF"}']
    const { lines, ops } = render('Bash', parts)
    expect(lines).toEqual(['$ cat <<EOF', 'line 1é', 'EOF'])
    expect(ops.filter((o) => o.op === 'text' && o.text.includes('\n'))).toEqual([])
  })

  it('makes control characters in a command visible instead of sending them to the terminal', () => {
    const { lines } = render('Bash', [JSON.stringify({ command: 'printf "\u001b[31mred"' })])
    expect(lines).toEqual(['$ printf "\u241b[31mred"'])
  })

  it('detects within the window only: a late `command` key is settled as JSON at the 8th delta, later with a larger window', () => {
    const json = JSON.stringify({ workdir: '/a/rather/long/working/directory', command: ['bash', '-lc', 'ls'] })
    const cut = json.indexOf('"command"')
    // 9 deltas before the command key shows up
    const head = json.slice(0, cut)
    const step = Math.ceil(head.length / 9)
    const parts: string[] = []
    for (let i = 0; i < head.length; i += step) parts.push(head.slice(i, i + step))
    parts.push(json.slice(cut))
    expect(parts.length).toBeGreaterThan(8)
    const narrow = render('shell', parts)
    expect(narrow.r.shellForm).toBeUndefined()
    expect(narrow.lines.join('\n')).toBe(`shell ${JSON.stringify(JSON.parse(json), null, 2)}`)
    const wide = render('shell', parts, { argsSubDeltas: 16 })
    expect(wide.lines).toEqual(['$ ls'])
  })

  it('switches at `["bash"` and waits past the window for the script (Codex token-sized deltas)', () => {
    const deltas = ['{', '"', 'comman', 'd":["', 'bash', '","', '-lc', '",', '"cd ', 'repo ', '&&', ' ', 'ls"]', '}']
    const { lines, backtracks } = render('shell', deltas)
    expect(lines).toEqual(['$ cd repo && ls'])
    expect(backtracks).toBe(1)
    // a shell argv whose script never comes is shown as the argv
    expect(render('shell', ['{"command":["bash"', ',"run.sh"]}']).lines).toEqual(['$ bash run.sh'])
    expect(render('shell', ['{"command":["bash"', ']}']).lines).toEqual(['$ bash'])
    // cut off while waiting for the script: what arrived stays, then the cut-off line
    const r = createToolCallRenderer()
    const ops = [...r.start({ name: 'shell' }), ...r.feed('{"command":["bash","-lc"'), ...r.end()]
    expect(screen(ops)).toEqual(['$ bash -lc', '✗ tool call cut off before its arguments completed'])
  })

  it('bounds the wait for the script: a long second element streams as argv', () => {
    const path = 'x'.repeat(20_000)
    const parts = ['{"command":["bash","', ...path.match(/.{1,1000}/g)!, '","arg"]}']
    const { lines, r } = render('shell', parts)
    expect(r.shellForm).toBe('argv')
    expect(lines).toEqual([`$ bash ${path} arg`])
    // it stops waiting (and re-scanning) after 16 KiB, long before the arguments end
    const live = createToolCallRenderer()
    live.start({ name: 'shell' })
    for (const p of parts.slice(0, 18)) live.feed(p)
    expect(live.mode).toBe('shell')
  })

  it('does not count empty deltas (Anthropic sends "" first)', () => {
    const parts = ['', '', '', '', '', '', '', '', '', '{"command":', '"ls"}']
    expect(render('Bash', parts).lines).toEqual(['$ ls'])
  })

  it('with preview: false shows nothing until settled and never backtracks', () => {
    const sh = render('shell', ['{"command":["bash",', '"-lc","ls', ' -la"]}'], { preview: false })
    expect(sh.ops).toEqual([
      { op: 'text', text: '$ ', style: 'command' },
      { op: 'text', text: 'ls', style: 'command' },
      { op: 'text', text: ' -la', style: 'command' },
      { op: 'newline' },
    ])
    const js = render('Read', ['{"file_path":', '"/a"}'], { preview: false })
    expect(js.backtracks).toBe(0)
    expect(js.lines).toEqual(['Read {', '  "file_path": "/a"', '}'])
  })

  it('rejects a window below 8', () => {
    expect(() => createToolCallRenderer({ argsSubDeltas: 4 })).toThrow(FlowFsmError)
    expect(() => createToolCallRenderer({ argsSubDeltas: 4 })).toThrow(/expected an integer >= 8/)
  })
})

describe('createToolCallRenderer: other calls', () => {
  const cases: Array<[string, unknown]> = [
    ['Read', { file_path: '/etc/hosts', limit: 20 }],
    ['git', { command: 'status' }], // `command` string of a non-shell tool is not a shell line
    ['Edit', { file_path: 'a.ts', old_string: 'x "y" \n z', new_string: '', replace_all: false, nested: { a: [1, 2, {}], b: [] } }],
    ['shell', { timeout_ms: 5 }],
  ]
  it('re-renders non-shell arguments as indented JSON for every chunking', () => {
    const rand = rng(11)
    for (const [name, args] of cases) {
      const json = JSON.stringify(args)
      for (let k = 0; k < 30; k++) {
        const exact = { createFormatter: () => new JsonStreamFormatter({ decodeStrings: false }) }
        const { lines, backtracks, r } = render(name, randomSplit(json, rand, 10), exact)
        expect(backtracks).toBe(1)
        expect(r.mode).toBe('ended')
        expect(lines.join('\n')).toBe(`${name} ${JSON.stringify(args, null, 2)}`)
      }
    }
  })

  it('shows string arguments decoded by default (real line breaks, quotes)', () => {
    const json = JSON.stringify({ file_path: 'a.ts', content: 'line "one"\nline two' })
    const { lines } = render('Write', [json.slice(0, 15), json.slice(15)])
    expect(lines).toEqual(['Write {', '  "file_path": "a.ts",', '  "content": "line "one"', 'line two"', '}'])
  })

  it('keeps the raw preview on one row and cut to previewChars', () => {
    const r = createToolCallRenderer({ previewChars: 10 })
    const ops = [...r.start({ name: 'Write' }), ...r.feed('{"content":"line1\nline2 and much more"')]
    expect(ops).toEqual([
      { op: 'text', text: 'Write ', style: 'tool' },
      { op: 'text', text: '{"content"', style: 'dim' },
      { op: 'text', text: '…', style: 'dim' },
      { op: 'backtrack' },
      { op: 'text', text: 'Write ', style: 'tool' },
      { op: 'text', text: '{', style: 'tool' },
      { op: 'newline' },
      { op: 'text', text: '  "content": "line1', style: 'tool' },
      { op: 'newline' },
      { op: 'text', text: 'line2 and much more"', style: 'tool' },
    ])
  })

  it('reports arguments that did not parse and calls cut off mid-arguments', () => {
    const bad = render('Read', ['{"file_path": "/x",', ' oops}'])
    expect(bad.lines.at(-1)).toMatch(/^✗ arguments did not parse: /)
    const r = createToolCallRenderer()
    const ops = [...r.start({ name: 'Bash' }), ...r.feed('{"command":"sleep 10'), ...r.start({ name: 'Read' })]
    expect(screen(ops)).toEqual(['$ sleep 10', '✗ tool call cut off before its arguments completed', 'Read '])
  })

  it('flags a command string that never closed although the call ended', () => {
    const { lines } = render('Bash', ['{"command":"echo hi'])
    expect(lines).toEqual(['$ echo hi', '✗ command text never closed', expect.stringMatching(/^✗ arguments did not parse/)])
  })

  it('uses the final arguments when no delta streamed (Responses .done only)', () => {
    const r = createToolCallRenderer()
    const ops = [...r.start({ name: 'exec_command' }), ...r.end({ arguments: '{"cmd":"ls"}' })]
    expect(screen(ops)).toEqual(['$ ls'])
  })

  it('renders custom tool input (apply_patch) as raw text lines', () => {
    const { lines } = render('apply_patch', ['*** Begin Patch\n*** Add File: a', '\n+x\n*** End Patch'], {}, 'custom')
    expect(lines.slice(0, 5)).toEqual(['apply_patch', '*** Begin Patch', '*** Add File: a', '+x', '*** End Patch'])
  })

  it('renders arguments that arrive without a start raw', () => {
    const r = createToolCallRenderer()
    expect(r.feed('{"a":1}')).toEqual([{ op: 'text', text: '{"a":1}', style: 'tool' }])
    expect(r.mode).toBe('raw')
  })
})
