/** The carrier registry: one kind per carrier folder, and each kind says what its adapter does. */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseRoutingConfig } from '../routing/routing-file'
import { CARRIER_KINDS, CARRIER_TYPES, carrierFromSpec, kindOf } from './registry'

const ENV = { SECRET: 'a-secret-value', EMPTY: '' }
const SID = '0123456789abcdef'.repeat(2)

/** A small valid entry of every kind, and variants that change what the adapter can do. */
const ENTRIES = [
  {
    id: 'smsc',
    type: 'smpp',
    host: '127.0.0.1',
    port: 2775,
    systemId: 'shop',
    passwordEnv: 'EMPTY',
    sourceAddr: 'Shop',
  },
  {
    id: 'smsc-long',
    type: 'smpp',
    host: '127.0.0.1',
    port: 2775,
    systemId: 'shop',
    password: 'pw',
    sourceAddr: 'Shop',
    maxParts: 4,
  },
  {
    id: 'tw',
    type: 'twilio',
    accountSid: `AC${SID}`,
    authTokenEnv: 'SECRET',
    from: '+15005550006',
  },
  { id: 'vg', type: 'vonage', apiKey: 'k', apiSecretEnv: 'SECRET', from: 'Shop' },
  {
    id: 'vg-token',
    type: 'vonage',
    apiKey: 'k',
    apiSecretEnv: 'SECRET',
    callbackTokenEnv: 'SECRET',
    from: 'Shop',
  },
  {
    id: 'vg-signed',
    type: 'vonage',
    apiKey: 'k',
    signature: { secretEnv: 'SECRET', method: 'sha256' },
    from: 'Shop',
  },
  {
    id: 'ib',
    type: 'infobip',
    baseUrl: 'https://x.api.infobip.com',
    apiKeyEnv: 'SECRET',
    from: 'Shop',
  },
  {
    id: 'ib-token',
    type: 'infobip',
    baseUrl: 'https://x.api.infobip.com',
    apiKeyEnv: 'SECRET',
    from: 'Shop',
    callbackTokenEnv: 'SECRET',
  },
  {
    id: 'gw',
    type: 'generic',
    url: 'https://sms.example/send',
    body: { to: '{{to}}', text: '{{text}}' },
    responseIdPath: 'id',
  },
  {
    id: 'gw-full',
    type: 'generic',
    url: 'https://sms.example/send',
    body: { to: '{{to}}', text: '{{text}}', ttl: '{{validitySeconds}}' },
    responseIdPath: 'id',
    callback: {
      secretEnv: 'SECRET',
      idPath: 'id',
      statusPath: 'status',
      statusMap: { ok: 'delivered' },
    },
    capabilities: { maxParts: 3, unicode: false },
  },
  { id: 'ali', type: 'alibaba', accessKeyId: 'id', accessKeySecretEnv: 'SECRET' },
  {
    id: 'ali-token',
    type: 'alibaba',
    accessKeyId: 'id',
    accessKeySecretEnv: 'SECRET',
    callbackTokenEnv: 'SECRET',
  },
  { id: 'tc', type: 'tencent', secretId: 'id', secretKeyEnv: 'SECRET', smsSdkAppId: '1400000000' },
]

describe('carrier registry', () => {
  const config = parseRoutingConfig(
    { carriers: ENTRIES, projects: { '*': { rules: [{ routes: [{ carrier: 'tw' }] }] } } },
    'routes.json',
    ENV,
  )

  it('lists every carrier folder that has a routing-file entry, once', () => {
    const folders = readdirSync(__dirname).filter(
      (name) =>
        statSync(join(__dirname, name)).isDirectory() &&
        readdirSync(join(__dirname, name)).includes('entry.ts'),
    )
    expect([...CARRIER_TYPES].sort()).toEqual(folders.sort())
    expect(new Set(CARRIER_TYPES).size).toBe(CARRIER_KINDS.length)
    expect(new Set(ENTRIES.map((e) => e.type))).toEqual(new Set(CARRIER_TYPES))
  })

  it.each(ENTRIES.map((e) => e.id))(
    '%s: the kind declares the capabilities its adapter has',
    async (id) => {
      const spec = config.carriers.find((c) => c.id === id)!
      const adapter = carrierFromSpec(spec, { env: ENV, publicUrl: 'https://verify.example' })
      try {
        expect(adapter.id).toBe(id)
        expect(kindOf(spec).capabilities(spec)).toEqual(adapter.capabilities)
      } finally {
        await adapter.close?.()
      }
    },
  )

  it('refuses an unknown type, naming the known ones', () => {
    expect(() =>
      parseRoutingConfig({ carriers: [{ id: 'x', type: 'pigeon' }], projects: {} }, 'r.json', ENV),
    ).toThrow(
      /unknown carrier type "pigeon" \(known: "smpp", "twilio", "vonage", "infobip", "generic", "alibaba", "tencent"\)/,
    )
  })
})
