#!/usr/bin/env node
import { main } from './index.js'

// Exit at once: no environment teardown, and an index opened read-only is released by the exit
// instead of DuckDB's close (main has flushed stdout and stderr).
process.exit(await main(process.argv.slice(2)))
