/**
 * Receipts for the parts of a long text after a restart: the adapter that sent the parts is
 * gone, a new one (another process, after a deploy) receives the receipts, and every part
 * still finds its message through the ids the dispatcher stored.
 */
import type { AddressInfo } from 'node:net'
import smpp, { type PDU, type Session } from 'smpp'
import { afterEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../../testing/harness'
import { DIALECTS } from '../../../testing/storage'
import { waitUntil } from '../../../testing/wait-until'
import { applyReports } from '../../delivery/reports'
import { type SmppCarrier, smppCarrier } from './index'

/**
 * A small SMSC that accepts every bind and submit_sm, and sends receipts only when told to,
 * to whichever session is bound then (as an SMSC does once the first session is gone).
 */
async function startSmsc() {
  const sessions = new Set<Session>()
  const submitted: { messageId: string; to: string }[] = []
  let nextId = 0xa000
  const server = smpp.createServer({}, (session) => {
    sessions.add(session)
    session.on('close', () => sessions.delete(session))
    session.on('error', () => {
      // A client that went away.
    })
    session.on('bind_transceiver', (pdu: PDU) => {
      session.send(pdu.response({ system_id: 'parts-smsc' }))
    })
    session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()))
    session.on('unbind', (pdu: PDU) => {
      session.send(pdu.response())
      session.close()
    })
    session.on('submit_sm', (pdu: PDU) => {
      const messageId = (nextId++).toString(16).toUpperCase()
      submitted.push({ messageId, to: `+${String(pdu.destination_addr)}` })
      session.send(pdu.response({ message_id: messageId }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    submitted,
    /** A TLV receipt (message_state 2 = DELIVERED, 5 = UNDELIVERABLE) to every bound session. */
    receipt(messageId: string, state: 2 | 5) {
      for (const session of sessions) {
        session.deliver_sm({
          source_addr: '447400123780',
          destination_addr: 'Shop',
          esm_class: 0x04,
          short_message: { message: `id:${messageId} stat:${state === 2 ? 'DELIVRD' : 'UNDELIV'}` },
          receipted_message_id: messageId,
          message_state: state,
        })
      }
    },
    close: async () => {
      for (const session of sessions) session.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

for (const dialect of DIALECTS) {
  describe(`SMPP texts in UDH parts: receipts after a restart (${dialect})`, () => {
    let h: Harness | undefined
    let smsc: Awaited<ReturnType<typeof startSmsc>> | undefined
    const adapters: SmppCarrier[] = []
    afterEach(async () => {
      for (const adapter of adapters.splice(0)) await adapter.close()
      await smsc?.close()
      await h?.dispose()
    })

    it('maps every part receipt to its message with a new adapter instance', async () => {
      smsc = await startSmsc()
      const adapter = () => {
        const created = smppCarrier({
          id: 'smsc-a',
          host: '127.0.0.1',
          port: smsc!.port,
          systemId: 'textgate',
          password: 'secret1',
          sourceAddr: 'Shop',
        })
        adapters.push(created)
        return created
      }
      const before = adapter()
      h = await createHarness(dialect, { liveCarrier: before })
      const harness = h
      const { pk, sk } = await h.liveProject({ brand: 'Ромашка '.repeat(8).trim() })
      const started = await h.call('POST', '/v1/verifications', {
        key: pk,
        body: { phone: '+447400123780', consent: { accepted: true } },
      })
      await h.dispatcher.drain()
      const ids = smsc.submitted.map((s) => s.messageId)
      expect(ids).toHaveLength(3)
      const message = async () =>
        (await harness.call('GET', `/v1/verifications/${started.json.id}`, { key: sk })).json
          .messages[0]
      expect(await message()).toMatchObject({
        status: 'sent',
        carrier: 'smsc-a',
        carrierMessageId: ids[0],
      })

      // The process restarts: the adapter that sent the parts (and anything it kept in memory)
      // is gone; a new one binds and receives the receipts, as server.ts wires it.
      await before.close()
      const after = adapter()
      const applying: Promise<unknown>[] = []
      after.onReport((report) => {
        applying.push(applyReports(harness.db, after.id, [report], harness.now()))
      })
      await after.connect()

      smsc.receipt(ids[2]!, 2)
      smsc.receipt(ids[0]!, 2)
      await waitUntil(() => applying.length === 2)
      await Promise.all(applying)
      expect((await message()).status).toBe('sent')

      smsc.receipt(ids[1]!, 2)
      await waitUntil(() => applying.length === 3)
      expect(await Promise.all(applying)).toEqual([
        { received: 1, applied: 1 },
        { received: 1, applied: 1 },
        { received: 1, applied: 1 },
      ])
      expect(await message()).toMatchObject({ status: 'delivered' })
    })
  })
}
