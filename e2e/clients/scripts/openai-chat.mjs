// openai: chat.completions.stream with a bash function tool (usage in the last chunk), as an agent loop.
import { load, proxiedFetch, report, runShell } from './common.mjs'

const { default: OpenAI } = await load('openai')
const { fetch } = await proxiedFetch()
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, fetch, maxRetries: 3 })
const tools = [{ type: 'function', function: { name: 'bash', description: 'Run a shell command', parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } } }]
const messages = [{ role: 'user', content: process.argv[2] }]
const result = { toolInputs: [], texts: [], thinking: [], usage: [], stopReasons: [] }
for (let turn = 0; turn < 4; turn++) {
  const stream = client.chat.completions.stream({ model: 'gpt-5.1', messages, tools, stream_options: { include_usage: true } })
  stream.on('content', (d) => process.stdout.write(d))
  const done = await stream.finalChatCompletion()
  process.stdout.write('\n')
  const choice = done.choices[0]
  result.usage.push(done.usage)
  result.stopReasons.push(choice.finish_reason)
  if (choice.message.content) result.texts.push(choice.message.content)
  messages.push(choice.message)
  const calls = choice.message.tool_calls ?? []
  if (calls.length === 0) break
  for (const c of calls) {
    const args = JSON.parse(c.function.arguments)
    result.toolInputs.push(args)
    messages.push({ role: 'tool', tool_call_id: c.id, content: runShell(args.command) })
  }
}
report(result)
