import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    setupFiles: ['./test/setup.ts'],
    // Real TLS handshakes through the proxy on a shared 2-core machine: a test waits for its
    // signal, and this only bounds a hang.
    testTimeout: 30_000,
  },
})
