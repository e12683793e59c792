import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // One suite drives a thousand flows through a real proxy: minutes on a loaded machine at worst.
    testTimeout: 240_000,
    hookTimeout: 60_000,
  },
})
