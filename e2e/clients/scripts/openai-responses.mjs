// openai: responses.stream with reasoning and a bash function tool, as an agent loop.
import { load, proxiedFetch, report, runShell } from './common.mjs'

const { default: OpenAI } = await load('openai')
const { fetch } = await proxiedFetch()
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, fetch, maxRetries: 3 })
const tools = [{ type: 'function', name: 'bash', description: 'Run a shell command', strict: false, parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } }]
let input = [{ role: 'user', content: process.argv[2] }]
const result = { toolInputs: [], texts: [], thinking: [], usage: [], stopReasons: [] }
for (let turn = 0; turn < 4; turn++) {
  const stream = client.responses.stream({ model: 'gpt-5.1', input, tools, reasoning: { effort: 'low', summary: 'auto' } })
  stream.on('response.output_text.delta', (e) => process.stdout.write(e.delta))
  const res = await stream.finalResponse()
  process.stdout.write('\n')
  result.usage.push(res.usage)
  result.stopReasons.push(res.status)
  for (const item of res.output) {
    if (item.type === 'reasoning') result.thinking.push(item.summary.map((s) => s.text).join(''))
    if (item.type === 'message') result.texts.push(item.content.filter((p) => p.type === 'output_text').map((p) => p.text).join(''))
  }
  input = [...input, ...res.output]
  const calls = res.output.filter((i) => i.type === 'function_call')
  if (calls.length === 0) break
  for (const c of calls) {
    const args = JSON.parse(c.arguments)
    result.toolInputs.push(args)
    input.push({ type: 'function_call_output', call_id: c.call_id, output: runShell(args.command) })
  }
}
report(result)
