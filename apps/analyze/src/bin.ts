#!/usr/bin/env node
// `prompts -n N` first (quick.ts): answered without loading the rest of the CLI, or handed on.
const argv = process.argv.slice(2)
const quick = argv[0] === 'prompts' || argv[0] === 'user_prompts' || argv[0] === 'user-prompts' ? await (await import('./quick.js')).quickPrompts(argv, process.env) : undefined

// Exit at once: no environment teardown, and an index opened read-only is released by the exit
// instead of DuckDB's close (main has flushed stdout and stderr).
process.exit(quick ?? (await (await import('./index.js')).main(argv)))
