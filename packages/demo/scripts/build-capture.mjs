#!/usr/bin/env node
// Builds the demo capture shipped in this package (capture/demo.jsonl) from the repo's fixtures:
// a Claude Code turn with a tool call (two requests), a Codex turn over a WebSocket (three
// responses on one connection), an overloaded error inside a 200 stream and an HTTP 429.
//   node scripts/build-capture.mjs   (deterministic; run after `pnpm fixtures` changes them)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const fixtures = join(here, '../../../fixtures')
const pick = [
  ['claude-code-turn.jsonl', null],
  ['codex-websocket.jsonl', null],
  ['api-error-in-200.jsonl', 'err-anthropic-1'],
  ['http-errors.jsonl', 'err-http-429'],
]
const out = []
for (const [file, flow] of pick) {
  for (const line of readFileSync(join(fixtures, file), 'utf8').split('\n')) {
    if (line === '') continue
    const r = JSON.parse(line)
    if (flow === null || r.flow_id === flow) out.push(line)
  }
}
writeFileSync(join(here, '../capture/demo.jsonl'), out.join('\n') + '\n')
console.log(`capture/demo.jsonl: ${out.length} records`)
