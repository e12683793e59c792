#!/usr/bin/env node
import { runWebCli } from './cli.js'

process.exitCode = await runWebCli(process.argv.slice(2))
