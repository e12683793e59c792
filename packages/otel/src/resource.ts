import type { InstrumentationScope } from '@opentelemetry/core'
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources'

/** This package's version, the instrumentation scope's version. */
export const OTEL_PACKAGE_VERSION = '0.0.0'

/** The instrumentation scope of every span and metric this package makes. */
export const SCOPE: InstrumentationScope = { name: '@agenttap/otel', version: OTEL_PACKAGE_VERSION }

let cached: Resource | undefined

/** `service.name=agenttap` (plus `telemetry.sdk.*`), the resource of the spans and metrics unless one is given. */
export function defaultResource(): Resource {
  cached ??= resourceFromAttributes({
    'service.name': 'agenttap',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'opentelemetry',
  })
  return cached
}
