import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Removes the temp dirs (captures, CAs, upstream certs) each test file made.
    setupFiles: ['./test/setup.ts'],
  },
})
