import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Each test starts the built bin (and the CLI it runs) as a process: slower than 5 s on a loaded 2-core machine.
    testTimeout: 60_000,
  },
})
