/**
 * Bodies are read as JSON only when their Content-Type says JSON: application/json or
 * application/<name>+json, in UTF-8. Anything else is 415 and changes nothing.
 */
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../testing/harness'
import { DIALECTS } from '../../testing/storage'
import { checkJsonContentType } from './body'

const refusal = (header: string | undefined) => {
  try {
    checkJsonContentType(header)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

it('reads application/json and application/<name>+json, with parameters, in UTF-8', () => {
  for (const header of [
    'application/json',
    'Application/JSON',
    'application/json; charset=utf-8',
    'application/json;charset="UTF-8"',
    'application/json ; foo=bar',
    'application/merge-patch+json',
    'application/vnd.api+json; charset=utf-8',
  ]) {
    expect([header, refusal(header)]).toEqual([header, undefined])
  }
})

it('refuses other types that merely start with application/json, and other charsets', () => {
  for (const header of [
    undefined,
    '',
    'application/json-seq',
    'application/jsonx',
    'application/json5',
    'application/json+xml',
    'application/+json',
    'text/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json/x',
  ]) {
    expect([header, refusal(header)]).toEqual([header, 'Send the body as application/json.'])
  }
  for (const header of [
    'application/json; charset=iso-8859-1',
    'application/json; charset=utf-16',
    'application/problem+json; charset="latin1"',
  ]) {
    expect([header, refusal(header)]).toEqual([header, 'Send the JSON body in UTF-8.'])
  }
})

for (const dialect of DIALECTS) {
  describe(`request bodies over HTTP (${dialect})`, () => {
    let h: Harness
    let pk: string
    let sk: string
    beforeAll(async () => {
      h = await createHarness(dialect)
      const project = await h.project()
      pk = project.publishableKey
      sk = project.secretKey
    })
    afterAll(() => h.dispose())

    const start = (contentType: string) =>
      h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123456', consent: { accepted: true } },
        headers: { 'Content-Type': contentType },
      })

    it('starts nothing for a body that is not declared JSON', async () => {
      for (const contentType of ['application/json-seq', 'application/jsonlines', 'text/json']) {
        const refused = await start(contentType)
        expect([contentType, refused.status]).toEqual([contentType, 415])
        expect(refused.json.error).toEqual({
          code: 'unsupported_media_type',
          message: 'Send the body as application/json.',
        })
      }
      const latin1 = await start('application/json; charset=iso-8859-1')
      expect(latin1.status).toBe(415)
      expect(latin1.json.error.message).toBe('Send the JSON body in UTF-8.')
      expect(await h.db.selectFrom('verifications').select('id').execute()).toEqual([])
      const json = await start('application/json; charset=UTF-8')
      expect(json.status).toBe(201)
    })

    it('refuses a NUL or a lone surrogate in any string or key of a body', async () => {
      const cases: [string, string, unknown, string][] = [
        // The webhook description took any string: a 500 on PostgreSQL.
        [
          '/v1/webhooks/endpoints',
          sk,
          { url: 'http://127.0.0.1:9/hooks', description: 'a\u0000b' },
          'description',
        ],
        [
          '/v1/webhooks/endpoints',
          sk,
          { url: 'http://127.0.0.1:9/hooks', 'x\u0000': 1 },
          'x\\u0000',
        ],
        [
          '/v1/verifications',
          pk,
          { phone: '+4474\u000000123456', consent: { accepted: true } },
          'phone',
        ],
      ]
      for (const [path, key, body, field] of cases) {
        const refused = await h.call('POST', path, {
          key,
          body,
          origin: key === sk ? null : undefined,
        })
        expect([field, refused.status]).toEqual([field, 400])
        expect(refused.json.error.issues[0]).toEqual({
          path: field,
          message: `${field} must not contain NUL characters`,
        })
      }
      // A lone surrogate was stored as U+FFFD, and the answer said otherwise.
      for (const description of ['\ud800', 'x\udfffy']) {
        const lone = await h.call('POST', '/v1/webhooks/endpoints', {
          key: sk,
          origin: null,
          body: { url: 'http://127.0.0.1:9/hooks', description },
        })
        expect(lone.status).toBe(400)
        expect(lone.json.error.message).toBe(
          'description must be valid Unicode (it holds a lone surrogate)',
        )
      }
      expect(await h.db.selectFrom('webhook_endpoints').select('id').execute()).toEqual([])
      // A backslash before u0000 is no NUL.
      const text = await h.call('POST', '/v1/webhooks/endpoints', {
        key: sk,
        origin: null,
        body: { url: 'http://127.0.0.1:9/hooks', description: 'C:\\u0000 is not a NUL' },
      })
      expect(text.status).toBe(201)
      expect(text.json.description).toBe('C:\\u0000 is not a NUL')
      // An emoji escaped as its surrogate pair (Python's json.dumps does so) is fine.
      const emoji = await h.call('POST', '/v1/webhooks/endpoints', {
        key: sk,
        origin: null,
        body: '{"url":"http://127.0.0.1:9/hooks","description":"orders \\ud83d\\udce6"}',
      })
      expect(emoji.status).toBe(201)
      expect(emoji.json.description).toBe('orders 📦')
    })

    it('refuses a compressed body as such, not as a body that is not JSON', async () => {
      const body = gzipSync(JSON.stringify({ phone: '+447400123457', consent: { accepted: true } }))
      for (const encoding of ['gzip', 'GZIP', 'br', 'identity, gzip']) {
        const refused = await h.call('POST', '/v1/verifications', {
          key: pk,
          body,
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        })
        expect([encoding, refused.status]).toEqual([encoding, 415])
        expect(refused.json.error).toEqual({
          code: 'unsupported_media_type',
          message: 'Send the body uncompressed, without Content-Encoding.',
        })
        expect(refused.headers.get('Accept-Encoding')).toBe('identity')
      }
      const phones = await h.db.selectFrom('verifications').select('phone').execute()
      expect(phones.map((row) => row.phone)).not.toContain('+447400123457')
      const identity = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123457', consent: { accepted: true } },
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'identity' },
      })
      expect(identity.status).toBe(201)
    })
  })
}
