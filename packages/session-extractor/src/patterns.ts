/**
 * The built-in secret patterns, compiled into one alternation so text is scanned once.
 * Each alternative starts with a literal or a narrow class so the regex engine can skip
 * ahead quickly; whether a candidate really is a secret is decided in the replacer
 * (`classify` in redactor.ts), which can decline and redact inside the value instead.
 *
 * Word-boundary lookbehinds accept a JSON escape (`\n`, `\t`) right before the secret, so the
 * same patterns work on raw JSON text where a key often follows an escaped newline.
 *
 * Capture groups (by index):
 *  1     PEM private key block
 *  2, 3  vendor key: kept prefix, random rest
 *  4     AWS access key id
 *  5     JWT
 *  6, 7  auth scheme in text (`Bearer xyz`): scheme, credential
 *  8, 9  URL / form parameter: name, value
 *  10, 11, 12  assignment (`api_key = "…"`, `"access_token":"…"`): keyword, separator, value
 *  13    URL userinfo password (`scheme://user:PASSWORD@host`)
 */
export const BUILTIN_SOURCE = [
  String.raw`(-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----[\s\S]{0,16384}?-----END[A-Z ]{0,40}PRIVATE KEY-----)`,
  String.raw`(?<!(?<!\\)[A-Za-z0-9_-])(sk-ant-(?:[a-z]{3,6}\d{2}-)?|sk-(?:proj|svcacct|admin|None)-|sk-|[sr]k_(?:live|test)_|gh[pousr]_|github_pat_|xox[abprse]-|glpat-|hf_|npm_|AIza)([A-Za-z0-9_-]{16,4096})`,
  String.raw`(?<!(?<!\\)[A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])`,
  String.raw`(eyJ[A-Za-z0-9_-]{8,8192}\.eyJ[A-Za-z0-9_-]{8,16384}\.[A-Za-z0-9_-]{0,8192})`,
  String.raw`(?<!(?<!\\)[A-Za-z0-9_])(Bearer|Basic|Token)[ \t]+([A-Za-z0-9._~+/=-]{12,8192})`,
  String.raw`(?<=^|[?&#;])([A-Za-z][A-Za-z0-9_.-]{0,63})=([^&#\s"'<>\\]{1,8192})`,
  String.raw`(api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|session[_-]?token|client[_-]?secret|secret[_-]?access[_-]?key|secret[_-]?key|private[_-]?key|access[_-]?key|secret|passwd|password|token|(?<=_)key)(\\?["']?[ \t]{0,3}[:=][ \t]{0,3}\\?["']?)([^\s"'\\,;&<>(){}\[\]]{1,8192})`,
  String.raw`:(?<=\/\/[^\/:@\s]{0,64}:)([^\/@\s:]{1,256})@`,
].join('|')

/** Prefixes of vendor keys that are kept in front of the marker (they say which kind of key it was). */
export const VENDOR_PREFIX_RE =
  /^(?:sk-ant-(?:[a-z]{3,6}\d{2}-)?|sk-(?:proj|svcacct|admin|None)-|sk-|[sr]k_(?:live|test)_|gh[pousr]_|github_pat_|xox[abprse]-|glpat-|hf_|npm_|AIza)/

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
