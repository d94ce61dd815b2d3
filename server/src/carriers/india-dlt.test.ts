import type { AddressInfo } from 'node:net'
import { AuthType, Infobip } from '@infobip-api/sdk'
import { Vonage } from '@vonage/server-sdk'
import smpp, { type PDU } from 'smpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGenericFake } from '../../testing/carriers/generic'
import { startInfobipFake } from '../../testing/carriers/infobip'
import { startVonageFake } from '../../testing/carriers/vonage'
import { genericHttpCarrier } from './generic/index'
import { infobipCarrier } from './infobip/index'
import { smppCarrier } from './smpp/index'
import type { OutgoingMessage } from './types'
import { vonageCarrier } from './vonage/index'

const entityId = '1101456789012345678'
const templateId = '1107161234567890123'
const dlt = { entityId, templateId }

/** A code message with the project's DLT ids, to `to`. */
function message(to: string, id = 'msg_in_1'): OutgoingMessage {
  return {
    id,
    to,
    body: '482913 is your Shop verification code. It expires in 10 minutes.',
    projectId: 'prj_1',
    mode: 'live',
    template: {
      values: { code: '482913', minutes: '10', brand: 'Shop' },
      locale: 'en',
      indiaDlt: dlt,
    },
  }
}

describe('India DLT ids on the wire: infobip', () => {
  const apiKey = 'infobip-api-key-0123456789abcdef'
  const notifyUrl = 'https://verify.example/v1/carriers/infobip/reports'
  let fake: Awaited<ReturnType<typeof startInfobipFake>>
  beforeAll(async () => {
    fake = await startInfobipFake({ apiKey, notifyUrl })
  })
  afterAll(() => fake.close())

  it('sends regional.indiaDlt to +91 numbers only', async () => {
    const adapter = infobipCarrier({ baseUrl: fake.baseUrl, apiKey, from: 'SHOPIN' })
    await adapter.send(message('+919876543210'))
    expect(fake.sends.at(-1)).toMatchObject({ to: '+919876543210', dlt })
    await adapter.send(message('+447700900123', 'msg_in_2'))
    expect(fake.sends.at(-1)?.dlt).toBeUndefined()
  })

  it('reads the same field as the official SDK sends it', async () => {
    const infobip = new Infobip({ baseUrl: fake.baseUrl, apiKey, authType: AuthType.ApiKey })
    await infobip.channels.sms.send({
      messages: [
        {
          destinations: [{ to: '919876543210' }],
          from: 'SHOPIN',
          text: '482913 is your code',
          regional: { indiaDlt: { principalEntityId: entityId, contentTemplateId: templateId } },
        },
      ],
    } as Parameters<typeof infobip.channels.sms.send>[0])
    expect(fake.sends.at(-1)).toMatchObject({ to: '+919876543210', dlt })
  })
})

describe('India DLT ids on the wire: vonage', () => {
  const apiKey = 'abcd1234'
  const apiSecret = 'vonage-api-secret'
  const signature = { secret: 'vonage-signature-secret-0123456789', method: 'sha256' as const }
  let fake: Awaited<ReturnType<typeof startVonageFake>>
  beforeAll(async () => {
    fake = await startVonageFake({
      apiKey,
      apiSecret,
      signature,
      callbackUrl: 'https://verify.example/v1/carriers/vonage/reports',
    })
  })
  afterAll(() => fake.close())

  it('sends entity-id and content-id to +91 numbers, inside the signed parameters', async () => {
    // The fake checks the signature over every parameter: the DLT ids are covered by it.
    const adapter = vonageCarrier({ apiKey, signature, from: 'SHOPIN', restHost: fake.baseUrl })
    await adapter.send(message('+919876543210'))
    expect(fake.sends.at(-1)).toMatchObject({ to: '+919876543210', dlt })
    await adapter.send(message('+447700900123', 'msg_in_2'))
    expect(fake.sends.at(-1)?.dlt).toBeUndefined()
  })

  it('reads the same parameters as the official SDK sends them', async () => {
    const vonage = new Vonage({ apiKey, apiSecret }, { restHost: fake.baseUrl })
    await vonage.sms.send({
      to: '919876543210',
      from: 'SHOPIN',
      text: '482913 is your code',
      entityId,
      contentId: templateId,
    })
    expect(fake.sends.at(-1)).toMatchObject({ to: '+919876543210', dlt })
  })
})

describe('India DLT ids on the wire: generic HTTP', () => {
  it('offers {{dltEntityId}} and {{dltTemplateId}} (and the values) to the body template', async () => {
    const fake = await startGenericFake({
      token: 't',
      secret: 's',
      callbackUrl: 'https://verify.example/v1/carriers/generic/reports',
    })
    try {
      const adapter = genericHttpCarrier({
        url: `${fake.baseUrl}/api/v1/messages`,
        headers: { Authorization: 'Bearer t' },
        body: {
          recipient: '{{to}}',
          content: '{{text}}',
          ref: '{{code}}/{{minutes}}/{{brand}}',
          pe_id: '{{dltEntityId}}',
          template_id: '{{dltTemplateId}}',
        },
        responseIdPath: 'data.message.id',
      })
      await adapter.send(message('+919876543210'))
      expect(fake.sends.at(-1)).toMatchObject({ ref: '482913/10/Shop', dlt })
      await adapter.send(message('+447700900123'))
      expect(fake.sends.at(-1)?.dlt).toBeUndefined()
    } finally {
      await fake.close()
    }
  })
})

describe('India DLT ids on the wire: SMPP vendor TLVs', () => {
  let server: ReturnType<typeof smpp.createServer>
  let port: number
  const submits: PDU[] = []
  beforeAll(async () => {
    server = smpp.createServer({}, (session) => {
      session.on('bind_transceiver', (pdu: PDU) => session.send(pdu.response()))
      session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()))
      session.on('unbind', (pdu: PDU) => session.send(pdu.response()))
      session.on('submit_sm', (pdu: PDU) => {
        submits.push(pdu)
        session.send(pdu.response({ message_id: `M${submits.length}` }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  /** The value of TLV `tag` as the peer read it (by our registered name or, unknown, by tag). */
  function tlv(pdu: PDU, tag: number): string | undefined {
    const value = pdu[`vendor_tlv_${tag.toString(16)}`] ?? pdu[String(tag)]
    return value === undefined ? undefined : String(value)
  }

  async function sendWith(to: string, dltTlvs?: { entityId: number; templateId: number } | false) {
    const carrier = smppCarrier({
      id: 'smsc',
      host: '127.0.0.1',
      port,
      systemId: 'shop',
      password: 'pw',
      sourceAddr: 'SHOPIN',
      ...(dltTlvs === undefined ? {} : { dltTlvs }),
    })
    try {
      await carrier.send(message(to))
      return submits.at(-1)!
    } finally {
      await carrier.close()
    }
  }

  it('sends PE_ID in 0x1400 and the template id in 0x1401 by default, to +91 only', async () => {
    const pdu = await sendWith('+919876543210')
    expect(tlv(pdu, 0x1400)).toBe(entityId)
    expect(tlv(pdu, 0x1401)).toBe(templateId)
    const other = await sendWith('+447700900123')
    expect(tlv(other, 0x1400)).toBeUndefined()
  })

  it('uses the tags the carrier entry names, or none', async () => {
    const pdu = await sendWith('+919876543210', { entityId: 0x1501, templateId: 0x1502 })
    expect(tlv(pdu, 0x1501)).toBe(entityId)
    expect(tlv(pdu, 0x1502)).toBe(templateId)
    const none = await sendWith('+919876543210', false)
    expect(tlv(none, 0x1400)).toBeUndefined()
    expect(tlv(none, 0x1501)).toBeUndefined()
  })
})
