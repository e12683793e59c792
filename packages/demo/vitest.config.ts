import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real TLS through the proxy on a shared 2-core machine: this only bounds a hang.
    testTimeout: 60_000,
  },
})
