import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Removes the temp dirs (captures, CAs, upstream certs) each test file made.
    setupFiles: ['./test/setup.ts'],
    // Real TLS handshakes by the dozen on a shared 2-core machine: a test waits for its signal,
    // and this only bounds a hang.
    testTimeout: 20_000,
  },
})
