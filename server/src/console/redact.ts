/**
 * The routing file as the console shows it: every secret-like field hidden. The file should
 * hold no secret (they are named by `…Env` fields), but a careless entry can: a literal API key
 * in a generic carrier's body or headers, credentials in a URL. So hidden are: the value of any
 * field whose name sounds secret (a `…Env` field keeps its variable's name, which is not the
 * secret), the user and password of URLs and secret-sounding query parameters, and any text
 * equal to the value of an environment variable the file names.
 *
 * A field's name cannot be trusted where the operator chose it: a generic carrier's `body` and
 * `headers` are the gateway's own fields (`"p": "…"`, `"X-Acct": "…"`). There a value is shown
 * only when it cannot be a secret: made of `{{placeholders}}` (and punctuation or spaces between
 * them), a plain word (letters only, up to 16), `true`/`false`, or a number under 1000. Any
 * other literal is hidden, whatever its field is called.
 * @module
 */

export const REDACTED = '•••'

/** Field names that hold secrets: passwords, tokens, keys, credentials, signatures. */
const SECRET_NAME =
  /(secret|passw|pwd|token|api[-_]?key|apikey|key|credential|auth|signature|private|cookie|session|sid$)/i
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Fields whose keys the operator names (a gateway's own): their values are judged by shape. */
const FREE_FORM = new Set(['body', 'headers'])
/** Only placeholders, with spaces or punctuation around them: `{{to}}`, `{{brand}}: {{text}}`. */
const PLACEHOLDERS_ONLY = /^[\s\p{P}\p{S}]*(\{\{\w+\}\}[\s\p{P}\p{S}]*)*$/u
/** A plain word, as a message type or channel is: `sms`, `SMS`, `unicode`, `Text`. */
const PLAIN_WORD = /^[A-Za-z]{1,16}$/

/** Whether a value in a free-form field is shown: one that cannot be a credential. */
function harmless(value: unknown): boolean {
  if (typeof value === 'boolean' || value === null) return true
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 1000
  return typeof value === 'string' && (PLACEHOLDERS_ONLY.test(value) || PLAIN_WORD.test(value))
}

/** Names of the environment variables a routing document points at (`…Env` fields). */
function envNames(value: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) envNames(item, names)
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (/Env$/.test(key)) {
        if (typeof inner === 'string') names.add(inner)
        else if (inner && typeof inner === 'object') {
          for (const name of Object.values(inner)) if (typeof name === 'string') names.add(name)
        }
      }
      envNames(inner, names)
    }
  }
  return names
}

function redactUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return text
  }
  if (!/^(https?|wss?|smpp):$/.test(url.protocol)) return text
  let changed = false
  if (url.username || url.password) {
    url.username = url.username ? REDACTED : ''
    url.password = url.password ? REDACTED : ''
    changed = true
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_NAME.test(name)) {
      url.searchParams.set(name, REDACTED)
      changed = true
    }
  }
  return changed ? decodeURI(url.toString()) : text
}

/**
 * A copy of `value` with every secret-like field hidden; `env` gives the values of the
 * variables the document names, which are hidden wherever they appear.
 * @example
 * redactSecrets({ url: 'https://u:p@gw.example/send?api_key=abc', passwordEnv: 'SMSC_PW' })
 * // { url: 'https://•••:•••@gw.example/send?api_key=•••', passwordEnv: 'SMSC_PW' }
 */
export function redactSecrets(
  value: unknown,
  env: Record<string, string | undefined> = process.env,
): unknown {
  const secrets = new Set(
    [...envNames(value)].map((name) => env[name]).filter((s): s is string => !!s && s.length >= 4),
  )
  const walk = (
    node: unknown,
    secretField: boolean,
    envField: boolean,
    freeForm: boolean,
  ): unknown => {
    if (Array.isArray(node)) return node.map((item) => walk(item, secretField, envField, freeForm))
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, inner]) => {
          // Inside a `…Env` field every value is a variable's name (headersEnv: header → name).
          const env = envField || /Env$/.test(key)
          const secret = !env && (secretField || SECRET_NAME.test(key))
          return [key, walk(inner, secret, env, freeForm || (!env && FREE_FORM.has(key)))]
        }),
      )
    }
    if (freeForm && !secretField && !harmless(node)) return REDACTED
    if (typeof node !== 'string') return secretField && node !== null ? REDACTED : node
    if (envField && ENV_NAME.test(node) && !secrets.has(node)) return node
    if (secretField || envField) return REDACTED
    if ([...secrets].some((secret) => node.includes(secret))) return REDACTED
    return redactUrl(node)
  }
  return walk(value, false, false, false)
}
