import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real agents through a real proxy; the first run installs them (about half a minute).
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // One suite file at a time: each starts its own proxy and agents, on 2 cores.
    fileParallelism: false,
  },
})
