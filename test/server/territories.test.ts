/**
 * Territories that share another country's numbering (IM, JE and GG with GB, VA with IT, AX with
 * FI…), on a real server: a number in a territory's own ranges is the territory's (stored, judged
 * by the fraud guard, routed by the routing file's `countries`), one whose territory the number
 * alone cannot tell is the main country's except for a project that allows only the territory,
 * and the sandbox gives numbers each project verifies.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTwilioFake } from '@textgate/server/testing/carriers/twilio'
import { createTestStorage, DIALECTS, type TestStorage } from '@textgate/server/testing/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLiveProject, type LiveKeys } from '../support/live'
import { type CreatedProject, cliAsync, startTextgate, tempDir } from '../support/processes'

const ORIGIN = 'https://shop.example'

interface SentLive {
  keys?: LiveKeys
  country?: string
}
const ACCOUNT_SID = 'AC00000000000000000000000000000002'
const AUTH_TOKEN = 'local-twilio-auth-token'

describe.each(DIALECTS)('territories sharing a numbering plan (%s)', (dialect) => {
  let storage: TestStorage | undefined
  let server: Awaited<ReturnType<typeof startTextgate>>
  let twilio: Awaited<ReturnType<typeof startTwilioFake>>
  let live: LiveKeys
  let liveAland: LiveKeys
  const dir = tempDir('tg-territories-')
  const projects: Record<string, CreatedProject> = {}
  let caller = 0

  beforeAll(async () => {
    if (dialect === 'postgres') storage = await createTestStorage('postgres')
    twilio = await startTwilioFake({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      callbackUrl: 'http://127.0.0.1:9/reports',
    })
    // Live texts: one route for GB, one for IM, one for the rest (two carrier entries, one fake).
    const carrier = (id: string) => ({
      id,
      type: 'twilio',
      accountSid: ACCOUNT_SID,
      authTokenEnv: 'TG_TERRITORIES_TWILIO_TOKEN',
      from: '+15005550006',
      baseUrl: twilio.baseUrl,
    })
    const routesFile = join(dir.path, 'routes.json')
    writeFileSync(
      routesFile,
      JSON.stringify({
        carriers: ['gb', 'im', 'fi', 'ax', 'rest'].map((id) => carrier(`twilio-${id}`)),
        projects: {
          '*': {
            rules: [
              { countries: ['GB'], routes: [{ carrier: 'twilio-gb' }] },
              { countries: ['IM'], routes: [{ carrier: 'twilio-im' }] },
              { countries: ['FI'], routes: [{ carrier: 'twilio-fi' }] },
              { countries: ['AX'], routes: [{ carrier: 'twilio-ax' }] },
              { routes: [{ carrier: 'twilio-rest' }] },
            ],
          },
        },
      }),
    )
    server = await startTextgate({
      ...(storage ? { databaseUrl: storage.url } : {}),
      env: {
        TRUST_PROXY: '1',
        TEXTGATE_ROUTES_FILE: routesFile,
        TG_TERRITORIES_TWILIO_TOKEN: AUTH_TOKEN,
      },
    })
    live = await createLiveProject(String(server.env.DATABASE_URL), ORIGIN)
    liveAland = await createLiveProject(String(server.env.DATABASE_URL), ORIGIN, ['AX'])
    for (const [name, countries] of Object.entries({
      IM: ['IM'],
      VA: ['VA'],
      AX: ['AX'],
      GB: ['GB'],
      'GB+IM': ['GB', 'IM'],
      all: [],
    })) {
      const created = await cliAsync(
        [
          'projects',
          'create',
          '--name',
          `Shop ${name}`,
          '--origin',
          ORIGIN,
          ...countries.flatMap((country) => ['--country', country]),
          '--json',
        ],
        server.env,
      )
      expect(created.status, created.stderr).toBe(0)
      projects[name] = JSON.parse(created.stdout) as CreatedProject
    }
  }, 120_000)

  afterAll(async () => {
    await server?.close()
    await twilio?.close()
    await storage?.dispose()
    dir.remove()
  })

  /** Starts `phone` for the project; the answer's status and the country the server counted. */
  async function start(project: string, phone: string, country?: string) {
    const keys = projects[project]!
    const res = await fetch(`${server.url}/v1/verifications`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${keys.publishableKey}`,
        Origin: ORIGIN,
        'Content-Type': 'application/json',
        // An address of its own each: the per-address limits are not what this is about.
        'X-Forwarded-For': `203.0.113.${++caller}`,
      },
      body: JSON.stringify({ phone, country, consent: { accepted: true } }),
    })
    const body = (await res.json()) as { id?: string; error?: { code: string; country?: string } }
    if (res.status !== 201) return { status: res.status, error: body.error }
    const details = await fetch(`${server.url}/v1/verifications/${body.id}`, {
      headers: { Authorization: `Bearer ${keys.secretKey}` },
    })
    const { country: counted } = (await details.json()) as { country: string }
    // The fraud guard judged it as the same country (its per-country budgets and caps).
    const events = await fetch(`${server.url}/v1/fraud/events?limit=1`, {
      headers: { Authorization: `Bearer ${keys.secretKey}` },
    })
    const [event] = (await events.json()) as { country: string }[]
    return { status: 201, country: counted, guard: event?.country }
  }

  it('verifies Isle of Man mobiles for a project that allows only IM, with or without country', async () => {
    // Manx Telecom's 07624 (IM's alone) and Sure's 07924 (in GB's ranges too).
    for (const [phone, country] of [
      ['+447624012345', undefined],
      ['+447624123456', 'IM'],
      ['07624 234567', 'IM'],
      ['+447924012345', undefined],
      ['+447924123456', 'IM'],
      ['07924 234567', 'IM'],
      // A caller that reads numbers as libphonenumber-js does (the widget before 2026-12-07) sends GB.
      ['+447924345678', 'GB'],
    ] as const) {
      expect(await start('IM', phone, country), `${phone} ${country ?? ''}`).toEqual({
        status: 201,
        country: 'IM',
        guard: 'IM',
      })
    }
  })

  it('verifies Vatican and Åland numbers for projects that allow only them', async () => {
    expect(await start('VA', '+393123456781')).toEqual({ status: 201, country: 'VA', guard: 'VA' })
    expect(await start('AX', '+358412345671')).toEqual({ status: 201, country: 'AX', guard: 'AX' })
  })

  it("counts a number in a territory's own ranges as the territory, whatever the project allows", async () => {
    // Sure's 07924 is in GB's ranges too: still a Manx number, for every project, with the GB
    // the widget sends (its own parse's country) or without.
    expect(await start('GB+IM', '+447924456789', 'GB')).toEqual({
      status: 201,
      country: 'IM',
      guard: 'IM',
    })
    expect(await start('all', '+447924567890')).toEqual({ status: 201, country: 'IM', guard: 'IM' })
    expect(await start('all', '+447924567891', 'GB')).toMatchObject({ status: 201, country: 'IM' })
    expect(await start('GB+IM', '+447624456789')).toMatchObject({ status: 201, country: 'IM' })
    // A number of GB's own ranges is no Manx number; a Manx one is not GB's.
    expect(await start('IM', '+447400123461')).toEqual({
      status: 422,
      error: expect.objectContaining({ code: 'country_not_allowed', country: 'GB' }),
    })
    for (const phone of ['+447624612345', '+447924612345']) {
      expect(await start('GB', phone, 'GB'), phone).toEqual({
        status: 422,
        error: expect.objectContaining({ code: 'country_not_allowed', country: 'IM' }),
      })
    }
    // Where the number alone cannot tell (any Vatican mobile is in Italy's ranges), it is the
    // main country's unless the project allows only the territory.
    expect(await start('all', '+393123456782')).toMatchObject({ status: 201, country: 'IT' })
  })

  /** Starts a live verification of `phone` (as the store's server) and waits for its text. */
  async function sentLive(phone: string, { keys = live, country }: SentLive = {}) {
    const res = await fetch(`${server.url}/v1/verifications`, {
      method: 'POST',
      headers: {
        // The store's server: IM is a medium-risk destination with no history yet (it does
        // not inherit GB's prior), which a caller without the widget's signals cannot open.
        Authorization: `Bearer ${keys.secret}`,
        'Content-Type': 'application/json',
        'X-Forwarded-For': `203.0.113.${++caller}`,
      },
      body: JSON.stringify({ phone, country, consent: { accepted: true } }),
    })
    const body = (await res.json()) as { id: string }
    expect(res.status, JSON.stringify(body)).toBe(201)
    const read = async () => {
      const details = await fetch(`${server.url}/v1/verifications/${body.id}`, {
        headers: { Authorization: `Bearer ${keys.secret}` },
      })
      return (await details.json()) as {
        country: string
        messages: { status: string; carrier: string | null }[]
      }
    }
    await expect
      .poll(async () => (await read()).messages[0]?.status, { timeout: 15_000, interval: 100 })
      .toBe('sent')
    const counted = await read()
    return { country: counted.country, carrier: counted.messages[0]?.carrier }
  }

  it('sends a live Manx text on the IM route, and a GB one on the GB route', async () => {
    // The widget sends the country of its own parse: GB's, for a 07924 number.
    const sent = (phone: string) => sentLive(phone, { country: 'GB' })
    const before = twilio.accepted.length
    expect(await sent('+447924678901')).toEqual({ country: 'IM', carrier: 'twilio-im' })
    expect(await sent('+447624678901')).toEqual({ country: 'IM', carrier: 'twilio-im' })
    expect(await sent('+447400678901')).toEqual({ country: 'GB', carrier: 'twilio-gb' })
    // A Jersey mobile is JE's: no rule names JE, so the GB rule does not take it either.
    expect(await sent('+447797678901')).toEqual({ country: 'JE', carrier: 'twilio-rest' })
    expect(twilio.accepted.slice(before).map((request) => request.form.To)).toEqual([
      '+447924678901',
      '+447624678901',
      '+447400678901',
      '+447797678901',
    ])
  })

  it('routes a text as its verification was counted: an Åland mobile as AX where only AX is allowed', async () => {
    // Åland's mobiles are in Finland's ranges (the number alone is FI's): a project that allows
    // only AX counts it as AX, and its text takes the AX route, not the FI one.
    expect(await sentLive('+358412345670', { keys: liveAland })).toEqual({
      country: 'AX',
      carrier: 'twilio-ax',
    })
    expect(await sentLive('+358412345671')).toEqual({ country: 'FI', carrier: 'twilio-fi' })
  })

  it('gives sandbox numbers of IM, VA and AX that their projects verify', async () => {
    for (const country of ['IM', 'VA', 'AX']) {
      const res = await fetch(`${server.url}/v1/sandbox/numbers/random?country=${country}`, {
        headers: { Authorization: `Bearer ${projects[country]!.secretKey}` },
      })
      expect(res.status, `${country}: ${await res.clone().text()}`).toBe(200)
      const { phone } = (await res.json()) as { phone: string }
      expect(await start(country, phone)).toEqual({ status: 201, country, guard: country })
    }
  })
})
