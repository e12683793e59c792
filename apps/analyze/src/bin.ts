#!/usr/bin/env node
// A plain `prompts -n N`, `usage`, `cost`, `sessions` or `tool_calls` line first (quick.ts):
// answered without loading the rest of the CLI, or handed on.
const argv = process.argv.slice(2)
const QUICK = ['prompts', 'user_prompts', 'user-prompts', 'usage', 'cost', 'sessions', 'tool_calls', 'tool-calls']
const quick = QUICK.includes(argv[0] ?? '') ? await (await import('./quick.js')).quickLine(argv, process.env) : undefined

// Exit at once: no environment teardown, and an index opened read-only is released by the exit
// instead of DuckDB's close (main has flushed stdout and stderr).
process.exit(quick ?? (await (await import('./index.js')).main(argv)))
