import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, makeOperator } from '../../testing/console'
import { createHarness, type Harness, METRICS_TOKEN } from '../../testing/harness'
import { DIALECT_NOTE, DIALECTS, insertTestVerification } from '../../testing/storage'
import { segmentInfo } from '../carriers/segments'
import { type CarrierAdapter, CarrierError } from '../carriers/types'
import { createRouter, parseRoutingConfig } from '../routing'
import { REDACTED, redactSecrets } from './redact'

console.info(DIALECT_NOTE)

/** Values that must never reach a console answer: literal secrets and the variables' values. */
const SECRETS = {
  literalBodyKey: 'lit-body-key-5f1c9a7e',
  urlPassword: 'url-pass-83b2d4',
  urlToken: 'url-token-c0ffee42',
  headerKey: 'hdr-key-77aa19',
  gatewayToken: 'env-gateway-token-1a2b3c',
  callbackSecret: 'env-callback-secret-4d5e6f',
  twilioToken: 'env-twilio-token-9z8y7x',
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  /** Under a field name that says nothing (a gateway's own `acct`). */
  innocentlyNamed: 'gw-acct-2718281828',
}
const ENV = {
  GW_TOKEN: `Bearer ${SECRETS.gatewayToken}`,
  GW_CALLBACK_SECRET: SECRETS.callbackSecret,
  TWILIO_AUTH_TOKEN: SECRETS.twilioToken,
}

function routingDocument(projectId: string) {
  return {
    carriers: [
      {
        id: 'gw',
        type: 'generic',
        url: `https://shop:${SECRETS.urlPassword}@gw.example/send?access_token=${SECRETS.urlToken}&route=fast`,
        body: {
          to: '{{to}}',
          text: '{{text}}',
          api_key: SECRETS.literalBodyKey,
          acct: SECRETS.innocentlyNamed,
          type: 'sms',
        },
        headers: { 'X-Api-Key': SECRETS.headerKey },
        headersEnv: { Authorization: 'GW_TOKEN' },
        responseIdPath: 'id',
        callback: {
          secretEnv: 'GW_CALLBACK_SECRET',
          idPath: 'id',
          statusPath: 'status',
          statusMap: { ok: 'delivered' },
        },
      },
      {
        id: 'tw',
        type: 'twilio',
        accountSid: SECRETS.accountSid,
        authTokenEnv: 'TWILIO_AUTH_TOKEN',
        from: '+15005550006',
      },
      {
        id: 'elsewhere',
        type: 'twilio',
        accountSid: SECRETS.accountSid,
        authTokenEnv: 'TWILIO_AUTH_TOKEN',
        from: '+15005550007',
      },
    ],
    projects: {
      [projectId]: {
        rules: [
          {
            routes: [
              { carrier: 'gw', priority: 0, costPerSegment: 0.05 },
              { carrier: 'tw', priority: 1, costPerSegment: 0.0079 },
            ],
          },
          { countries: ['AX'], routes: [{ carrier: 'tw', costPerSegment: 0.09 }] },
        ],
      },
      prj_someoneelse: { rules: [{ routes: [{ carrier: 'elsewhere' }] }] },
    },
    breaker: { failures: 1, halfOpenAfterMs: 3_600_000 },
    retry: { attempts: 0 },
  }
}

/** An adapter that fails every send while `failing` is set (to open its breaker). */
function scripted(id: string) {
  const adapter: CarrierAdapter & { failing: boolean } = {
    id,
    failing: false,
    capabilities: { unicode: true, deliveryReports: true, maxParts: 10 },
    async send() {
      if (adapter.failing) throw new CarrierError(id, 'gateway down')
      return { carrierMessageId: `${id}-1`, status: 'sent' as const, segments: 1 }
    },
  }
  return adapter
}

describe('redactSecrets', () => {
  it('hides secret-like fields, URL credentials and the values of named variables', () => {
    const shown = redactSecrets(routingDocument('prj_x'), ENV) as ReturnType<typeof routingDocument>
    const gw = shown.carriers[0] as Record<string, unknown>
    expect(gw.url).toBe(
      `https://${REDACTED}:${REDACTED}@gw.example/send?access_token=${REDACTED}&route=fast`,
    )
    expect(gw.body).toEqual({
      to: '{{to}}',
      text: '{{text}}',
      api_key: REDACTED,
      acct: REDACTED,
      type: 'sms',
    })
    expect(gw.headers).toEqual({ 'X-Api-Key': REDACTED })
    // A variable's name is where the secret lives, not the secret: it stays readable.
    expect(gw.headersEnv).toEqual({ Authorization: 'GW_TOKEN' })
    expect((gw.callback as Record<string, unknown>).secretEnv).toBe('GW_CALLBACK_SECRET')
    expect((shown.carriers[1] as Record<string, unknown>).accountSid).toBe(REDACTED)
    expect((shown.carriers[1] as Record<string, unknown>).from).toBe('+15005550006')
    // A secret pasted where a name belongs is hidden too.
    expect(redactSecrets({ passwordEnv: 'not a name!' }, {})).toEqual({ passwordEnv: REDACTED })
    expect(
      redactSecrets(
        { note: `token is ${SECRETS.twilioToken}`, authTokenEnv: 'T' },
        { T: SECRETS.twilioToken },
      ),
    ).toEqual({ note: REDACTED, authTokenEnv: 'T' })
  })

  it("shows a gateway's own body and header values only when they cannot be credentials", () => {
    const shown = redactSecrets(
      {
        carriers: [
          {
            id: 'gw',
            type: 'generic',
            url: 'https://gw.example/send',
            body: {
              to: '+{{to}}',
              message: '{{brand}}: {{text}}',
              channel: 'SMS',
              flash: false,
              parts: 1,
              p: 'hunter2',
              user: 'shop-4411',
              pin: 482913,
              nested: { sender: 'Shop', account: 'a1b2c3d4e5f6' },
              list: ['{{id}}', 'Zx9-secret'],
            },
            headers: { 'X-Channel': 'otp', 'X-Acct': 'acct-991a', 'X-Auth': 'Bearer abc' },
            responseIdPath: 'data.id',
          },
        ],
      },
      {},
    ) as { carriers: Record<string, unknown>[] }
    const gw = shown.carriers[0] as Record<string, unknown>
    expect(gw.body).toEqual({
      to: '+{{to}}',
      message: '{{brand}}: {{text}}',
      channel: 'SMS',
      flash: false,
      parts: 1,
      p: REDACTED,
      user: REDACTED,
      pin: REDACTED,
      nested: { sender: 'Shop', account: REDACTED },
      list: ['{{id}}', REDACTED],
    })
    expect(gw.headers).toEqual({ 'X-Channel': 'otp', 'X-Acct': REDACTED, 'X-Auth': REDACTED })
    // Outside the gateway's own fields, names still decide: a path or a URL is shown.
    expect(gw.responseIdPath).toBe('data.id')
    expect(gw.url).toBe('https://gw.example/send')
  })
})

for (const dialect of DIALECTS) {
  describe(`console Messaging page (${dialect})`, () => {
    let h: Harness
    const projectId = 'prj_messagingtest1'
    const gw = scripted('gw')
    const tw = scripted('tw')
    const routing = parseRoutingConfig(routingDocument(projectId), 'routes.json', ENV)
    const router = createRouter({
      config: routing,
      adapters: new Map([
        ['gw', gw],
        ['tw', tw],
        ['elsewhere', scripted('elsewhere')],
      ]),
      sleep: async () => {},
    })
    const clients: Record<string, Awaited<ReturnType<typeof login>>> = {}

    beforeAll(async () => {
      h = await createHarness(dialect, { router, routing })
      // The routing file names the project, so it gets a known id.
      const { project } = await h.project({ name: 'Shop', codeLength: 6, brand: 'Shop' })
      await h.db
        .insertInto('projects')
        .values({ ...project, id: projectId })
        .execute()
      for (const role of ['owner', 'developer', 'analyst', 'support'] as const) {
        const op = await makeOperator(h, `${role}@shop.example`, role, projectId)
        clients[role] = await login(h, op)
      }
      // An analyst of every project ('*'), who may also read the whole server's outbox.
      clients.everyProject = await login(
        h,
        await makeOperator(h, 'wide@shop.example', 'analyst', '*'),
      )
    }, 90_000)
    afterAll(() => h?.dispose())

    const path = (rest = '') => `/projects/${projectId}/messaging${rest}`

    it('lets each role see and do only what its role allows, on the server', async () => {
      const expected: Record<string, { page: number; delivery: number; write: number }> = {
        owner: { page: 200, delivery: 200, write: 200 },
        developer: { page: 200, delivery: 200, write: 200 },
        analyst: { page: 403, delivery: 200, write: 403 },
        support: { page: 403, delivery: 403, write: 403 },
      }
      for (const [role, want] of Object.entries(expected)) {
        const client = clients[role]!
        expect([role, (await client.call('GET', path())).status]).toEqual([role, want.page])
        expect([role, (await client.call('GET', path('/delivery'))).status]).toEqual([
          role,
          want.delivery,
        ])
        const preview = await client.call('POST', path('/preview'), { body: { locale: 'en' } })
        expect([role, preview.status]).toEqual([role, want.page])
        const write = await client.call('PUT', path('/templates'), {
          body: { templates: { en: '{code} is your {brand} code' } },
        })
        expect([role, write.status]).toEqual([role, want.write])
      }
    })

    it('previews a draft: the rendered text, its encoding, parts and cost on each route', async () => {
      const draft =
        'Ваш код {code} для {brand}. Никому его не сообщайте, он действует {minutes} минут. 🙂'
      const { status, json } = await clients.developer!.call('POST', path('/preview'), {
        body: { locale: 'ru', template: draft, to: '+447400123456' },
      })
      expect(status).toBe(200)
      expect(json.to).toBe('+447400123456')
      expect(json.text).toContain('Ваш код 123456 для Shop')
      expect(json.text).toContain('действует 10 минут')
      // The WebOTP line of the project's first origin ends the text, as a real one would.
      expect(json.text).toMatch(/\n\n@shop\.example #123456$/)
      const expected = segmentInfo(json.text)
      expect(expected.encoding).toBe('UCS-2')
      expect(json).toMatchObject({ encoding: 'UCS-2', segments: expected.segments })
      expect(json.segments).toBeGreaterThan(1)
      expect(json.routes).toEqual([
        expect.objectContaining({
          carrier: 'gw',
          costPerSegment: 0.05,
          cost: { amount: (0.05 * expected.segments).toFixed(6), currency: 'USD' },
        }),
        expect.objectContaining({
          carrier: 'tw',
          cost: { amount: (0.0079 * expected.segments).toFixed(6), currency: 'USD' },
        }),
      ])
      const plain = await clients.developer!.call('POST', path('/preview'), {
        body: { locale: 'en', template: 'Code {code}', to: '+447400123456' },
      })
      expect(plain.json).toMatchObject({ encoding: 'GSM-7', segments: 1 })
      expect(plain.json.routes[0].cost).toEqual({ amount: '0.050000', currency: 'USD' })
      const bad = await clients.developer!.call('POST', path('/preview'), {
        body: { locale: 'en', template: 'no placeholder here' },
      })
      expect(bad.status).toBe(400)
      expect(bad.json.error.issues[0]).toMatchObject({ path: 'template' })
      const uk = await clients.developer!.call('POST', path('/preview'), {
        body: { locale: 'en', country: 'UK' },
      })
      expect([uk.status, uk.json.error.message]).toEqual([
        400,
        '"UK" is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)',
      ])
    })

    it('previews the route a start of the project would take, with the country it would count', async () => {
      // Åland's mobiles are in Finland's ranges: only a project that allows AX and not FI counts
      // them as AX (and routes them on its AX rule).
      const allow = (countries: string[] | null) =>
        h.db
          .updateTable('projects')
          .set({ allowed_countries: countries ? JSON.stringify(countries) : null })
          .where('id', '=', projectId)
          .execute()
      await allow(['AX'])
      try {
        const aland = await clients.developer!.call('POST', path('/preview'), {
          body: { locale: 'en', country: 'AX' },
        })
        expect(aland.status).toBe(200)
        expect(aland.json.to).toMatch(/^\+358/)
        expect(aland.json.routes).toEqual([
          expect.objectContaining({ carrier: 'tw', costPerSegment: 0.09 }),
        ])
        const typed = await clients.developer!.call('POST', path('/preview'), {
          body: { locale: 'en', to: '+358412345678' },
        })
        expect(typed.json.routes).toEqual([
          expect.objectContaining({ carrier: 'tw', costPerSegment: 0.09 }),
        ])
      } finally {
        await allow(null)
      }
      // Where every country is allowed, the same number is Finland's.
      const finnish = await clients.developer!.call('POST', path('/preview'), {
        body: { locale: 'en', to: '+358412345678' },
      })
      expect(finnish.json.routes.map((r: { carrier: string }) => r.carrier)).toEqual(['gw', 'tw'])
    })

    it('saves templates and registrations, refuses bad ones naming the field, and audits', async () => {
      const saved = await clients.owner!.call('PUT', path('/templates'), {
        body: { templates: { en: '{code} is your {brand} code', 'zh-CN': '您的验证码是{code}' } },
      })
      expect(saved.status).toBe(200)
      const page = await clients.owner!.call('GET', path())
      expect(page.json.templates).toEqual({
        en: '{code} is your {brand} code',
        'zh-CN': '您的验证码是{code}',
      })
      expect(page.json.defaults.en).toContain('{code}')
      const missing = await clients.owner!.call('PUT', path('/templates'), {
        body: { templates: { en: 'no code' } },
      })
      expect(missing.status).toBe(400)
      expect(missing.json.error.issues[0].message).toMatch(/\{code\}/)

      const registrations = {
        signName: '好店',
        alibaba: { templateCode: 'SMS_154950909', params: { code: 'code' } },
        indiaDlt: { entityId: '1101456789012345678', templateId: '1107161234567890123' },
      }
      const reg = await clients.developer!.call('PUT', path('/registrations'), {
        body: { registrations },
      })
      expect(reg.status).toBe(200)
      expect((await clients.owner!.call('GET', path())).json.registrations).toEqual(registrations)
      const badReg = await clients.developer!.call('PUT', path('/registrations'), {
        body: { registrations: { indiaDlt: { entityId: '12' } } },
      })
      expect(badReg.status).toBe(400)
      expect(badReg.json.error.issues[0].path).toBe('registrations.indiaDlt.entityId')
      // A text to mainland China carries the registered 【signature】.
      const china = await clients.developer!.call('POST', path('/preview'), {
        body: { locale: 'zh-CN', to: '+8613800138000' },
      })
      expect(china.json.text.startsWith('【好店】您的验证码是123456')).toBe(true)
      const audit = await h.db
        .selectFrom('audit_log')
        .select(['action', 'actor_label'])
        .where('action', 'in', ['templates.update', 'registrations.update'])
        .where('status', '=', 200)
        .execute()
      expect(audit).toEqual(
        expect.arrayContaining([
          { action: 'templates.update', actor_label: 'owner@shop.example' },
          { action: 'registrations.update', actor_label: 'developer@shop.example' },
        ]),
      )
    })

    it('shows the routing file of this project only, with no secret in any console answer', async () => {
      const { json } = await clients.owner!.call('GET', path())
      expect(json.routing.carriers.map((c: { id: string }) => c.id)).toEqual(['gw', 'tw'])
      expect(Object.keys(json.routing.projects)).toEqual([projectId])
      expect(json.routing.carriers[0].headersEnv).toEqual({ Authorization: 'GW_TOKEN' })

      // Every GET route of the console API, as the owner (who sees the most), and the preview.
      const routes = h.app.routes
        .filter((r) => r.method === 'GET' && r.path.startsWith('/console/api/'))
        .map((r) =>
          r.path
            .replace('/console/api', '')
            .replace(':projectId', projectId)
            .replace(/:(\w+)/g, 'x'),
        )
      const paths = [...new Set(routes)]
      expect(paths).toEqual(expect.arrayContaining([path(), path('/delivery')]))
      expect(paths.length).toBeGreaterThan(15)
      const answers = await Promise.all(paths.map((p) => clients.owner!.call('GET', p)))
      answers.push(await clients.owner!.call('POST', path('/preview'), { body: { locale: 'en' } }))
      const all = answers.map((a) => a.text).join('\n')
      expect(all).toContain(REDACTED)
      for (const [name, secret] of Object.entries(SECRETS)) {
        expect([name, all.includes(secret)]).toEqual([name, false])
      }
    })

    it("gives each route its breaker state, delivery rate and latency, the project's outbox, and the server's as /metrics has it to an operator of every project", async () => {
      const at = h.now()
      const message = (id: string, carrier: string, delivered: number | null, failed = false) => ({
        id,
        verification_id: `ver_${id}`,
        project_id: projectId,
        mode: 'live' as const,
        to: '+447400123456',
        body_encrypted: null,
        template_encrypted: null,
        status: failed
          ? ('failed' as const)
          : delivered === null
            ? ('sent' as const)
            : ('delivered' as const),
        carrier,
        carrier_message_id: `${carrier}-${id}`,
        error: null,
        created_at: at - 60_000,
        sent_at: at - 60_000,
        delivered_at: delivered === null ? null : at - 60_000 + delivered,
        updated_at: at,
        error_code: null,
        cost_amount: null,
        cost_currency: null,
        encoding: 'GSM-7',
        segments: 1,
        failed_at: failed ? at : null,
        status_at: at,
      })
      // Another project's texts: one pending, one given up on, one being sent.
      const { project: other } = await h.project({ name: 'Other shop' })
      const ids = ['msg_a1', 'msg_a2', 'msg_a3', 'msg_a4', 'msg_b1']
      const otherIds = ['msg_o1', 'msg_o2', 'msg_o3']
      await h.db
        .insertInto('verifications')
        .values(
          ids.map((id) => ({
            id: `ver_${id}`,
            project_id: projectId,
            mode: 'live' as const,
            phone: '+447400123456',
            country: 'GB',
            channel: 'sms',
            locale: null,
            status: 'pending' as const,
            code_hmac: 'x',
            code_length: 6,
            consent_version: 'v1',
            consent_at: at,
            origin: null,
            ip: null,
            created_at: at - 60_000,
            expires_at: at + 600_000,
            resend_after: at,
            approved_at: null,
          })),
        )
        .execute()
      for (const id of otherIds) {
        await insertTestVerification(h.db, {
          id: `ver_${id}`,
          projectId: other.id,
          phone: '+447400123999',
          now: at - 600_000,
        })
      }
      await h.db
        .insertInto('messages')
        .values(
          otherIds.map((id) => ({
            ...message(id, 'elsewhere', null),
            project_id: other.id,
            to: '+447400123999',
            status: 'queued' as const,
            carrier: null,
            carrier_message_id: null,
            sent_at: null,
          })),
        )
        .execute()
      await h.db
        .insertInto('outbox')
        .values([
          // The oldest pending text of the server is the other project's.
          {
            id: 'obx_o1',
            message_id: 'msg_o1',
            state: 'pending',
            available_at: at,
            created_at: at - 600_000,
          },
          {
            id: 'obx_o2',
            message_id: 'msg_o2',
            state: 'dead',
            available_at: at,
            created_at: at - 600_000,
          },
          {
            id: 'obx_o3',
            message_id: 'msg_o3',
            state: 'pending',
            available_at: at,
            claimed_by: 'another-process',
            claimed_until: at + 30_000,
            created_at: at - 500_000,
          },
        ])
        .execute()
      await h.db
        .insertInto('messages')
        .values([
          message('msg_a1', 'gw', 1_000),
          message('msg_a2', 'gw', 3_000),
          message('msg_a3', 'gw', 2_000),
          message('msg_a4', 'gw', null, true),
          message('msg_b1', 'tw', null),
        ])
        .execute()
      await h.db
        .insertInto('outbox')
        .values([
          {
            id: 'obx_1',
            message_id: 'msg_b1',
            state: 'pending',
            available_at: at,
            created_at: at - 90_000,
          },
          {
            id: 'obx_2',
            message_id: 'msg_a4',
            state: 'dead',
            available_at: at,
            created_at: at - 10_000,
          },
        ])
        .execute()
      // One failure opens gw's breaker (failures: 1 in the routing file).
      gw.failing = true
      const sent = await router.send({
        id: 'msg_probe',
        to: '+447400123456',
        body: 'x',
        projectId,
        mode: 'live',
      })
      expect(sent.carrier).toBe('tw')
      const delivery = await clients.analyst!.call('GET', path('/delivery'))
      expect(delivery.status).toBe(200)
      const byCarrier = Object.fromEntries(
        delivery.json.routes.map((r: { carrier: string }) => [r.carrier, r]),
      )
      expect(byCarrier.gw).toMatchObject({
        sent: 4,
        delivered: 3,
        failed: 1,
        deliveryRate: 0.75,
        latencyMs: { median: 2_000, p95: 3_000 },
      })
      expect(byCarrier.gw.breaker).toBe('open')
      // Another project's carrier is not shown.
      expect(Object.keys(byCarrier).sort()).toEqual(['gw', 'tw'])
      expect(byCarrier.tw).toMatchObject({
        sent: 1,
        delivered: 0,
        deliveryRate: null,
        breaker: 'closed',
      })
      // The project's texts only: none of the other project's three are counted.
      // (The harness's clock moves on a few milliseconds between the rows and the answer.)
      const projectOutbox = {
        depth: 1,
        oldestAgeSeconds: expect.closeTo(90, 0),
        due: 1,
        sending: 0,
        retrying: 0,
        dead: 1,
      }
      expect(delivery.json.outbox).toEqual(projectOutbox)
      // An analyst of this project is not shown the whole server's outbox…
      expect(delivery.json).not.toHaveProperty('serverOutbox')
      // …an analyst of every project is, with the same figures as /metrics.
      const wide = await clients.everyProject!.call('GET', path('/delivery'))
      expect(wide.status).toBe(200)
      expect(wide.json.outbox).toEqual(projectOutbox)
      expect(wide.json.serverOutbox).toEqual({
        depth: 3,
        oldestAgeSeconds: expect.closeTo(600, 0),
        due: 2,
        sending: 1,
        retrying: 0,
        dead: 2,
      })
      const metrics = await h.app.request('http://textgate.test/metrics', {
        headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
      })
      const text = await metrics.text()
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
      expect(wide.json.serverOutbox.depth).toBe(gauge('textgate_outbox_depth'))
      expect(wide.json.serverOutbox.oldestAgeSeconds).toBe(
        gauge('textgate_outbox_oldest_age_seconds'),
      )
    })
  })
}
