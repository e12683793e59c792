// @anthropic-ai/sdk: messages.stream with thinking and a bash tool, as an agent loop.
import { load, proxiedFetch, report, runShell } from './common.mjs'

const { default: Anthropic } = await load('@anthropic-ai/sdk')
const { fetch } = await proxiedFetch()
const client = new Anthropic({ apiKey: process.env.ANTHROPIC_API_KEY, fetch, maxRetries: 3 })
const tools = [{ name: 'bash', description: 'Run a shell command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } }]
const messages = [{ role: 'user', content: process.argv[2] }]
const result = { toolInputs: [], texts: [], thinking: [], usage: [], stopReasons: [] }
for (let turn = 0; turn < 4; turn++) {
  const stream = client.messages.stream({ model: 'claude-opus-4-5', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, tools, messages })
  stream.on('text', (t) => process.stdout.write(t))
  const msg = await stream.finalMessage()
  process.stdout.write('\n')
  result.usage.push(msg.usage)
  result.stopReasons.push(msg.stop_reason)
  for (const b of msg.content) {
    if (b.type === 'text') result.texts.push(b.text)
    if (b.type === 'thinking') result.thinking.push(b.thinking)
  }
  messages.push({ role: 'assistant', content: msg.content })
  const uses = msg.content.filter((b) => b.type === 'tool_use')
  if (uses.length === 0) break
  const results = []
  for (const u of uses) {
    result.toolInputs.push(u.input)
    results.push({ type: 'tool_result', tool_use_id: u.id, content: runShell(u.input.command) })
  }
  messages.push({ role: 'user', content: results })
}
report(result)
