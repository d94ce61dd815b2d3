import { WidgetConfigResponse } from '@textgate/shared'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness, ORIGIN } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'

for (const dialect of DIALECTS) {
  describe(`GET /v1/config (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string
    let limitedPk: string

    beforeAll(async () => {
      h = await createHarness(dialect)
      const created = await h.project({ name: 'Northwind', brand: 'Northwind Shop' })
      pk = created.publishableKey
      sk = created.secretKey
      limitedPk = (await h.project({ countries: ['fr', 'BE'], codeLength: 8 })).publishableKey
    })
    afterAll(() => h.dispose())

    const config = (
      headers: Record<string, string> = {},
      key = pk,
      origin: string | null = ORIGIN,
    ) => h.call('GET', '/v1/config', { key, headers, origin })

    it('answers the project settings with CORS for the allowed origin', async () => {
      const res = await config()
      expect(res.status).toBe(200)
      expect(v.is(WidgetConfigResponse, res.json)).toBe(true)
      expect(res.json).toEqual({
        country: null,
        allowedCountries: null,
        codeLength: 6,
        brand: 'Northwind Shop',
      })
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
      expect(res.headers.get('cache-control')).toContain('no-store')
      const limited = await config({}, limitedPk)
      expect(limited.json).toMatchObject({ allowedCountries: ['FR', 'BE'], codeLength: 8 })
    })

    it('answers preflights like the other publishable endpoints', async () => {
      const res = await h.call('OPTIONS', '/v1/config', {
        headers: { 'Access-Control-Request-Method': 'GET' },
      })
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    })

    it('refuses other origins, no key and secret keys', async () => {
      const foreign = await config({}, pk, 'https://evil.example')
      expect(foreign.status).toBe(403)
      expect(foreign.json.error.code).toBe('origin_not_allowed')
      expect((await config({}, pk, null)).json.error.code).toBe('origin_not_allowed')
      const noKey = await h.call('GET', '/v1/config', {})
      expect(noKey.status).toBe(401)
      expect(noKey.json.error.code).toBe('invalid_api_key')
      expect((await config({}, sk)).json.error.code).toBe('wrong_key_type')
    })

    it('takes the Referer’s origin for a same-origin GET, which carries no Origin', async () => {
      const sameOrigin = await config({ Referer: `${ORIGIN}/` }, pk, null)
      expect(sameOrigin.status).toBe(200)
      expect(sameOrigin.headers.get('access-control-allow-origin')).toBeNull()
      const foreign = await config({ Referer: 'https://evil.example/register' }, pk, null)
      expect(foreign.status).toBe(403)
      expect(foreign.json.error.code).toBe('origin_not_allowed')
      expect((await config({ Referer: 'not a url' }, pk, null)).status).toBe(403)
      // Only for GET: a start without Origin is still refused, whatever its Referer.
      const start = await h.call('POST', '/v1/verifications', {
        key: pk,
        origin: null,
        headers: { Referer: `${ORIGIN}/` },
        body: { phone: '+447400123123', consent: { accepted: true } },
      })
      expect(start.status).toBe(403)
    })

    it('reads the country from CDN headers, in order, ignoring unknown and invalid ones', async () => {
      expect((await config({ 'CF-IPCountry': 'de' })).json.country).toBe('DE')
      expect((await config({ 'CloudFront-Viewer-Country': 'JP' })).json.country).toBe('JP')
      expect((await config({ 'X-Vercel-IP-Country': 'BR' })).json.country).toBe('BR')
      expect((await config({ 'X-Country-Code': 'NZ' })).json.country).toBe('NZ')
      expect((await config({ 'CF-IPCountry': 'US', 'X-Country-Code': 'NZ' })).json.country).toBe(
        'US',
      )
      for (const bad of ['XX', 'T1', 'ZZ', 'usa', '1', '']) {
        expect((await config({ 'CF-IPCountry': bad })).json.country, bad).toBeNull()
      }
      // An unusable first header falls through to the next one.
      expect((await config({ 'CF-IPCountry': 'T1', 'X-Country-Code': 'IT' })).json.country).toBe(
        'IT',
      )
    })

    it('falls back to the region of Accept-Language, else null', async () => {
      expect((await config({ 'Accept-Language': 'fr-CA,fr;q=0.9,en;q=0.8' })).json.country).toBe(
        'CA',
      )
      expect((await config({ 'Accept-Language': 'en;q=0.9,pt-BR' })).json.country).toBe('BR')
      expect((await config({ 'Accept-Language': 'zh-Hant-TW' })).json.country).toBe('TW')
      expect((await config({ 'Accept-Language': 'fr, de' })).json.country).toBeNull()
      expect((await config({ 'Accept-Language': 'en-XX' })).json.country).toBeNull()
      expect(
        (await config({ 'Accept-Language': 'fr-CA', 'CF-IPCountry': 'CH' })).json.country,
      ).toBe('CH')
    })
  })
}
