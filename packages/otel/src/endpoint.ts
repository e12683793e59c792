import { OtelError } from './errors.js'

/** The signal URLs of an OTLP/HTTP base endpoint (`http://host:4318` → `…/v1/traces`, `…/v1/metrics`). */
export function signalUrls(endpoint: string): { traces: string; metrics: string; logs: string } {
  let u: URL
  try {
    u = new URL(endpoint)
  } catch {
    throw new OtelError('INVALID_OPTION', `expected an OTLP/HTTP endpoint URL such as http://127.0.0.1:4318, received ${JSON.stringify(endpoint)}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OtelError('INVALID_OPTION', `expected an http:// or https:// OTLP endpoint, received ${JSON.stringify(endpoint)}`)
  const base = u.href.replace(/\/v1\/(traces|metrics|logs)\/?$/, '').replace(/\/+$/, '')
  return { traces: `${base}/v1/traces`, metrics: `${base}/v1/metrics`, logs: `${base}/v1/logs` }
}
