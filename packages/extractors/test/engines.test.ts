import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createExtractor } from '../src/index.js'

const DIR = join(import.meta.dirname, 'fixtures', 'basic')

it('--engine rg without rg on PATH is a clear ENGINE_UNAVAILABLE error; auto quietly uses DuckDB', async () => {
  const path = process.env.PATH
  process.env.PATH = '/nonexistent-agenttap'
  try {
    const x = await createExtractor({ logDir: DIR, threads: 1, rgAutoBytes: 0 })
    try {
      await expect(x.run('usage', { engine: 'rg' })).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE', message: expect.stringMatching(/needs ripgrep \(`rg`\) on PATH/) })
      const auto = await x.run('usage')
      expect(auto.engine).toBe('duckdb')
      expect(auto.rows).toHaveLength(7)
    } finally {
      x.close()
    }
  } finally {
    process.env.PATH = path
  }
})

it('auto picks rg for selective modes once the lines pass rgAutoBytes (rg on PATH)', async () => {
  const x = await createExtractor({ logDir: DIR, threads: 1, rgAutoBytes: 0 })
  try {
    expect((await x.run('usage')).engine).toBe('rg')
    expect((await x.run('tool_calls')).engine).toBe('duckdb')
    expect((await x.run('user_prompts', { limit: 1 })).engine).toBe('reverse')
    expect((await x.run('user_prompts')).engine).toBe('duckdb')
  } finally {
    x.close()
  }
})
