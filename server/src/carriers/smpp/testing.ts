/**
 * A real SMPP peer for tests and benchmarks: the `smpp` package's own server on 127.0.0.1,
 * acting as an SMSC that binds transceivers, acknowledges submit_sm, sends delivery receipts
 * (TLV or text form), throttles or refuses on demand, and drops binds when told to.
 * @module
 */
import type { AddressInfo } from 'node:net'
import smpp, { type PDU, type Session } from 'smpp'

export interface SubmittedMessage {
  messageId: string
  /** Destination in E.164 (with the plus). */
  to: string
  from: string
  dataCoding: number
  esmClass: number
  /** The text as the peer decoded it (one part of a concatenated text, or the whole). */
  text: string
  /** Concatenation header (reference, total, index) when the part carried one. */
  concat?: { reference: number; total: number; index: number }
  viaPayload: boolean
  registeredDelivery: number
  at: number
}

export interface FakeSmscOptions {
  systemId?: string
  password?: string
  /** Receipt form; 'none' sends none. */
  receipts?: 'tlv' | 'text' | 'none'
  receiptDelayMs?: number
  /** Delay before each submit_sm_resp. */
  ackDelayMs?: number
}

export interface FakeSmsc {
  host: string
  port: number
  submitted: SubmittedMessage[]
  binds: number
  /** The most submit_sm seen outstanding (received, not yet answered) at once on one bind. */
  maxOutstanding: number
  enquireLinks: number
  options: Required<FakeSmscOptions>
  /** Answers the next `count` submit_sm with `status` instead of accepting them. */
  refuseNext(count: number, status: number): void
  /** Refuses binds (ESME_RBINDFAIL) while true. */
  refuseBinds(refuse: boolean): void
  /** Stops answering anything (a hung SMSC) while true. */
  mute(muted: boolean): void
  /** Destroys every bound session's socket. */
  dropBinds(): void
  /** Texts reassembled: concatenated parts joined by reference, keyed by destination. */
  texts(): Map<string, string[]>
  close(): Promise<void>
}

interface TextPart {
  message?: string | Buffer
  udh?: Buffer[]
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('latin1')
  const message = (value as TextPart | undefined)?.message
  if (message === undefined) return ''
  return typeof message === 'string' ? message : message.toString('latin1')
}

function concatOf(value: unknown): SubmittedMessage['concat'] {
  const header = (value as TextPart | undefined)?.udh?.find((udh) => udh[0] === 0x00)
  if (!header || header.length < 5) return undefined
  return { reference: header[2]!, total: header[3]!, index: header[4]! }
}

function stamp(at: number): string {
  const d = new Date(at)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`
}

/**
 * @example
 * const smsc = await startFakeSmsc({ receipts: 'tlv' })
 * const carrier = smppCarrier({ id: 'a', host: smsc.host, port: smsc.port, systemId: 'tg', password: 'pw', sourceAddr: 'Shop' })
 */
export async function startFakeSmsc(input: FakeSmscOptions = {}): Promise<FakeSmsc> {
  const options: Required<FakeSmscOptions> = {
    systemId: 'textgate',
    password: 'secret1',
    receipts: 'tlv',
    receiptDelayMs: 5,
    ackDelayMs: 0,
    ...input,
  }
  let nextId = 1
  let refusals: { count: number; status: number } = { count: 0, status: 0 }
  let refusingBinds = false
  let muted = false
  const sessions = new Set<Session>()
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
  }

  const smsc: FakeSmsc = {
    host: '127.0.0.1',
    port: 0,
    submitted: [],
    binds: 0,
    maxOutstanding: 0,
    enquireLinks: 0,
    options,
    refuseNext(count, status) {
      refusals = { count, status }
    },
    refuseBinds(refuse) {
      refusingBinds = refuse
    },
    mute(value) {
      muted = value
    },
    dropBinds() {
      for (const session of sessions) session.destroy()
    },
    texts() {
      const byTo = new Map<string, string[]>()
      const partial = new Map<string, SubmittedMessage[]>()
      for (const message of smsc.submitted) {
        if (!message.concat) {
          byTo.set(message.to, [...(byTo.get(message.to) ?? []), message.text])
          continue
        }
        const key = `${message.to}/${message.concat.reference}`
        const parts = [...(partial.get(key) ?? []), message]
        partial.set(key, parts)
        if (parts.length === message.concat.total) {
          const text = parts
            .sort((a, b) => a.concat!.index - b.concat!.index)
            .map((part) => part.text)
            .join('')
          byTo.set(message.to, [...(byTo.get(message.to) ?? []), text])
          partial.delete(key)
        }
      }
      return byTo
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      for (const session of sessions) session.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  const server = smpp.createServer({}, (session) => {
    sessions.add(session)
    session.socket.setNoDelay(true)
    let bound = false
    let outstanding = 0
    session.on('close', () => sessions.delete(session))
    session.on('error', () => {
      // A client that vanished; nothing to do.
    })
    session.on('bind_transceiver', (pdu: PDU) => {
      if (muted) return
      if (
        refusingBinds ||
        pdu.system_id !== options.systemId ||
        pdu.password !== options.password
      ) {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }))
        return
      }
      bound = true
      smsc.binds++
      session.send(pdu.response({ system_id: 'fake-smsc' }))
    })
    session.on('enquire_link', (pdu: PDU) => {
      smsc.enquireLinks++
      if (!muted) session.send(pdu.response())
    })
    session.on('unbind', (pdu: PDU) => {
      session.send(pdu.response())
      session.close()
    })
    session.on('submit_sm', (pdu: PDU) => {
      if (muted) return
      if (!bound) {
        session.send(pdu.response({ command_status: 0x04 /* ESME_RINVBNDSTS */ }))
        return
      }
      outstanding++
      smsc.maxOutstanding = Math.max(smsc.maxOutstanding, outstanding)
      // Like a real SMSC, an accepted text is taken on receipt: it goes out even when the
      // client vanishes before the response reaches it.
      let refusal = 0
      let submitted: SubmittedMessage | undefined
      if (refusals.count > 0) {
        refusals.count--
        refusal = refusals.status
      } else {
        const payload = pdu.message_payload !== undefined
        const content = payload ? pdu.message_payload : pdu.short_message
        submitted = {
          messageId: (nextId++).toString(16).toUpperCase(),
          to: `+${String(pdu.destination_addr)}`,
          from: String(pdu.source_addr),
          dataCoding: Number(pdu.data_coding),
          esmClass: Number(pdu.esm_class),
          text: textOf(content),
          concat: concatOf(content),
          viaPayload: payload,
          registeredDelivery: Number(pdu.registered_delivery),
          at: Date.now(),
        }
        smsc.submitted.push(submitted)
      }
      const answer = () => {
        outstanding--
        if (session.socket.destroyed) return
        if (!submitted) {
          session.send(pdu.response({ command_status: refusal }))
          return
        }
        const { messageId, at } = submitted
        session.send(pdu.response({ message_id: messageId }))
        if (options.receipts === 'none' || !(submitted.registeredDelivery & 0x03)) return
        const text = submitted.text
        later(options.receiptDelayMs, () => {
          if (session.socket.destroyed) return
          const receipt = `id:${messageId} sub:001 dlvrd:001 submit date:${stamp(at)} done date:${stamp(Date.now())} stat:DELIVRD err:000 text:${text.slice(0, 20)}`
          session.deliver_sm({
            source_addr: pdu.destination_addr,
            destination_addr: pdu.source_addr,
            esm_class: 0x04,
            short_message: { message: receipt },
            ...(options.receipts === 'tlv'
              ? { receipted_message_id: messageId, message_state: 2 }
              : {}),
          })
        })
      }
      if (options.ackDelayMs > 0) later(options.ackDelayMs, answer)
      else answer()
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  smsc.port = (server.address() as AddressInfo).port
  return smsc
}
