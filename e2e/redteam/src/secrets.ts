/**
 * Realistic secrets, generated from a seeded PRNG. Each has the text that is placed in traffic
 * and its `material`: the random parts that must never be found on disk or in Redis (a vendor
 * prefix or a PEM armor line is no secret and is left out).
 */
import { prng } from '../../../test-support/prng.js'

export interface Secret {
  /** What kind of secret it is (printed in the per-kind table). */
  type: string
  /** The secret as it appears in traffic (`sk-ant-api03-…`, a whole PEM block, …). */
  value: string
  /** Random strings inside `value`; any 10-char window of one found on disk is a leak. */
  material: string[]
}

export type Rng = ReturnType<typeof createRng>

export function createRng(seed: number) {
  const next = prng(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1))
  return {
    next,
    int,
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)] as T
    },
    chars(alphabet: string, n: number): string {
      let s = ''
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)]
      return s
    },
  }
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const DIGITS = '0123456789'
const B62 = UPPER + LOWER + DIGITS
const B64URL = `${B62}-_`
const B64 = `${B62}+/`
const HEX = '0123456789abcdef'
/** Symbols people put in passwords; none that JSON escapes (`"`, `\`), none that ends a word. */
const PW_SYMBOLS = '!@#%^*-_+=.~:?/'
/** The alphabet of Django's get_random_secret_key(). */
const DJANGO = `${LOWER}${DIGITS}!@#$%^&*(-_=+)`

/** Random generated material: always a letter and a digit, like every real credential. */
function material(r: Rng, alphabet: string, n: number): string {
  const s = r.chars(alphabet, n - 2)
  const at = r.int(0, s.length)
  return `${s.slice(0, at)}${r.chars(LOWER, 1)}${r.chars(DIGITS, 1)}${s.slice(at)}`
}

/** A strong password: letters, digits and symbols, not starting with a symbol. */
export function password(r: Rng, n = r.int(12, 20)): string {
  return `${r.chars(UPPER, 1)}${material(r, `${B62}${PW_SYMBOLS}`, n - 2)}${r.chars(PW_SYMBOLS.slice(0, 6), 1)}`
}

function b64Lines(r: Rng, lines: number, width: number, first = 'MII'): string[] {
  const out: string[] = []
  for (let i = 0; i < lines; i++) out.push(i === 0 ? `${first}${material(r, B64, width - first.length)}` : material(r, B64, width))
  return out
}

export const SECRETS: Record<string, (r: Rng) => Secret> = {
  'anthropic-key': (r) => {
    const m = `${material(r, B64URL, 93)}AA`
    return { type: 'anthropic-key', value: `sk-ant-api03-${m}`, material: [m] }
  },
  'anthropic-oauth': (r) => {
    const m = material(r, B64URL, 95)
    return { type: 'anthropic-oauth', value: `sk-ant-oat01-${m}`, material: [m] }
  },
  'openai-key': (r) => {
    const m = material(r, B64URL, r.int(48, 156))
    return { type: 'openai-key', value: `sk-proj-${m}`, material: [m] }
  },
  'github-pat': (r) => {
    const m = r.next() < 0.5 ? material(r, B62, 36) : material(r, `${B62}_`, 82)
    return { type: 'github-pat', value: m.length === 36 ? `ghp_${m}` : `github_pat_${m}`, material: [m] }
  },
  'slack-token': (r) => {
    const m = `${r.chars(DIGITS, 12)}-${r.chars(DIGITS, 13)}-${material(r, B62, 24)}`
    return { type: 'slack-token', value: `xoxb-${m}`, material: [m] }
  },
  'google-key': (r) => {
    const m = material(r, B64URL, 35)
    return { type: 'google-key', value: `AIza${m}`, material: [m] }
  },
  'stripe-key': (r) => {
    const m = material(r, B62, 32)
    return { type: 'stripe-key', value: `sk_live_${m}`, material: [m] }
  },
  'aws-access-key': (r) => {
    const m = r.chars(`${UPPER}${DIGITS}`, 16)
    return { type: 'aws-access-key', value: `AKIA${m}`, material: [m] }
  },
  jwt: (r) => {
    const seg = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    const long = r.next() < 0.3
    const payload = seg({ sub: r.chars(B62, 16), exp: r.int(1.7e9, 2e9), scope: long ? 'read write '.repeat(r.int(60, 80)) : 'openid offline', sid: r.chars(B62, 24) })
    const sig = material(r, B64URL, long ? 342 : r.int(43, 86))
    const value = `${seg({ alg: 'RS256', typ: 'JWT', kid: r.chars(B62, 8) })}.${payload}.${sig}`
    // The header and payload are base64 of mostly fixed JSON: the payload's random parts and the signature are the secret.
    return { type: long ? 'jwt-1.2kb' : 'jwt', value, material: [payload.slice(-40), sig] }
  },
  'rsa-private-key': (r) => {
    const lines = b64Lines(r, r.int(20, 26), 64)
    return { type: 'rsa-private-key', value: `-----BEGIN RSA PRIVATE KEY-----\n${lines.join('\n')}\n-----END RSA PRIVATE KEY-----`, material: lines }
  },
  'openssh-key-head4': (r) => {
    // `head -n 4 ~/.ssh/id_ed25519`: the BEGIN line and three lines of the key, no END.
    const lines = b64Lines(r, 3, 70, 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ')
    return { type: 'openssh-key-head4', value: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}`, material: lines.map((l, i) => (i === 0 ? l.slice(42) : l)) }
  },
  'pgp-private-key': (r) => {
    const lines = b64Lines(r, r.int(8, 14), 64, 'lQ')
    const crc = `=${r.chars(B64, 4)}`
    return {
      type: 'pgp-private-key',
      value: `-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: exported ${r.int(2019, 2025)}\n\n${lines.join('\n')}\n${crc}\n-----END PGP PRIVATE KEY BLOCK-----`,
      material: lines,
    }
  },
  'db-password': (r) => {
    const pw = password(r)
    return { type: 'db-password', value: pw, material: [pw] }
  },
  'django-secret-key': (r) => {
    const m = r.chars(DJANGO, 50)
    return { type: 'django-secret-key', value: `django-insecure-${m}`, material: [m] }
  },
  'docker-auth': (r) => {
    const pw = password(r)
    const v = Buffer.from(`${r.pick(['deploy', 'ci-bot', 'alice'])}:${pw}`).toString('base64')
    return { type: 'docker-auth', value: v, material: [v.slice(8)] }
  },
  'kube-client-key-data': (r) => {
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${b64Lines(r, 12, 64).join('\n')}\n-----END RSA PRIVATE KEY-----\n`
    const v = Buffer.from(pem).toString('base64')
    // Its first and last 60 chars encode the constant BEGIN and END lines.
    return { type: 'kube-client-key-data', value: v, material: [v.slice(60, -60)] }
  },
  'github-oauth-hex': (r) => {
    const m = r.chars(HEX, 40)
    return { type: 'github-oauth-hex', value: m, material: [m] }
  },
  'generic-token': (r) => {
    const m = material(r, B62, r.int(24, 48))
    return { type: 'generic-token', value: m, material: [m] }
  },
}

export const SECRET_TYPES = Object.keys(SECRETS)

export function secretOf(r: Rng, type: string): Secret {
  const make = SECRETS[type]
  if (!make) throw new Error(`unknown secret type ${type}`)
  return make(r)
}

/** Shaped secrets: recognisable anywhere in text, without a keyword before them. */
export const SHAPED = ['anthropic-key', 'anthropic-oauth', 'openai-key', 'github-pat', 'slack-token', 'google-key', 'stripe-key', 'aws-access-key', 'jwt', 'rsa-private-key', 'openssh-key-head4', 'pgp-private-key', 'django-secret-key']

/**
 * A secret written the way it appears in a file or a terminal: shaped ones as they are, the
 * others with the context that makes them secrets (`DB_PASS=`, a `.netrc`, a docker config, …).
 */
export function inContext(r: Rng, s: Secret): string {
  switch (s.type) {
    case 'db-password': {
      // In a URL only a password that needs no percent-encoding (`:`, `@`, `/`, `?`, `#` would).
      const url = /^[A-Za-z0-9!*._~+=-]+$/.test(s.value) ? [`postgres://app:${s.value}@db.internal:5432/prod`] : []
      return r.pick([
        `DB_PASS=${s.value}`,
        `export MYSQL_PWD=${s.value}`,
        `DB_PASSWORD="${s.value}"`,
        `password: ${s.value}`,
        `"password": "${s.value}"`,
        `machine db.internal login app password ${s.value}`,
        `machine github.com\n  login octocat\n  password ${s.value}`,
        `spring.datasource.password=${s.value}`,
        ...url,
      ])
    }
    case 'django-secret-key':
      return r.pick([`SECRET_KEY = '${s.value}'`, `SECRET_KEY="${s.value}"`, s.value])
    case 'docker-auth':
      return `{"auths": {"https://index.docker.io/v1/": {"auth": "${s.value}"}}}`
    case 'kube-client-key-data':
      return `users:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n    client-key-data: ${s.value}`
    case 'github-oauth-hex':
      return r.pick([`origin\thttps://${s.value}@github.com/acme/app.git (fetch)`, `git clone https://${s.value}@github.com/acme/app.git`])
    case 'generic-token':
      return r.pick([
        `Authorization: Bearer ${s.value}`,
        `api_key = "${s.value}"`,
        `"access_token": "${s.value}"`,
        `export GITHUB_TOKEN=${s.value}`,
        `curl -H "x-api-key: ${s.value}" https://api.example.com`,
        `https://api.example.com/v1/items?token=${s.value}&page=2`,
        `client_secret: ${s.value}`,
      ])
    case 'aws-access-key':
      return r.pick([s.value, `aws_access_key_id = ${s.value}`])
    default:
      return r.pick([s.value, `key: ${s.value}`, `export API_KEY=${s.value}`, `"${s.value}"`, `(${s.value})`])
  }
}
