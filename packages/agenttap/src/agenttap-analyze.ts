#!/usr/bin/env node
import { main } from '@agenttap/analyze'

process.exitCode = await main(process.argv.slice(2))
