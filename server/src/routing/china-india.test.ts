import { describe, expect, it } from 'vitest'
import { routingProblems } from '../../testing/routing-problems'
import { type CarrierAdapter, CarrierError, type OutgoingMessage } from '../carriers/types'
import { carrierFromSpec } from './index'
import { createRouter } from './router'
import { parseRoutingConfig } from './routing-file'

/** A recording adapter; template-only ones stand for Alibaba or Tencent. */
function recorder(id: string, templatesOnly = false) {
  const calls: OutgoingMessage[] = []
  const adapter: CarrierAdapter & { calls: OutgoingMessage[] } = {
    id,
    capabilities: { unicode: true, deliveryReports: false, maxParts: 5, templatesOnly },
    calls,
    async send(message) {
      calls.push(message)
      return { carrierMessageId: `${id}-${calls.length}`, status: 'sent' }
    },
  }
  return adapter
}

function routerWith(adapters: CarrierAdapter[]) {
  const config = parseRoutingConfig(
    {
      carriers: adapters.map((a) => ({
        id: a.id,
        type: 'generic',
        url: 'https://sms.example/send',
        body: { to: '{{to}}' },
        responseIdPath: 'id',
      })),
      projects: {
        '*': { rules: [{ routes: adapters.map((a, i) => ({ carrier: a.id, priority: i })) }] },
      },
    },
    'test',
    {},
  )
  return createRouter({ config, adapters: new Map(adapters.map((a) => [a.id, a])) })
}

const toChina = (body: string): OutgoingMessage => ({
  id: 'msg_cn',
  to: '+8613800138000',
  body,
  projectId: 'prj_1',
  mode: 'live',
})

describe('the +86 signature rule', () => {
  it('fails an unsigned text to mainland China permanently, naming the setting', async () => {
    const smsc = recorder('smsc')
    const error = await routerWith([smsc])
      .send(toChina('482913 是您的好店验证码'))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CarrierError)
    expect(error).toMatchObject({ permanent: true })
    expect((error as Error).message).toMatch(/【signature】.*signName.*registrations set/)
    expect(smsc.calls).toHaveLength(0)
  })

  it('sends a signed text, and lets a template-only route take an unsigned one', async () => {
    const smsc = recorder('smsc')
    await routerWith([smsc]).send(toChina('【好店】482913 是您的好店验证码'))
    expect(smsc.calls).toHaveLength(1)

    const free = recorder('free')
    const alibaba = recorder('ali', true)
    const result = await routerWith([free, alibaba]).send(toChina('482913 是您的好店验证码'))
    expect(result.carrier).toBe('ali')
    expect(free.calls).toHaveLength(0)
  })

  it('leaves other countries alone', async () => {
    const smsc = recorder('smsc')
    await routerWith([smsc]).send({ ...toChina('482913 is your code'), to: '+447700900123' })
    expect(smsc.calls).toHaveLength(1)
  })
})

describe('routing file: China and India fields', () => {
  const smpp = {
    id: 'smsc-in',
    type: 'smpp',
    host: '127.0.0.1',
    port: 2775,
    systemId: 'tg',
    password: 'pw',
    sourceAddr: 'SHOPIN',
  }
  const problems = (carrier: object) =>
    routingProblems(() =>
      parseRoutingConfig({ carriers: [carrier], projects: {} }, 'routes.json', {}),
    )

  it('reads SMPP DLT TLV tags as "0x…" text or numbers, or false', () => {
    const parsed = parseRoutingConfig(
      {
        carriers: [
          { ...smpp, dltTlvs: { entityId: '0x1400', templateId: 5121 } },
          { ...smpp, id: 'other', dltTlvs: false },
        ],
        projects: {},
      },
      'routes.json',
      {},
    )
    expect(parsed.carriers[0]).toMatchObject({ dltTlvs: { entityId: 0x1400, templateId: 0x1401 } })
    expect(parsed.carriers[1]).toMatchObject({ dltTlvs: false })
  })

  it('names a bad TLV tag and a bad template parameter', () => {
    expect(problems({ ...smpp, dltTlvs: { entityId: '0x0005', templateId: '0x1401' } })).toEqual([
      'carriers.0.dltTlvs.entityId: must be a vendor-specific tag, 0x1400 to 0x3FFF',
    ])
    expect(
      problems({
        id: 'ali',
        type: 'alibaba',
        accessKeyId: 'LTAI',
        accessKeySecretEnv: 'ALI_SECRET',
        templateParams: { code: 'otp' },
      }),
    ).toEqual(['carriers.0.templateParams.code: must be "code", "minutes" or "brand"'])
  })

  it('builds Alibaba and Tencent entries without a template: projects may register theirs', () => {
    const env = { ALI_SECRET: 'a', TC_SECRET: 'b' }
    const parsed = parseRoutingConfig(
      {
        carriers: [
          { id: 'ali', type: 'alibaba', accessKeyId: 'LTAI', accessKeySecretEnv: 'ALI_SECRET' },
          {
            id: 'tc',
            type: 'tencent',
            secretId: 'AKID',
            secretKeyEnv: 'TC_SECRET',
            smsSdkAppId: '1400006666',
            templateParams: ['code', 'minutes'],
          },
        ],
        projects: {},
      },
      'routes.json',
      env,
    )
    for (const spec of parsed.carriers) {
      expect(carrierFromSpec(spec, { env }).capabilities.templatesOnly).toBe(true)
    }
  })
})
