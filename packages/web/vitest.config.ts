import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The browser and bin tests run the built page bundle and bin: build them first when stale
    // (turbo's `test` task only builds dependencies).
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The browser test polls the page for what a filter or a push shows: on a loaded CI machine a
    // search over the bodies can take more than expect.poll's 1 s default. The bound only limits a
    // hang; each poll still ends as soon as the page shows it.
    expect: { poll: { timeout: 10_000 } },
  },
})
