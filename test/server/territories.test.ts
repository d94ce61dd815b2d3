/**
 * Territories that share another country's numbering (IM, JE and GG with GB, VA with IT, AX with
 * FI…), on a real server: a project that allows only the territory verifies numbers in the
 * territory's own ranges, counted as the territory, and the sandbox gives such numbers.
 */
import { createTestStorage, DIALECTS, type TestStorage } from '@textgate/server/testing/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CreatedProject, cliAsync, startTextgate } from '../support/processes'

const ORIGIN = 'https://shop.example'

describe.each(DIALECTS)('territories sharing a numbering plan (%s)', (dialect) => {
  let storage: TestStorage | undefined
  let server: Awaited<ReturnType<typeof startTextgate>>
  const projects: Record<string, CreatedProject> = {}
  let caller = 0

  beforeAll(async () => {
    if (dialect === 'postgres') storage = await createTestStorage('postgres')
    server = await startTextgate({
      ...(storage ? { databaseUrl: storage.url } : {}),
      env: { TRUST_PROXY: '1' },
    })
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
    await storage?.dispose()
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
      // The widget sends the country its own parse found: GB, for 07924.
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

  it("keeps libphonenumber's country where the project allows it, and refuses the rest", async () => {
    // Numbers both GB's and IM's ranges hold stay GB's where GB is allowed: only a project that
    // would otherwise refuse them counts them as the territory.
    expect(await start('GB+IM', '+447924456789')).toEqual({
      status: 201,
      country: 'GB',
      guard: 'GB',
    })
    expect(await start('all', '+447924567890')).toMatchObject({ status: 201, country: 'GB' })
    expect(await start('GB+IM', '+447624456789')).toMatchObject({ status: 201, country: 'IM' })
    // A number of GB's own ranges is no Manx number; a Manx one is not GB's.
    expect(await start('IM', '+447400123461')).toEqual({
      status: 422,
      error: expect.objectContaining({ code: 'country_not_allowed', country: 'GB' }),
    })
    expect(await start('GB', '+447624612345')).toEqual({
      status: 422,
      error: expect.objectContaining({ code: 'country_not_allowed', country: 'IM' }),
    })
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
