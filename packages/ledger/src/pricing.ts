import { LedgerError } from './errors.js'

/**
 * Model prices: what a call's tokens cost. The ledger holds the table so every reader of calls
 * (analyze's cost and cache modes, cache insights, the live alerts) prices a token the same way.
 */

/** Prices of one model family, USD per million tokens. */
export interface ModelPrice {
  input: number
  output: number
  cache_read: number
  /** 5-minute cache writes (Anthropic: 1.25× input). */
  cache_write: number
  /** 1-hour cache writes (Anthropic: 2× input). @defaultValue 2 × input */
  cache_write_1h?: number
}

/** A versioned price table. `models` keys are model id prefixes; the longest matching prefix wins. */
export interface PriceTable {
  version: string
  currency: 'USD'
  models: Record<string, ModelPrice>
}

/**
 * The bundled price table (USD per million tokens, list prices of the public APIs). Keys are
 * model id prefixes: the longest prefix that matches a model id wins, so dated snapshots
 * (`claude-sonnet-4-5-20250929`) find their family. Anthropic cache writes are the 5-minute
 * write price (1.25× input); 1-hour cache writes cost 2× input unless an entry sets
 * `cache_write_1h`; OpenAI has no cache-write charge. Override with `--prices <file>`.
 */
export const BUNDLED_PRICES: PriceTable = {
  version: 'agenttap-prices-2025-11-20',
  currency: 'USD',
  models: {
    'claude-opus-4-5': { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 },
    'claude-opus-4-1': { input: 15, output: 75, cache_read: 1.5, cache_write: 18.75 },
    'claude-opus-4': { input: 15, output: 75, cache_read: 1.5, cache_write: 18.75 },
    'claude-sonnet-4-5': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
    'claude-sonnet-4': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
    'claude-3-7-sonnet': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
    'claude-haiku-4-5': { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25 },
    'claude-3-5-haiku': { input: 0.8, output: 4, cache_read: 0.08, cache_write: 1 },
    'gpt-5.1-codex-mini': { input: 0.25, output: 2, cache_read: 0.025, cache_write: 0 },
    'gpt-5.1-codex-max': { input: 1.25, output: 10, cache_read: 0.125, cache_write: 0 },
    'gpt-5.1-codex': { input: 1.25, output: 10, cache_read: 0.125, cache_write: 0 },
    'gpt-5.1': { input: 1.25, output: 10, cache_read: 0.125, cache_write: 0 },
    'gpt-5-codex-mini': { input: 0.25, output: 2, cache_read: 0.025, cache_write: 0 },
    'gpt-5-codex': { input: 1.25, output: 10, cache_read: 0.125, cache_write: 0 },
    'gpt-5-pro': { input: 15, output: 120, cache_read: 15, cache_write: 0 },
    'gpt-5-mini': { input: 0.25, output: 2, cache_read: 0.025, cache_write: 0 },
    'gpt-5-nano': { input: 0.05, output: 0.4, cache_read: 0.005, cache_write: 0 },
    'gpt-5': { input: 1.25, output: 10, cache_read: 0.125, cache_write: 0 },
    'codex-mini-latest': { input: 1.5, output: 6, cache_read: 0.375, cache_write: 0 },
  },
}

/**
 * Checks a user-supplied price table (`--prices <file>`, parsed JSON) and returns it typed.
 * @throws LedgerError `BAD_PRICES` naming the first bad field.
 */
export function parsePriceTable(value: unknown, source = 'price table'): PriceTable {
  const fail = (what: string): never => {
    throw new LedgerError('BAD_PRICES', `${source}: ${what}. Expected {"version": "…", "models": {"<model prefix>": {"input": n, "output": n, "cache_read": n, "cache_write": n, "cache_write_1h": n}}} in USD per million tokens (cache_write_1h optional: 2 × input).`)
  }
  if (typeof value !== 'object' || value === null) return fail('not a JSON object')
  const v = value as Record<string, unknown>
  if (typeof v.version !== 'string' || v.version === '') return fail('missing "version" string')
  if (typeof v.models !== 'object' || v.models === null) return fail('missing "models" object')
  const models: Record<string, ModelPrice> = {}
  for (const [k, p] of Object.entries(v.models as Record<string, unknown>)) {
    if (typeof p !== 'object' || p === null) return fail(`models["${k}"] is not an object`)
    const q = p as Record<string, unknown>
    const num = (f: string, dflt?: number): number => {
      const x = q[f] ?? dflt
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) return fail(`models["${k}"].${f} must be a non-negative number`)
      return x
    }
    const input = num('input')
    models[k] = { input, output: num('output'), cache_read: num('cache_read', input), cache_write: num('cache_write', input), cache_write_1h: num('cache_write_1h', input * 2) }
  }
  return { version: v.version, currency: 'USD', models }
}

/** The 1-hour cache write price of an entry: its own `cache_write_1h`, else 2 × input. */
export const cacheWrite1h = (p: ModelPrice): number => p.cache_write_1h ?? p.input * 2

/** The price entry for a model id (longest matching prefix), or undefined. */
export function priceFor(table: PriceTable, model: string | null | undefined): { key: string; price: ModelPrice } | undefined {
  if (!model) return undefined
  const id = model.toLowerCase()
  let best: string | undefined
  for (const k of Object.keys(table.models)) {
    if (id.startsWith(k.toLowerCase()) && (best === undefined || k.length > best.length)) best = k
  }
  return best === undefined ? undefined : { key: best, price: table.models[best]! }
}
