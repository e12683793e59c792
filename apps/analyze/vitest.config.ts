import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Each test runs the CLI (often as a process) over a capture and builds its index: slower
    // than the 5 s default on a loaded 2-core machine. Tests wait for results, never for time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
