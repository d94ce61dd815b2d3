/**
 * `GET /v1/config`: what the widget needs to know before the shopper types — a country hint
 * for the picker, the project's allowed countries, the code length and the brand.
 * @module
 */
import { countryCode, type WidgetConfigResponse } from '@textgate/shared'
import { Hono } from 'hono'
import type { Kysely } from 'kysely'
import { apiKeyAuth } from '../auth'
import { allowedCountries } from '../projects'
import type { Database } from '../storage'

/** Country headers set by common CDNs and hosts, most specific first. */
export const COUNTRY_HEADERS = [
  'CF-IPCountry',
  'CloudFront-Viewer-Country',
  'X-Vercel-IP-Country',
  'X-Country-Code',
] as const

/** A real ISO 3166 alpha-2 country with a phone plan; not XX (unknown) or T1 (Tor). */
function validCountry(value: string | undefined): string | undefined {
  return value === undefined ? undefined : countryCode(value)
}

/** The region of the first Accept-Language tag that has one (`fr-CA;q=0.9` → CA). */
function countryFromAcceptLanguage(header: string | undefined): string | undefined {
  if (!header) return undefined
  const tags = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';')
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean)
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index }
    })
    .filter((t) => t.tag && t.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
  for (const { tag } of tags) {
    // language[-script]-REGION…: the region is the first 2-letter subtag after the language.
    const region = tag
      .split('-')
      .slice(1)
      .find((sub) => /^[A-Za-z]{2}$/.test(sub))
    const country = validCountry(region)
    if (country) return country
  }
  return undefined
}

/** The shopper's likely country from the request, or null. */
export function countryHint(header: (name: string) => string | undefined): string | null {
  for (const name of COUNTRY_HEADERS) {
    const country = validCountry(header(name))
    if (country) return country
  }
  return countryFromAcceptLanguage(header('Accept-Language')) ?? null
}

export function widgetConfigRoutes(db: Kysely<Database>) {
  return new Hono().get('/', apiKeyAuth({ db, kinds: ['publishable'] }), (c) => {
    const { project } = c.get('auth')
    const body: WidgetConfigResponse = {
      country: countryHint((name) => c.req.header(name)),
      allowedCountries: allowedCountries(project),
      codeLength: project.code_length,
      brand: project.brand,
    }
    // The hint depends on the shopper's headers: never shared between shoppers.
    c.header('Cache-Control', 'private, no-store')
    c.header('Vary', 'Accept-Language', { append: true })
    return c.json(body)
  })
}
