import { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type FakeSmsc, type FakeSmscOptions, startFakeSmsc } from '../../../testing/carriers/smpp'
import { waitUntil } from '../../../testing/wait-until'
import { CarrierError, type DeliveryReport, type OutgoingMessage } from '../types'
import { decodeText, encodeText } from './encoding'
import { relativeTime, type SmppCarrier, smppCarrier } from './index'
import { parseReceipt, parseReceiptText } from './receipt'

function message(to: string, body: string, id = `msg_${to}`): OutgoingMessage {
  return { id, to, body, projectId: 'prj_1', mode: 'live' }
}

describe('GSM-7 / UCS-2 encoding', () => {
  it('keeps GSM-7 texts in data_coding 0 and counts extension characters twice', () => {
    const short = encodeText('Your code is 123456 — no')
    expect(short.dataCoding).toBe(8) // the em dash is not GSM-7
    const gsm = encodeText('Code [123456] costs 5€ @ Shop')
    expect(gsm.dataCoding).toBe(0)
    expect(gsm.whole.length).toBe('Code [123456] costs 5€ @ Shop'.length + 3)
    expect(decodeText(gsm.whole, 0)).toBe('Code [123456] costs 5€ @ Shop')
  })

  it('splits at 160/153 septets and 70/67 UCS-2 characters without cutting a character', () => {
    expect(encodeText('a'.repeat(160)).parts).toHaveLength(1)
    const long = encodeText('a'.repeat(161))
    expect(long.parts.map((p) => p.length)).toEqual([153, 8])
    // An escape pair never straddles two parts.
    const euros = encodeText(`${'a'.repeat(152)}€${'b'.repeat(7)}`)
    expect(euros.parts.map((p) => p.length)).toEqual([152, 9])
    expect(encodeText('Ж'.repeat(70)).parts).toHaveLength(1)
    const cyrillic = encodeText('Ж'.repeat(71))
    expect(cyrillic.parts.map((p) => p.length / 2)).toEqual([67, 4])
    // A surrogate pair (emoji) stays whole.
    const emoji = encodeText(`${'x'.repeat(66)}😀yyy`)
    expect(emoji.parts.map((p) => p.length / 2)).toEqual([66, 5])
  })
})

describe('delivery receipts', () => {
  it('reads the TLV form and the text form', () => {
    expect(
      parseReceipt(
        { esm_class: 0x04, receipted_message_id: 'A1', message_state: 5, short_message: {} },
        42,
      ),
    ).toEqual({
      carrierMessageId: 'A1',
      status: 'undelivered',
      carrierStatus: 'UNDELIV',
      errorCode: undefined,
      at: 42,
    })
    const text =
      'id:0123456789 sub:001 dlvrd:001 submit date:2611271200 done date:2611271201 stat:DELIVRD err:000 Text:Your code'
    expect(parseReceiptText(text)).toMatchObject({ id: '0123456789', stat: 'DELIVRD' })
    expect(parseReceipt({ esm_class: 0x04, short_message: { message: text } })).toEqual({
      carrierMessageId: '0123456789',
      status: 'delivered',
      carrierStatus: 'DELIVRD',
      errorCode: undefined,
      at: Date.UTC(2026, 10, 27, 12, 1),
    })
    expect(
      parseReceipt({
        esm_class: 0x04,
        short_message: { message: 'id:9 sub:001 dlvrd:000 stat:REJECTD err:0B' },
      }),
    ).toMatchObject({ carrierMessageId: '9', status: 'failed', errorCode: '0B' })
    // network_error_code (network type, then the code in two octets) wins over the text's err.
    expect(
      parseReceipt({
        esm_class: 0x04,
        receipted_message_id: 'A2',
        message_state: 8,
        network_error_code: Buffer.from([0x03, 0x75, 0x33]),
        short_message: { message: 'id:A2 stat:REJECTD err:000' },
      }),
    ).toMatchObject({ carrierMessageId: 'A2', status: 'failed', errorCode: '30003' })
    // Seconds in the dates, and a line break inside "done date".
    expect(
      parseReceipt({
        esm_class: 0x04,
        short_message: {
          message:
            'id:64567 sub:001 dlvrd:001 submit date:190608165232 done\ndate:190608165237 stat:DELIVRD err:000 text:Hello',
        },
      }),
    ).toMatchObject({ carrierMessageId: '64567', at: Date.UTC(2019, 5, 8, 16, 52, 37) })
    // A mobile-originated text is not a receipt.
    expect(parseReceipt({ esm_class: 0, short_message: { message: 'id:1 stat:DELIVRD' } })).toBe(
      null,
    )
  })
})

describe('SMPP adapter against a real SMPP peer on 127.0.0.1', () => {
  let smsc: FakeSmsc
  let carrier: SmppCarrier | undefined

  async function setUp(
    smscOptions: FakeSmscOptions = {},
    carrierOptions: Partial<Parameters<typeof smppCarrier>[0]> = {},
  ) {
    smsc = await startFakeSmsc(smscOptions)
    carrier = smppCarrier({
      id: 'smsc-a',
      host: smsc.host,
      port: smsc.port,
      systemId: 'textgate',
      password: 'secret1',
      sourceAddr: 'Shop',
      reconnectBaseMs: 20,
      reconnectMaxMs: 100,
      ...carrierOptions,
    })
    return carrier
  }

  afterEach(async () => {
    await carrier?.close()
    carrier = undefined
    await smsc?.close()
  })

  it('binds, submits with registered_delivery and reports TLV receipts', async () => {
    const adapter = await setUp({ receipts: 'tlv' })
    const reports: DeliveryReport[] = []
    adapter.onReport((report) => reports.push(report))
    const result = await adapter.send(message('+447700900123', 'Your code is 123456'))
    expect(result.status).toBe('sent')
    expect(adapter.state).toBe('bound')
    expect(smsc.submitted).toHaveLength(1)
    expect(smsc.submitted[0]).toMatchObject({
      to: '+447700900123',
      from: 'Shop',
      dataCoding: 0,
      text: 'Your code is 123456',
      registeredDelivery: 1,
    })
    await waitUntil(() => reports.length === 1)
    expect(reports[0]).toMatchObject({
      carrierMessageId: result.carrierMessageId,
      status: 'delivered',
      carrierStatus: 'DELIVRD',
    })
  })

  it('reports text-form receipts too', async () => {
    const adapter = await setUp({ receipts: 'text' })
    const reports: DeliveryReport[] = []
    adapter.onReport((report) => reports.push(report))
    const result = await adapter.send(message('+447700900124', 'Code 1'))
    await waitUntil(() => reports.length === 1)
    expect(reports[0]).toMatchObject({
      carrierMessageId: result.carrierMessageId,
      status: 'delivered',
    })
  })

  it('sends UCS-2 with data_coding 8, and long texts as UDH parts the peer reassembles', async () => {
    const adapter = await setUp({ receipts: 'none' })
    await adapter.send(message('+79161234567', 'Ваш код 123456'))
    expect(smsc.submitted[0]).toMatchObject({ dataCoding: 8, text: 'Ваш код 123456' })
    const long = `Your code is 123456. ${'Thanks for shopping with us. '.repeat(8)}`
    const result = await adapter.send(message('+447700900125', long))
    expect(result.segments).toBe(2)
    const parts = smsc.submitted.filter((m) => m.to === '+447700900125')
    expect(parts.map((p) => p.concat?.index)).toEqual([1, 2])
    expect(parts.every((p) => (p.esmClass & 0x40) === 0x40)).toBe(true)
    expect(smsc.texts().get('+447700900125')).toEqual([long])
  })

  it('can send long texts in one message_payload instead', async () => {
    const adapter = await setUp({ receipts: 'none' }, { longMessages: 'payload' })
    const long = `Код 123456. ${'Спасибо за покупку! '.repeat(5)}`
    const result = await adapter.send(message('+79161234568', long))
    expect(result.segments).toBeGreaterThan(1)
    expect(smsc.submitted).toHaveLength(1)
    expect(smsc.submitted[0]).toMatchObject({ viaPayload: true, dataCoding: 8, text: long })
  })

  it('turns throttling into a transient error with retryAfterMs, bad numbers into permanent', async () => {
    const adapter = await setUp({}, { throttleRetryAfterMs: 1_500 })
    smsc.refuseNext(1, 0x58) // ESME_RTHROTTLED
    const throttled = await adapter.send(message('+447700900126', 'x')).catch((e) => e)
    expect(throttled).toBeInstanceOf(CarrierError)
    expect(throttled).toMatchObject({ permanent: false, retryAfterMs: 1_500 })
    expect(throttled.message).toContain('ESME_RTHROTTLED')
    smsc.refuseNext(1, 0x14) // ESME_RMSGQFUL
    expect(await adapter.send(message('+447700900126', 'x')).catch((e) => e)).toMatchObject({
      permanent: false,
      retryAfterMs: 1_500,
    })
    smsc.refuseNext(1, 0x0b) // ESME_RINVDSTADR
    const bad = await adapter.send(message('+447700900126', 'x')).catch((e) => e)
    expect(bad).toMatchObject({ permanent: true })
    expect(bad.message).toContain('ESME_RINVDSTADR')
    expect((await adapter.send(message('+447700900126', 'x'))).status).toBe('sent')
  })

  it('keeps at most `window` submit_sm outstanding', async () => {
    const adapter = await setUp({ ackDelayMs: 20, receipts: 'none' }, { window: 3 })
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        adapter.send(message(`+4477009002${String(i).padStart(2, '0')}`, `code ${i}`)),
      ),
    )
    expect(smsc.submitted).toHaveLength(12)
    expect(smsc.maxOutstanding).toBe(3)
  })

  it('writes the PDUs of one turn of the event loop in one write', async () => {
    const adapter = await setUp({ receipts: 'tlv' }, { window: 16 })
    const reports: DeliveryReport[] = []
    adapter.onReport((report) => reports.push(report))
    await adapter.connect()
    // Every write the adapter's socket makes to the peer, counted where net.Socket hands it on.
    const writes: number[] = []
    type Write = (this: Socket, ...args: unknown[]) => unknown
    const { _write, _writev } = Socket.prototype as unknown as Record<string, Write | undefined>
    const toPeer = (socket: Socket) => socket.remotePort === smsc.port
    Object.assign(Socket.prototype, {
      _write(this: Socket, ...args: unknown[]) {
        if (toPeer(this)) writes.push(1)
        return _write?.apply(this, args)
      },
      _writev(this: Socket, chunks: unknown[], ...rest: unknown[]) {
        if (toPeer(this)) writes.push(chunks.length)
        return _writev?.apply(this, [chunks, ...rest])
      },
    })
    try {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          adapter.send(message(`+4477009003${String(i).padStart(2, '0')}`, `code ${i}`)),
        ),
      )
      // The ten submit_sm of one turn: one write of ten PDUs, not ten writes.
      expect(writes[0]).toBe(10)
      await waitUntil(() => reports.length === 10)
      // Then the ten deliver_sm_resp, written as their receipts come in.
      await waitUntil(() => writes.reduce((sum, n) => sum + n, 0) === 20)
    } finally {
      Object.assign(Socket.prototype, { _write, _writev })
    }
    expect(smsc.submitted).toHaveLength(10)
  })

  it('keeps the bind alive with enquire_link', async () => {
    const adapter = await setUp({}, { enquireLinkMs: 30 })
    await adapter.connect()
    await waitUntil(() => smsc.enquireLinks >= 3)
    expect(adapter.state).toBe('bound')
  })

  it('re-binds with backoff after the bind drops, failing fast meanwhile', async () => {
    const adapter = await setUp({ receipts: 'none' }, { reconnectBaseMs: 200, reconnectMaxMs: 200 })
    await adapter.send(message('+447700900127', 'first'))
    expect(smsc.binds).toBe(1)
    smsc.dropBinds()
    // The jittered wait may be near zero: the re-bind can be done before the next poll.
    await waitUntil(() => adapter.state !== 'bound' || smsc.binds === 2)
    // While waiting to re-bind, sends fail at once with a transient error naming a wait.
    const during = await adapter.send(message('+447700900127', 'during')).catch((e) => e)
    if (adapter.state === 'waiting') {
      expect(during).toMatchObject({ permanent: false })
      expect(during.retryAfterMs).toBeLessThanOrEqual(200)
    }
    await waitUntil(() => adapter.state === 'bound')
    expect(smsc.binds).toBe(2)
    expect((await adapter.send(message('+447700900127', 'after'))).status).toBe('sent')
  })

  it('fails transiently when the peer refuses the bind or stops answering', async () => {
    const adapter = await setUp(
      {},
      { responseTimeoutMs: 150, connectTimeoutMs: 300, reconnectBaseMs: 10, reconnectMaxMs: 20 },
    )
    smsc.refuseBinds(true)
    const refused = await adapter.send(message('+447700900128', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ permanent: false })
    smsc.refuseBinds(false)
    await waitUntil(() => adapter.state === 'bound' || adapter.state === 'waiting')
    await adapter.connect().catch(() => {})
    await waitUntil(() => adapter.state === 'bound')
    smsc.mute(true)
    const hung = await adapter.send(message('+447700900128', 'y')).catch((e) => e)
    expect(hung).toMatchObject({ permanent: false })
    expect(hung.message).toContain('no submit_sm_resp')
    smsc.mute(false)
    await waitUntil(() => adapter.state === 'bound')
    expect((await adapter.send(message('+447700900128', 'z'))).status).toBe('sent')
  })

  it('fails as a fault of the route when the SMSC refuses the credentials, without a re-bind loop', async () => {
    const adapter = await setUp({}, { password: 'wrong-secret', reconnectMaxMs: 1_000 })
    const refused = await adapter.send(message('+447700900130', 'x')).catch((e) => e)
    expect(refused).toBeInstanceOf(CarrierError)
    expect(refused).toMatchObject({ permanent: false, routeFault: true, code: 'ESME_RINVPASWD' })
    expect(refused.message).toContain('refused the bind credentials')
    expect(refused.message).not.toContain('wrong-secret')
    expect(adapter.state).toBe('refused')
    // Held: the next send fails at once without binding, and nothing re-binds on its own.
    expect(await adapter.send(message('+447700900130', 'y')).catch((e) => e)).toMatchObject({
      routeFault: true,
    })
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(smsc.bindAttempts).toBe(1)
    expect(smsc.binds).toBe(0)
  })

  it('reads ESME_RBINDFAIL as refused credentials too, and binds once they are accepted', async () => {
    const adapter = await setUp({ receipts: 'none' }, { reconnectMaxMs: 100 })
    smsc.refuseBinds(true, 0x0d) // ESME_RBINDFAIL
    const refused = await adapter.send(message('+447700900131', 'x')).catch((e) => e)
    expect(refused).toMatchObject({ routeFault: true, code: 'ESME_RBINDFAIL' })
    smsc.refuseBinds(false)
    // Once the hold has passed, a send binds again.
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect((await adapter.send(message('+447700900131', 'y'))).status).toBe('sent')
    expect(smsc.bindAttempts).toBe(2)
  })

  it('refuses texts with more parts than allowed as permanent', async () => {
    const adapter = await setUp({}, { maxParts: 2 })
    const error = await adapter.send(message('+447700900129', 'a'.repeat(400))).catch((e) => e)
    expect(error).toMatchObject({ permanent: true })
    expect(smsc.submitted).toHaveLength(0)
  })

  it('asks the SMSC to drop the text when the code expires (relative validity_period)', async () => {
    const adapter = await setUp({ receipts: 'none' })
    const sentAt = Date.now()
    await adapter.send({ ...message('+447700900140', 'Code 1'), expiresAt: sentAt + 600_000 })
    const validity = smsc.submitted[0]?.validityPeriod
    expect(validity).toMatch(/^0000\d{8}000R$/)
    // Rounded down from what was left at send time: 10 minutes minus the few ms elapsed.
    expect(secondsOf(validity!)).toBeGreaterThanOrEqual(590)
    expect(secondsOf(validity!)).toBeLessThanOrEqual(600)
  })

  it('puts the validity_period on every part of a long text, and in message_payload texts', async () => {
    const adapter = await setUp({ receipts: 'none' })
    const expiresAt = Date.now() + 300_000
    await adapter.send({ ...message('+447700900141', 'a'.repeat(400)), expiresAt })
    expect(smsc.submitted).toHaveLength(3)
    const periods = smsc.submitted.map((part) => part.validityPeriod)
    expect(new Set(periods).size).toBe(1)
    expect(secondsOf(periods[0]!)).toBeGreaterThanOrEqual(290)
    expect(secondsOf(periods[0]!)).toBeLessThanOrEqual(300)
    await carrier?.close()
    const payload = await setUp({ receipts: 'none' }, { longMessages: 'payload' })
    await payload.send({ ...message('+447700900142', 'b'.repeat(400)), expiresAt })
    expect(smsc.submitted[0]).toMatchObject({ viaPayload: true })
    expect(secondsOf(smsc.submitted[0]!.validityPeriod!)).toBeGreaterThan(0)
  })

  it('clamps the validity_period to 1 s … 1 day, and sends none without an expiry', async () => {
    const adapter = await setUp({ receipts: 'none' })
    const now = Date.now()
    await adapter.send({ ...message('+447700900143', 'far'), expiresAt: now + 3 * 86_400_000 })
    await adapter.send({ ...message('+447700900144', 'close'), expiresAt: now + 200 })
    await adapter.send({ ...message('+447700900145', 'gone'), expiresAt: now - 5_000 })
    await adapter.send(message('+447700900146', 'no expiry'))
    expect(smsc.submitted.map((m) => [m.text, m.validityPeriod])).toEqual([
      ['far', '000001000000000R'],
      ['close', '000000000001000R'],
      ['gone', '000000000001000R'],
      ['no expiry', undefined],
    ])
  })
})

describe('SMPP relative time', () => {
  it('writes YYMMDDhhmmss000R with days, hours, minutes and seconds', () => {
    expect(relativeTime(1)).toBe('000000000001000R')
    expect(relativeTime(599)).toBe('000000000959000R')
    expect(relativeTime(3_725)).toBe('000000010205000R')
    expect(relativeTime(86_400)).toBe('000001000000000R')
  })
})

/** The seconds a relative validity_period made of days, hours, minutes and seconds stands for. */
function secondsOf(relative: string): number {
  const [dd, hh, mm, ss] = [4, 6, 8, 10].map((at) => Number(relative.slice(at, at + 2)))
  return dd! * 86_400 + hh! * 3_600 + mm! * 60 + ss!
}
