import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The browser and bin tests run the built page bundle and bin: build them first when stale
    // (turbo's `test` task only builds dependencies).
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
