/** `api` → `[Aa][Pp][Ii]`: case-insensitive keywords inside an otherwise case-sensitive regex. */
function ci(word: string): string {
  return word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`)
}

/** Keywords whose assigned value is a credential (`api_key = …`, `"access_token": "…"`, `GITHUB_TOKEN=…`). */
const ASSIGN_KEYWORDS = [
  'api[_-]?key', 'access[_-]?token', 'refresh[_-]?token', 'id[_-]?token', 'auth[_-]?token', 'session[_-]?token',
  'client[_-]?secret', 'secret[_-]?access[_-]?key', 'secret[_-]?key', 'private[_-]?key', 'access[_-]?key',
  'secret', 'passwd', 'password', 'token', '_key',
  // `DB_PASS=`, `MYSQL_PWD=`: only with the `_`/`-` in front (`PWD=/home/x` is the shell's working directory).
  '[_-]pass', '[_-]pwd',
  // kubeconfig `client-key-data:` (a base64 PEM); docker config `"auth": base64(user:pass)`.
  'key[_-]?data', 'auth',
]
  .map((k) => k.split(/(\[_-\]\?)/).map((part) => (part === '[_-]?' ? part : ci(part))).join(''))
  .join('|')

/*
 * The built-in secret patterns. Each pass is one alternation whose alternatives all start
 * with a literal or a narrow class (`sk-`, `eyJ`, `Bearer`; `?&#;`, `:`, `=`), so V8 can skip
 * ahead fast; mixing both kinds (or a `^`, or a global `i` flag) in one regex makes the scan
 * 3-10x slower, so they are separate passes whose spans are merged. Boundaries and keywords
 * are checked behind the anchor (lookbehind) or in the decision function, which can also
 * decline a candidate and rescan its value. Case-insensitive keywords are spelled with
 * classes (`[Tt][Oo]…`).
 */

/** The BEGIN line of a private key: PEM (`RSA`, `EC`, `OPENSSH`, `ENCRYPTED`, …) or PGP armor (`… KEY BLOCK-----`). */
export const PEM_BEGIN_SOURCE = String.raw`-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----`
/** A line break in the text, or a JSON-escaped one (`\n` in a raw JSON body). */
const LB = String.raw`(?:\r?\n|\\r\\n|\\n)`
/** A base64 line ends where base64 characters end (a line break, a quote, a space, punctuation). */
const LINE_END = String.raw`(?![A-Za-z0-9+/=])`
/**
 * The body of a private key cut short (`head -n 4 id_ed25519`): armor headers (`Proc-Type: …`),
 * then base64 lines, the first at least 16 chars (so a BEGIN line quoted in code is not a key).
 */
export const PEM_BODY_SOURCE = String.raw`(?:${LB}[A-Za-z][A-Za-z0-9-]{0,40}: [^\r\n\\]{0,256})*${LB}{1,2}[A-Za-z0-9+/=]{16,128}${LINE_END}(?:${LB}[A-Za-z0-9+/=]{1,128}${LINE_END})*`
/**
 * A private key block (PEM or PGP): BEGIN to the next END line, or, when no END follows within
 * 16 KiB, the BEGIN line and the base64 lines after it. Only run when the text holds `PRIVATE KEY`.
 */
export const PEM_SOURCE = String.raw`${PEM_BEGIN_SOURCE}(?:[\s\S]{0,16384}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|${PEM_BODY_SOURCE})`

/**
 * Shaped credentials. Groups: 1, 2 vendor key (kept prefix, random rest; word boundary
 * checked by the caller); 3 AWS access key id; 4 JWT; 5, 6 auth scheme in text and credential;
 * 7, 8 Django's generated `django-insecure-` key (its alphabet has symbols: `(`, `&`, `#`, …).
 */
export const KEY_SOURCE = [
  String.raw`(sk-ant-(?:[a-z]{3,6}\d{2}-)?|sk-(?:proj|svcacct|admin|None)-|sk-|[sr]k_(?:live|test)_|gh[pousr]_|github_pat_|xox[abprse]-|glpat-|hf_|npm_|AIza|ya29\.|sess-)([A-Za-z0-9_-]{16,4096})`,
  String.raw`((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])`,
  String.raw`(eyJ[A-Za-z0-9_-]{8,8192}\.eyJ[A-Za-z0-9_-]{8,16384}\.[A-Za-z0-9_-]{0,8192})`,
  String.raw`([Bb]earer|BEARER|[Bb]asic|Token)[ \t]+([A-Za-z0-9._~+/=-]{12,8192})`,
  String.raw`(django-insecure-)([^\s"'\x60\\]{20,256})`,
].join('|')

/**
 * Credentials known by their context. Groups: 1, 2, 3 URL / form parameter (lead `?`, `&`,
 * `#` or `&amp;`, name, value; a value starting with `=`, `$`, a bracket, `,` or `;` is code,
 * not a parameter); 4, 5, 6, 7, 8 assignment (keyword, separator before `:`/`=`, separator
 * after, its opening quote, value). A quoted value runs to the next quote, whitespace or
 * backslash (symbols included: `'Tr0ub&4(dor'`); an unquoted one stops at code punctuation too.
 * No match crosses whitespace except in the separators, before the value (the SSE redactor relies on it).
 */
export const CONTEXT_SOURCE = [
  String.raw`([?&#]|&amp;)([A-Za-z][A-Za-z0-9_-]{0,63})=([^&#\s"'<>\\=$({)}\],;][^&#\s"'<>\\]{0,8191})`,
  String.raw`[:=](?<=(${ASSIGN_KEYWORDS})(\\?["']?[ \t]{0,3})[:=])([ \t]{0,3}\\?(["'])?)((?<=["'])[^\s"'\\]{1,8192}|[^\s"'\\,;&<>(){}\[\]]{1,8192})`,
].join('|')

/**
 * `.netrc`: `machine <host> login <user> password <secret>` (one line or several), group 1.
 * Its own pass, only run when the text holds `login` and `password`: the keyword alone (`password
 * below`) is prose.
 */
export const NETRC_SOURCE = String.raw`(?<=(?:^|\s)login[ \t]+\S{1,64}\s{1,64})password[ \t]+(\S{1,1024})`

/**
 * URL userinfo: group 1 the password (`scheme://user:PASSWORD@host`), group 2 a user name that is
 * itself a token (`https://<40 hex>@github.com`; the caller checks it looks generated). Its own
 * pass: inside a parameter or assignment value it would otherwise be hidden by the longer match.
 */
export const USERINFO_SOURCE = String.raw`:(?<=\/\/[^\/:@\s\[]{0,64}:)([^\/@\s:]{1,256})@|\/\/([^\/:@\s\[]{16,256})@`

/**
 * A whole text that is a form body (`refresh_token=…&grant_type=…`): groups 1 name, 2 value of
 * its first parameter (the rest are found by `&name=`). No whitespace anywhere and a value that
 * does not start with `=`, so base64 padding (`…Signature==`) and code (`key=lambda x: …`) are not forms.
 */
export const LEADING_PARAM_RE = /^([A-Za-z][A-Za-z0-9_.-]{0,63})=([^&#\s"'<>\\=][^&#\s"'<>\\]{0,8191})(?:&[A-Za-z0-9_.%-]+=[^&\s]*)*$/

/** Prefixes of vendor keys that are kept in front of the marker (they say which kind of key it was). */
export const VENDOR_PREFIX_RE =
  /^(?:sk-ant-(?:[a-z]{3,6}\d{2}-)?|sk-(?:proj|svcacct|admin|None)-|sk-|[sr]k_(?:live|test)_|gh[pousr]_|github_pat_|xox[abprse]-|glpat-|hf_|npm_|AIza|ya29\.|sess-|django-insecure-)/

/** Query / form parameter names that always carry a credential. */
export const SECRET_PARAM_NAMES = new Set([
  'key', 'token', 'code', 'auth', 'sig', 'signature', 'secret', 'password', 'passwd', 'pwd', 'jwt',
  'apikey', 'api_key', 'api-key', 'access_token', 'refresh_token', 'id_token', 'client_secret',
  'x-amz-signature', 'x-amz-security-token', 'x-amz-credential', 'x-goog-signature', 'x-goog-credential',
  'assertion', 'client_assertion', 'code_verifier', 'session_key', 'sessionkey',
])

/** Parameter / field names that end like a secret but are not one. */
export const NOT_SECRET_NAMES = new Set([
  'prompt_cache_key', 'cache_key', 'sort_key', 'idempotency_key', 'partition_key', 'page_token',
  'next_page_token', 'pagetoken', 'nextpagetoken', 'continuation_token', 'max_tokens',
  'code_challenge', 'code_challenge_method', 'sec-websocket-key', 'idempotency-key',
])

/** Parameter names ending like this carry a credential (`private_key`, `github_token`, …). */
export const SECRET_NAME_SUFFIX_RE = /(?:key|token|secret|password|passwd|signature|credential)$/i
