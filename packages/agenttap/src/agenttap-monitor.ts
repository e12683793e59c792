#!/usr/bin/env node
import { main } from '@agenttap/monitor'

process.exitCode = await main(process.argv.slice(2))
