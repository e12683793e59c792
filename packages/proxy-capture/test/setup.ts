// Runs in every test file before its own hooks: after hooks run in reverse order, so the
// directories go last, once the file's proxies and upstreams are stopped.
import { afterAll } from 'vitest'
import { removeTempDirs } from './helpers.js'

afterAll(removeTempDirs)
