#!/usr/bin/env node
import { main } from '@agenttap/proxy'

process.exitCode = await main(process.argv.slice(2))
