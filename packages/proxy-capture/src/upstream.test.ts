import { describe, expect, it } from 'vitest'
import { ensureCa } from './ca.js'
import { createUpstream } from './upstream.js'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const make = (upstreamCa: string | string[]) => createUpstream({ upstreamCa, self: () => undefined, sockets: new Set() })

describe('upstream CA option', () => {
  it('refuses what is not a PEM certificate before anything listens', () => {
    expect(() => make('garbage\n')).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/no PEM certificate/) }))
    expect(() => make('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(/certificate 1 of 1 does not parse/) }))
  })
  it('accepts a real certificate', () => {
    const ca = ensureCa(join(mkdtempSync(join(tmpdir(), 'upstream-ca-')), 'ca'))
    expect(() => make(ca.certPem)).not.toThrow()
    expect(() => make([ca.certPem, ca.certPem])).not.toThrow()
  })
})
