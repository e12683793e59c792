#!/usr/bin/env node
import { quickLine } from './quick.js'

// A plain `prompts -n N`, `usage`, `cost`, `sessions`, `tool_calls` line, or `daily` / `usage` /
// `cost --source transcripts`, first (quick.ts):
// answered without loading the rest of the CLI, or handed on.
const argv = process.argv.slice(2)
const quick = await quickLine(argv, process.env)

// Exit at once: no environment teardown, and an index opened read-only is released by the exit
// instead of DuckDB's close (main has flushed stdout and stderr).
process.exit(quick ?? (await (await import('./index.js')).main(argv)))
