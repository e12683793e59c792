import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The live export starts a thread that loads the OpenTelemetry SDK (a second or two on a
    // loaded 2-core machine): a test waits for its signal, and this only bounds a hang.
    testTimeout: 20_000,
  },
})
