import { describe, expect, it } from 'vitest'
import { createRedeemClient, RedeemError } from '.'

const url = 'http://textgate.test'
const secretKey = 'sk_test_abc'

function answering(status: number, body: unknown, seen: Request[] = []): typeof fetch {
  return async (input, init) => {
    seen.push(new Request(input, init))
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    })
  }
}

describe('createRedeemClient', () => {
  it('posts the token with the secret key and returns the typed answer', async () => {
    const seen: Request[] = []
    const client = createRedeemClient({
      url: `${url}/`,
      secretKey,
      fetch: answering(200, { valid: false, reason: 'already_redeemed' }, seen),
    })
    expect(await client.redeem('t.o.k')).toEqual({ valid: false, reason: 'already_redeemed' })
    expect(seen[0]?.url).toBe(`${url}/v1/tokens/redeem`)
    expect(seen[0]?.headers.get('authorization')).toBe(`Bearer ${secretKey}`)
    expect(await seen[0]?.json()).toEqual({ token: 't.o.k' })
    // A form field that is missing or a file is not a token: no request is made for it.
    expect(await client.redeem(undefined)).toEqual({ valid: false, reason: 'invalid_token' })
    expect(seen).toHaveLength(1)
  })

  it('turns an API error and an unreachable server into RedeemError with a code', async () => {
    const refused = createRedeemClient({
      url,
      secretKey,
      fetch: answering(401, {
        error: { code: 'invalid_api_key', message: 'The API key is unknown.' },
      }),
    })
    const error = await refused.redeem('t').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RedeemError)
    expect(error).toMatchObject({ code: 'invalid_api_key', status: 401 })

    const down = createRedeemClient({ url: 'http://127.0.0.1:1', secretKey })
    expect(await down.redeem('t').catch((e: unknown) => e)).toMatchObject({ code: 'unreachable' })
  })

  it('refuses options that would send the token nowhere or without a secret key', () => {
    expect(() => createRedeemClient({ url: '', secretKey })).toThrow(/options.url/)
    expect(() => createRedeemClient({ url, secretKey: 'pk_test_x' })).toThrow(/secret key/)
    expect(() => createRedeemClient({ url, secretKey: 'pk_test_x' })).not.toThrow(/pk_test_x/)
  })
})
