import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Index tests open DuckDB and read captures several times per test: slower than the 5 s
    // default on a loaded 2-core machine. They wait for results, never for time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
