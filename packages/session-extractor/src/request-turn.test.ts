import { describe, expect, it } from 'vitest'
import { requestTurn, userWords } from './request-turn.js'

const user = (content: unknown) => ({ role: 'user', content })

describe('requestTurn: Anthropic Messages', () => {
  it('Claude Code 2.1.x: the prompt is the last user message, before the trailing system entry, without its system-reminder', () => {
    const body = {
      messages: [
        user([{ type: 'text', text: '<system-reminder>\nAs you answer, use this context.\n</system-reminder>' }, { type: 'text', text: 'Why does the parser drop CRLF?' }]),
        { role: 'system', content: [{ type: 'text', text: '<available-deferred-tools>\nmcp__github__search\n</available-deferred-tools>' }] },
      ],
    }
    expect(requestTurn(body)).toEqual({ prompt: 'Why does the parser drop CRLF?', tool_results: [] })
  })

  it('a tool_result-only message carries no prompt; results are named from the history, errors and exit codes kept', () => {
    const body = {
      messages: [
        user('Run the tests'),
        { role: 'assistant', content: [{ type: 'text', text: 'Running.' }, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'npm test' } }, { type: 'tool_use', id: 'toolu_2', name: 'Read', input: { file_path: '/a' } }] },
        user([
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Exit code 1\nFAIL parse.test.ts', is_error: true },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'line 1' }, { type: 'image', source: {} }] },
          { type: 'text', text: '<system-reminder>todo list is empty</system-reminder>' },
        ]),
      ],
    }
    expect(requestTurn(body)).toEqual({
      tool_results: [
        { call_id: 'toolu_1', name: 'Bash', output: 'Exit code 1\nFAIL parse.test.ts', is_error: true, exit_code: 1 },
        { call_id: 'toolu_2', name: 'Read', output: 'line 1\n[image]', is_error: false },
      ],
    })
  })

  it('several user messages after the last assistant message are one turn: every result, the last words as the prompt', () => {
    // (The API takes consecutive user messages; an SDK script may send a tool's result and the next prompt as messages of their own.)
    const body = {
      messages: [
        user('List the files'),
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_a', name: 'Bash', input: { command: 'ls' } }, { type: 'tool_use', id: 'toolu_b', name: 'Glob', input: { pattern: '*' } }] },
        user([{ type: 'tool_result', tool_use_id: 'toolu_a', content: 'a.ts\nb.ts' }]),
        user([{ type: 'tool_result', tool_use_id: 'toolu_b', content: 'Exit code 2', is_error: false }]),
        user([{ type: 'text', text: 'Now count their lines' }]),
        user([{ type: 'text', text: '<system-reminder>todo list is empty</system-reminder>' }]),
        { role: 'system', content: [{ type: 'text', text: '<available-deferred-tools>\nNotebookEdit\n</available-deferred-tools>' }] },
      ],
    }
    expect(requestTurn(body)).toEqual({
      prompt: 'Now count their lines',
      tool_results: [
        { call_id: 'toolu_a', name: 'Bash', output: 'a.ts\nb.ts', is_error: false },
        { call_id: 'toolu_b', name: 'Glob', output: 'Exit code 2', is_error: true, exit_code: 2 },
      ],
    })
    // A result before the last assistant message is an earlier turn's.
    const later = { messages: [...body.messages.slice(0, 5), { role: 'assistant', content: [{ type: 'text', text: '12 lines' }] }, user('thanks')] }
    expect(requestTurn(later)).toEqual({ prompt: 'thanks', tool_results: [] })
  })

  it('a user interjection next to tool results is the prompt', () => {
    const body = { messages: [user('a'), { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'Bash', input: {} }] }, user([{ type: 'tool_result', tool_use_id: 't', content: 'ok' }, { type: 'text', text: 'stop, use pnpm' }])] }
    expect(requestTurn(body).prompt).toBe('stop, use pnpm')
  })

  it('no prompt when the last entry is the assistant (prefill) or the body has no messages', () => {
    expect(requestTurn({ messages: [user('a'), { role: 'assistant', content: 'Sure' }] })).toEqual({ tool_results: [] })
    expect(requestTurn({ model: 'x' })).toEqual({ tool_results: [] })
    expect(requestTurn(undefined)).toEqual({ tool_results: [] })
    expect(requestTurn('junk')).toEqual({ tool_results: [] })
  })
})

describe('requestTurn: OpenAI Responses', () => {
  it('a string input is the prompt; wrapper messages are skipped', () => {
    expect(requestTurn({ input: 'hello' })).toEqual({ prompt: 'hello', tool_results: [] })
    const body = {
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions instructions>…' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: '# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>be nice</INSTRUCTIONS>' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Fix the failing test' }] },
      ],
    }
    expect(requestTurn(body)).toEqual({ prompt: 'Fix the failing test', tool_results: [] })
  })

  it('a tool continuation carries results, no prompt: Codex wrappers unwrapped, names from the history', () => {
    const body = {
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Fix it' }] },
        { type: 'reasoning', summary: [] },
        { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'exec_command', arguments: '{}' },
        { type: 'custom_tool_call', call_id: 'c3', name: 'apply_patch', input: '*** Begin Patch' },
        { type: 'local_shell_call', call_id: 'c4', action: { type: 'exec', command: ['ls'] } },
        { type: 'function_call_output', call_id: 'c1', output: JSON.stringify({ output: 'FAIL\n', metadata: { exit_code: 1, duration_seconds: 1.9 } }) },
        { type: 'function_call_output', call_id: 'c2', output: 'Chunk ID: 1\nWall time: 0.0 seconds\nProcess exited with code 0\nOutput:\nexport x\n' },
        { type: 'custom_tool_call_output', call_id: 'c3', output: 'Success.' },
        { type: 'local_shell_call_output', call_id: 'c4', output: 'a.ts' },
        { type: 'function_call_output', call_id: 'c9', output: [{ type: 'input_text', text: 'from an array' }] },
      ],
    }
    expect(requestTurn(body)).toEqual({
      tool_results: [
        { call_id: 'c1', name: 'shell', output: 'FAIL\n', is_error: true, exit_code: 1 },
        { call_id: 'c2', name: 'exec_command', output: 'export x\n', is_error: false, exit_code: 0 },
        { call_id: 'c3', name: 'apply_patch', output: 'Success.', is_error: false },
        { call_id: 'c4', name: 'local_shell', output: 'a.ts', is_error: false },
        { call_id: 'c9', output: 'from an array', is_error: false },
      ],
    })
  })

  it('a WebSocket response.create frame is read as its request (flat or nested)', () => {
    const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }]
    expect(requestTurn({ type: 'response.create', model: 'gpt-5', input }).prompt).toBe('hi')
    expect(requestTurn({ type: 'response.create', response: { input } }).prompt).toBe('hi')
  })
})

describe('requestTurn: Chat Completions', () => {
  it('tool messages after the last assistant message, named from its tool_calls; a user message is the prompt', () => {
    const body = {
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_a', content: '18°C' },
      ],
    }
    expect(requestTurn(body)).toEqual({ tool_results: [{ call_id: 'call_a', name: 'get_weather', output: '18°C', is_error: false }] })
    expect(requestTurn({ messages: [{ role: 'system', content: 'x' }, { role: 'user', content: [{ type: 'text', text: 'Hi there' }] }] }, 'openai-chat').prompt).toBe('Hi there')
  })
})

describe('caps and wrappers', () => {
  it('keeps at most maxToolResults results and maxChars characters, saying what was cut', () => {
    const results = Array.from({ length: 5 }, (_, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content: 'x'.repeat(50) }))
    const t = requestTurn({ messages: [user(results)] }, 'anthropic-messages', { maxToolResults: 2, maxChars: 10 })
    expect(t.tool_results).toHaveLength(2)
    expect(t.tool_results[0]?.output).toBe(`${'x'.repeat(10)}\n[agenttap: 40 more characters not kept]`)
  })

  it('userWords strips leading and trailing wrapper elements and keeps the words between', () => {
    expect(userWords('<system-reminder>a</system-reminder>\n\nDo it\n<system-reminder>b</system-reminder>')).toBe('Do it')
    expect(userWords('<environment_context><cwd>/x</cwd></environment_context>')).toBe('')
    expect(userWords('Explain <system-reminder> usage in prompts')).toBe('Explain <system-reminder> usage in prompts')
    expect(userWords('<command-name>/review</command-name>')).toBe('<command-name>/review</command-name>')
  })
})

describe('prompt: false', () => {
  it('gives the same tool results and no prompt, for each of the three APIs', () => {
    const anthropic = { messages: [user('a'), { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'Bash', input: {} }] }, user([{ type: 'tool_result', tool_use_id: 't', content: 'ok' }, { type: 'text', text: 'stop, use pnpm' }])] }
    const responses = {
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list files' }] },
        { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: '{"output":"a\\nb","metadata":{"exit_code":2}}' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'and the hidden ones' }] },
      ],
    }
    const chat = { messages: [{ role: 'user', content: 'go' }, { role: 'assistant', tool_calls: [{ id: 'k', type: 'function', function: { name: 'ls', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'k', content: 'x' }, { role: 'user', content: 'more' }] }
    for (const body of [anthropic, responses, chat, { input: 'just words' }]) {
      const full = requestTurn(body)
      expect(full.prompt).toBeDefined()
      expect(requestTurn(body, undefined, { prompt: false })).toEqual({ tool_results: full.tool_results })
    }
    expect(requestTurn(responses, undefined, { prompt: false }).tool_results).toEqual([{ call_id: 'c1', name: 'shell', output: 'a\nb', is_error: true, exit_code: 2 }])
  })
})
