/** The routing file's HTTP carrier entries: their checks, and the adapters they become. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type FakeRequest, startFakeServer } from '../../testing/carriers/fake-server'
import { routingProblems } from '../../testing/routing-problems'
import { carrierFromSpec, routerFromConfig } from './index'
import { parseRoutingConfig } from './routing-file'

const ENV = {
  TWILIO_TOKEN: 'twilio-token',
  TWILIO_KEY_SECRET: 'twilio-key-secret',
  VONAGE_SECRET: 'vonage-secret',
  VONAGE_SIG: 'vonage-sig',
  INFOBIP_KEY: 'infobip-key',
  INFOBIP_TOKEN: 'infobip-token',
  GATEWAY_AUTH: 'Bearer gw',
  GATEWAY_HOOK: 'gw-hook',
  ALIBABA_SECRET: 'alibaba-secret',
  TENCENT_KEY: 'tencent-key',
  TENCENT_TOKEN: 'tencent-token',
}

const carriers = [
  {
    id: 'tw',
    type: 'twilio',
    accountSid: 'AC0123456789abcdef0123456789abcdef',
    authTokenEnv: 'TWILIO_TOKEN',
    apiKey: { sid: 'SK0123456789abcdef0123456789abcdef', secretEnv: 'TWILIO_KEY_SECRET' },
    from: '+15005550006',
    baseUrl: 'http://127.0.0.1:9/twilio',
  },
  {
    id: 'vg',
    type: 'vonage',
    apiKey: 'abc123',
    signature: { secretEnv: 'VONAGE_SIG', method: 'sha256' },
    from: 'Shop',
    currency: 'EUR',
    restHost: 'https://rest.nexmo.com',
  },
  {
    id: 'vg-plain',
    type: 'vonage',
    apiKey: 'abc123',
    apiSecretEnv: 'VONAGE_SECRET',
    from: 'Shop',
  },
  {
    id: 'ib',
    type: 'infobip',
    baseUrl: 'https://xxxxx.api.infobip.com',
    apiKeyEnv: 'INFOBIP_KEY',
    from: 'Shop',
    callbackTokenEnv: 'INFOBIP_TOKEN',
  },
  {
    id: 'gw',
    type: 'generic',
    url: 'https://sms.example/api/messages',
    bodyFormat: 'json',
    body: { recipient: '{{to}}', content: '{{text}}', meta: { ref: '{{id}}', flash: false } },
    headers: { 'X-Tenant': 'shop' },
    headersEnv: { Authorization: 'GATEWAY_AUTH' },
    responseIdPath: 'data.message.id',
    callback: {
      secretEnv: 'GATEWAY_HOOK',
      idPath: 'id',
      statusPath: 'state',
      statusMap: { DELIVERED: 'delivered', FAILED: 'failed' },
    },
    capabilities: { maxParts: 3 },
  },
  {
    id: 'ali',
    type: 'alibaba',
    accessKeyId: 'LTAI0123',
    accessKeySecretEnv: 'ALIBABA_SECRET',
    signName: 'Shop',
    templateCode: 'SMS_123',
    reportUtcOffset: '+08:00',
  },
  {
    id: 'tc',
    type: 'tencent',
    secretId: 'AKID0123',
    secretKeyEnv: 'TENCENT_KEY',
    smsSdkAppId: '1400006666',
    templateId: '1110',
    signName: 'Shop',
    endpoint: 'https://sms.intl.tencentcloudapi.com',
    callbackTokenEnv: 'TENCENT_TOKEN',
  },
]

const routing = (entries: unknown[]) => ({
  carriers: entries,
  projects: {
    '*': {
      rules: [
        {
          routes: entries.map((c) => ({ carrier: (c as { id: string }).id })),
        },
      ],
    },
  },
})

const problems = (input: unknown, env: Record<string, string> = ENV) =>
  routingProblems(() => parseRoutingConfig(input, 'routes.json', env))

describe('HTTP carriers in the routing file', () => {
  it('accepts one entry of every type and builds each adapter under its own id', async () => {
    const config = parseRoutingConfig(routing(carriers), 'routes.json', ENV)
    const adapters = config.carriers.map((spec) =>
      carrierFromSpec(spec, { env: ENV, publicUrl: 'https://verify.example' }),
    )
    expect(adapters.map((a) => a.id)).toEqual(['tw', 'vg', 'vg-plain', 'ib', 'gw', 'ali', 'tc'])
    for (const adapter of adapters) {
      expect(typeof adapter.send).toBe('function')
      expect(typeof adapter.verifyCallback).toBe('function')
      expect(typeof adapter.parseReports).toBe('function')
    }
    expect(adapters.find((a) => a.id === 'gw')?.capabilities.maxParts).toBe(3)
    expect(adapters.find((a) => a.id === 'ali')?.capabilities.templatesOnly).toBe(true)
    // Which adapters hand the code's remaining lifetime to their carrier.
    expect(Object.fromEntries(adapters.map((a) => [a.id, a.capabilities.validityPeriod]))).toEqual({
      tw: true,
      vg: true,
      'vg-plain': true,
      ib: true,
      gw: false,
      ali: false,
      tc: false,
    })
    const router = routerFromConfig(config, { env: ENV })
    expect([...router.adapters()].map((a) => a.id)).toHaveLength(7)
    await router.close()
  })

  it('checks callbacks with the secrets named by the entry', () => {
    const config = parseRoutingConfig(routing(carriers), 'routes.json', ENV)
    const byId = new Map(
      config.carriers.map((spec) => [spec.id, carrierFromSpec(spec, { env: ENV })]),
    )
    const url = 'https://verify.example/v1/carriers/ib/reports'
    const infobip = byId.get('ib')!
    expect(
      infobip.verifyCallback?.({
        method: 'POST',
        url: `${url}?token=infobip-token`,
        headers: {},
        body: '{}',
      }),
    ).toBe(true)
    expect(
      infobip.verifyCallback?.({
        method: 'POST',
        url: `${url}?token=nope`,
        headers: {},
        body: '{}',
      }),
    ).toBe(false)
  })

  it('names the variable and the carrier when a secret is missing or empty', () => {
    const { TWILIO_TOKEN: _, ...env } = ENV
    expect(problems(routing(carriers), { ...env, GATEWAY_AUTH: '' })).toEqual([
      'carriers.0.authTokenEnv: the environment variable TWILIO_TOKEN is not set (carrier "tw")',
      'carriers.4.headersEnv.Authorization: the environment variable GATEWAY_AUTH is empty (carrier "gw")',
    ])
  })

  it('gives one message per bad field path', () => {
    const [twilio, vonage, infobip, generic, alibaba] = [
      carriers[0],
      carriers[1],
      carriers[3],
      carriers[4],
      carriers[5],
    ] as Record<string, unknown>[]
    const { accountSid: _, ...twilioWithoutSid } = twilio!
    const found = problems(
      routing([
        { ...twilioWithoutSid, baseUrl: 'not a url', authTokenEnv: 'lower-case' },
        { ...vonage, restHost: 'ftp://rest.nexmo.com', signature: { secretEnv: 'VONAGE_SIG' } },
        { ...infobip, apiKey: 'the-key-itself' },
        { ...generic, headers: { Authorization: 'Bearer secret' } },
        { ...alibaba, type: 'aliyun' },
      ]),
    )
    expect(found).toEqual([
      'carriers.0.accountSid: is required',
      'carriers.0.authTokenEnv: must be an environment variable name (A-Z, 0-9, _)',
      'carriers.0.baseUrl: must be an http or https URL such as https://api.example.com',
      'carriers.1.signature.method: is required',
      'carriers.1.restHost: must be an http or https URL such as https://api.example.com',
      'carriers.2.apiKey: is not a known field',
      'carriers.3.headers.Authorization: Authorization holds a secret: put it in "headersEnv"',
      'carriers.4.type: unknown carrier type "aliyun" (known: "smpp", "twilio", "vonage", "infobip", "generic", "alibaba", "tencent")',
    ])
  })

  it('checks what one field cannot say alone', () => {
    const [twilio, , vonagePlain] = carriers as Record<string, unknown>[]
    const { from: _, ...twilioWithoutFrom } = twilio!
    const { apiSecretEnv: __, ...vonageWithoutSecret } = vonagePlain!
    expect(
      problems(
        routing([
          twilioWithoutFrom,
          { ...twilio, id: 'tw2', messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' },
          vonageWithoutSecret,
          { ...carriers[4], headersEnv: { 'x-tenant': 'GATEWAY_AUTH' } },
        ]),
      ),
    ).toEqual([
      'carriers.0: needs "from" or "messagingServiceSid"',
      'carriers.1.messagingServiceSid: set "from" or "messagingServiceSid", not both',
      'carriers.2: needs "apiSecretEnv" or "signature"',
      'carriers.3.headersEnv.x-tenant: the header is also in "headers"',
    ])
  })
})

describe("the README's carrier examples", () => {
  it('validate and build, one entry per HTTP type', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const from = readme.indexOf('One entry per')
    const start = readme.indexOf('```json', from) + '```json'.length
    const entries = JSON.parse(readme.slice(start, readme.indexOf('```', start))) as unknown[]
    const env = Object.fromEntries(
      [...JSON.stringify(entries).matchAll(/"([A-Z][A-Z0-9_]+)"/g)].map(([, name]) => [name, 'x']),
    )
    const config = parseRoutingConfig({ carriers: entries, projects: {} }, 'README.md', env)
    expect(config.carriers.map((spec) => carrierFromSpec(spec, { env }).id)).toHaveLength(6)
    expect(new Set(config.carriers.map((spec) => spec.type)).size).toBe(6)
  })
})

describe('HTTP carriers built from the routing file, on the wire', () => {
  it('send with the secrets from the environment and point reports at PUBLIC_URL', async () => {
    const seen: FakeRequest[] = []
    const gateway = await startFakeServer(
      (request) => {
        seen.push(request)
        if (request.url === '/sms/json') {
          return { status: 200, body: { messages: [{ status: '0', 'message-id': 'vg-1' }] } }
        }
        if (request.url === '/sms/2/text/advanced') {
          return {
            status: 200,
            body: { messages: [{ messageId: 'ib-1', status: { groupName: 'PENDING' } }] },
          }
        }
        return { status: 200, body: { data: { message: { id: 'gw-1' } } } }
      },
      () => ({ status: 500 }),
    )
    try {
      const entries = [
        { ...carriers[2], restHost: gateway.baseUrl, callbackTokenEnv: 'VONAGE_SIG' },
        { ...carriers[3], baseUrl: gateway.baseUrl },
        { ...carriers[4], url: `${gateway.baseUrl}/api/messages` },
      ]
      const config = parseRoutingConfig(routing(entries), 'routes.json', ENV)
      const publicUrl = 'https://verify.example/'
      const message = {
        id: 'msg_1',
        to: '+447700900123',
        body: '123456 is your code',
        projectId: 'prj_1',
        mode: 'live' as const,
      }
      const ids = []
      for (const spec of config.carriers) {
        const result = await carrierFromSpec(spec, { env: ENV, publicUrl }).send(message)
        ids.push(result.carrierMessageId)
      }
      expect(ids).toEqual(['vg-1', 'ib-1', 'gw-1'])

      const vonage = new URLSearchParams(seen[0]?.body)
      expect(vonage.get('api_secret')).toBe('vonage-secret')
      expect(vonage.get('callback')).toBe(
        'https://verify.example/v1/carriers/vg-plain/reports?token=vonage-sig',
      )
      expect(seen[1]?.headers.authorization).toBe('App infobip-key')
      expect(JSON.parse(seen[1]?.body ?? '{}').messages[0].notifyUrl).toBe(
        'https://verify.example/v1/carriers/ib/reports?token=infobip-token',
      )
      expect(seen[2]?.headers).toMatchObject({ authorization: 'Bearer gw', 'x-tenant': 'shop' })
      expect(JSON.parse(seen[2]?.body ?? '{}')).toMatchObject({
        recipient: '+447700900123',
        meta: { ref: 'msg_1', flash: false },
      })
    } finally {
      await gateway.close()
    }
  })

  it("gives the generic gateway {{validitySeconds}} within the entry's validitySeconds range", async () => {
    const seen: FakeRequest[] = []
    const gateway = await startFakeServer(
      (request) => {
        seen.push(request)
        return { status: 200, body: { data: { message: { id: 'gw-1' } } } }
      },
      () => ({ status: 500 }),
    )
    try {
      const entry = {
        ...carriers[4],
        url: `${gateway.baseUrl}/api/messages`,
        body: { recipient: '{{to}}', content: '{{text}}', ttl: '{{validitySeconds}}' },
        validitySeconds: { min: 60, max: 300 },
      }
      const config = parseRoutingConfig(routing([entry]), 'routes.json', ENV)
      const adapter = carrierFromSpec(config.carriers[0]!, { env: ENV })
      expect(adapter.capabilities.validityPeriod).toBe(true)
      const message = {
        id: 'm',
        to: '+447700900123',
        body: 'x',
        projectId: 'p',
        mode: 'live' as const,
      }
      await adapter.send({ ...message, expiresAt: Date.now() + 86_400_000 })
      await adapter.send({ ...message, expiresAt: Date.now() + 1_000 })
      expect(seen.map((r) => JSON.parse(r.body).ttl)).toEqual(['300', '60'])
      expect(problems(routing([{ ...entry, validitySeconds: { min: 0 } }]))).toEqual([
        'carriers.0.validitySeconds.min: must be at least 1',
      ])
    } finally {
      await gateway.close()
    }
  })
})
