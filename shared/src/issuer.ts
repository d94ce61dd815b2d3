/**
 * One spelling of a token issuer (the Textgate server's PUBLIC_URL), so that a store's setting and
 * the server's `iss` are compared as URLs, not as text: `HTTPS://Verify.Example:443/` and
 * `https://verify.example` are one issuer.
 * @module
 */

/**
 * The WHATWG URL origin (lower-case scheme and host, default port dropped, IDN in punycode) and
 * path without trailing slashes; no query, fragment or credentials. A value that is no absolute
 * URL loses only its trailing slashes.
 * @example
 * normaliseIssuer('HTTPS://Verify.Example:443/') // 'https://verify.example'
 * normaliseIssuer('https://shop.example/textgate/') // 'https://shop.example/textgate'
 */
export function normaliseIssuer(value: string): string {
  if (!URL.canParse(value)) return value.replace(/\/+$/, '')
  const url = new URL(value)
  // An opaque origin ("null": a scheme without hosts) keeps the text.
  if (url.origin === 'null') return value.replace(/\/+$/, '')
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}
