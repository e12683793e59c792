/**
 * The official SDKs through the proxy against the fake providers, each as a small agent loop
 * (scripts/*.mjs): @anthropic-ai/sdk `messages.stream` with thinking and a tool, openai
 * `responses.stream` and `chat.completions.stream` with a tool. HTTP 429 then 529 / 503 first:
 * the SDKs retry.
 */
import { join } from 'node:path'
import { expect } from 'vitest'
import { ensureAgents, runNodeScript, type RunResult } from '../src/agents.js'
import type { Answer } from '../src/streams.js'
import { clientSuite } from './harness.js'

await ensureAgents()

const script = (name: string): string => join(import.meta.dirname, '..', 'scripts', name)

interface ScriptResult {
  toolInputs: Array<Record<string, unknown>>
  texts: string[]
  thinking: string[]
  usage: Array<Record<string, unknown>>
  stopReasons: string[]
}

function parsed(r: RunResult): ScriptResult {
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (!line) throw new Error(`no RESULT line:\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(line.slice(7)) as ScriptResult
}

/** The SDK decoded the tool arguments cut inside escapes back into exactly what was sent. */
function sameToolInput(r: RunResult, tool: Answer): void {
  const out = parsed(r)
  expect(out.toolInputs).toEqual(tool.toolCalls.map((c) => JSON.parse(c.arguments) as unknown))
  expect(out.toolInputs[0]?.['command']).toBe('ls -la /tmp')
}

clientSuite({
  name: '@anthropic-ai/sdk messages.stream (thinking, tools)',
  tag: 'e2etag_sdk_anthropic',
  api: 'anthropic',
  client: 'unknown',
  provider: 'anthropic',
  concurrent: true,
  errors: [429, 529],
  run: ({ proxy, prompt, keys }) => runNodeScript(script('anthropic-stream.mjs'), { args: [prompt], env: { ...proxy.env, ANTHROPIC_API_KEY: keys.anthropic } }),
  checkOutput: (r, { tool, final }) => {
    sameToolInput(r, tool)
    const out = parsed(r)
    expect(out.thinking).toEqual([tool.thinking])
    expect(out.texts).toEqual([tool.text, final.text])
    expect(out.stopReasons).toEqual(['tool_use', 'end_turn'])
    expect(out.usage.map((u) => u['output_tokens'])).toEqual([tool.usage.output, final.usage.output])
    expect(out.usage.map((u) => u['cache_read_input_tokens'])).toEqual([tool.usage.cacheRead, final.usage.cacheRead])
  },
})

clientSuite({
  name: 'openai responses.stream (reasoning, tools)',
  tag: 'e2etag_sdk_responses',
  api: 'responses',
  client: 'unknown',
  provider: 'openai',
  concurrent: true,
  errors: [429, 503],
  run: ({ proxy, prompt, keys }) => runNodeScript(script('openai-responses.mjs'), { args: [prompt], env: { ...proxy.env, OPENAI_API_KEY: keys.openai } }),
  checkOutput: (r, { tool, final }) => {
    sameToolInput(r, tool)
    const out = parsed(r)
    expect(out.thinking).toEqual([tool.thinking])
    expect(out.texts).toEqual([tool.text, final.text])
    expect(out.usage.map((u) => u['output_tokens'])).toEqual([tool.usage.output, final.usage.output])
    expect(out.usage.map((u) => (u['input_tokens_details'] as Record<string, number>)['cached_tokens'])).toEqual([tool.usage.cacheRead, final.usage.cacheRead])
  },
})

clientSuite({
  name: 'openai chat.completions.stream (tools)',
  tag: 'e2etag_sdk_chat',
  api: 'chat',
  client: 'unknown',
  provider: 'openai',
  concurrent: true,
  errors: [429, 503],
  run: ({ proxy, prompt, keys }) => runNodeScript(script('openai-chat.mjs'), { args: [prompt], env: { ...proxy.env, OPENAI_API_KEY: keys.openai } }),
  checkOutput: (r, { tool, final }) => {
    sameToolInput(r, tool)
    const out = parsed(r)
    expect(out.texts).toEqual([final.text])
    expect(out.stopReasons).toEqual(['tool_calls', 'stop'])
    expect(out.usage.map((u) => u['completion_tokens'])).toEqual([tool.usage.output, final.usage.output])
  },
})
