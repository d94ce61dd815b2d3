/**
 * A real SMPP peer for tests and benchmarks: the `smpp` package's own server on 127.0.0.1,
 * acting as an SMSC that checks bind credentials, acknowledges submit_sm, sends delivery
 * receipts (TLV or text form, on its own or when told to), fails, throttles, hangs or refuses on
 * demand, and drops binds when told to.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import smpp, { type PDU, type Session } from 'smpp'
import type { ReportStatus } from '../../src/carriers/types'

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
  /**
   * The validity_period exactly as it came over the wire ("YYMMDDhhmmss000R" when relative),
   * or undefined when the field was empty (the SMSC's default validity).
   */
  validityPeriod?: string
  at: number
}

export interface FakeSmscOptions {
  systemId?: string
  password?: string
  /** Receipts sent on their own after each accepted submit_sm, and in which form; 'none' sends none. */
  receipts?: 'tlv' | 'text' | 'none'
  /** A destination refused with ESME_RINVDSTADR (E.164, with the plus). */
  invalidNumber?: string
  receiptDelayMs?: number
  /** Delay before each submit_sm_resp. */
  ackDelayMs?: number
  /**
   * Listen over TLS ("ssmpp") with this key and certificate (PEM); with `ca`, also require a
   * client certificate issued by it.
   */
  tls?: { key: string; cert: string; ca?: string }
}

/** A PEM key and certificate. */
export interface KeyPair {
  key: string
  cert: string
}

/** A throwaway PKI for TLS tests: made by {@link makeTestPki}, never written to the repository. */
export interface TestPki {
  /** The CA that issued `server` and `client`. */
  ca: string
  /** For 127.0.0.1 and localhost. */
  server: KeyPair
  /** A client certificate (CN textgate). */
  client: KeyPair
  /** Another CA, which issued nothing here: trusting it alone must refuse `server`. */
  otherCa: string
}

/**
 * Makes a CA, a server certificate for 127.0.0.1/localhost and a client certificate, with the
 * `openssl` command (P-256 keys, valid one day), in a temporary folder removed at once.
 */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'textgate-pki-'))
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('makeTestPki needs the openssl command (Debian package "openssl")')
      }
      throw error
    }
  }
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  const read = (name: string) => readFileSync(join(dir, name), 'utf8')
  try {
    for (const ca of ['ca', 'other-ca']) {
      openssl(
        'req',
        '-x509',
        ...ecKey,
        '-keyout',
        `${ca}.key`,
        '-out',
        `${ca}.crt`,
        '-days',
        '1',
        '-subj',
        `/CN=Textgate test ${ca}`,
      )
    }
    const leaves = {
      server: 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
      client: 'extendedKeyUsage=clientAuth\n',
    }
    for (const [name, extensions] of Object.entries(leaves)) {
      writeFileSync(join(dir, `${name}.ext`), extensions)
      openssl(
        'req',
        ...ecKey,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name === 'server' ? 'localhost' : 'textgate'}`,
      )
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(Date.now()),
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      )
    }
    return {
      ca: read('ca.crt'),
      server: { key: read('server.key'), cert: read('server.crt') },
      client: { key: read('client.key'), cert: read('client.crt') },
      otherCa: read('other-ca.crt'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The options in force: the given ones over the defaults. */
export type FakeSmscSettings = Required<Omit<FakeSmscOptions, 'tls'>> & Pick<FakeSmscOptions, 'tls'>

/** How the next submit_sm fails: ESME_RSYSERR, ESME_RTHROTTLED, or no submit_sm_resp at all. */
export type SmscFailure = 'system_error' | 'throttled' | 'hang'

/** A whole text as the handset would show it: concatenated parts joined, in order of completion. */
export interface ReassembledText {
  to: string
  text: string
  dataCoding: number
  /** The message id of the first part. */
  messageId: string
}

/** How {@link FakeSmsc.deliverReceipt} words a receipt. */
export interface ReceiptOptions {
  /** The SMSC's error code, sent as `err:` and (TLV form) in network_error_code. */
  errorCode?: string
  /** The "done date" (epoch ms); now when not given. */
  at?: number
  /** Receipt form; the SMSC's own form, or TLV when it sends none on its own. */
  form?: 'tlv' | 'text'
}

export interface FakeSmsc {
  host: string
  port: number
  submitted: SubmittedMessage[]
  /** Successful binds. */
  binds: number
  /** Every bind_transceiver received, refused ones included. */
  bindAttempts: number
  /** Every connection accepted, TLS handshakes that failed included. */
  connections: number
  /** The most submit_sm seen outstanding (received, not yet answered) at once on one bind. */
  maxOutstanding: number
  enquireLinks: number
  options: FakeSmscSettings
  /** Answers the next `count` submit_sm with `status` instead of accepting them. */
  refuseNext(count: number, status: number): void
  /** The next submit_sm fails this way (once). */
  failNext(failure: SmscFailure): void
  /**
   * Refuses binds with `status` while `refuse` is true. The default, ESME_RSYSERR, is a passing
   * trouble of the SMSC; ESME_RBINDFAIL or ESME_RINVPASWD say the credentials are refused.
   */
  refuseBinds(refuse: boolean, status?: number): void
  /** Stops answering anything (a hung SMSC) while true. */
  mute(muted: boolean): void
  /** Destroys every bound session's socket. */
  dropBinds(): void
  /** Texts reassembled: concatenated parts joined by reference, keyed by destination. */
  texts(): Map<string, string[]>
  /** Texts reassembled, in the order they were completed. */
  reassembled(): ReassembledText[]
  /**
   * Sends the delivery receipt of `messageId` as a deliver_sm over the bind that submitted it (or
   * any bound one); resolves once the client answered with deliver_sm_resp.
   */
  deliverReceipt(messageId: string, status: ReportStatus, options?: ReceiptOptions): Promise<void>
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

/** Reads a C-Octet String (NUL-terminated) at `offset`: its text and the offset after it. */
function cstring(body: Buffer, offset: number): [string, number] {
  const end = body.indexOf(0, offset)
  if (end < 0) return [body.toString('latin1', offset), body.length]
  return [body.toString('latin1', offset, end), end + 1]
}

/**
 * The validity_period of a submit_sm body (the PDU after command_length), as sent. The `smpp`
 * library hands it over turned into a Date against this machine's clock, which hides whether it
 * was relative and what it said, so the fake reads the bytes (SMPP 3.4 §4.4.1 field order).
 */
function rawValidityPeriod(body: Buffer): string | undefined {
  let offset = 12 // command_id, command_status, sequence_number
  ;[, offset] = cstring(body, offset) // service_type
  offset += 2 // source_addr_ton, source_addr_npi
  ;[, offset] = cstring(body, offset) // source_addr
  offset += 2 // dest_addr_ton, dest_addr_npi
  ;[, offset] = cstring(body, offset) // destination_addr
  offset += 3 // esm_class, protocol_id, priority_flag
  ;[, offset] = cstring(body, offset) // schedule_delivery_time
  const [validity] = cstring(body, offset)
  return validity === '' ? undefined : validity
}

/** "YYMMDDhhmm" in UTC, with "ss" appended when the time is not on a whole minute. */
function stamp(at: number): string {
  const d = new Date(at)
  const two = (n: number) => String(n).padStart(2, '0')
  const minutes = `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`
  return at % 60_000 === 0 ? minutes : `${minutes}${two(d.getUTCSeconds())}`
}

/** Our normalised status as an SMPP message state: the text-form word and the TLV value. */
const RECEIPT_STATES: Record<ReportStatus, { stat: string; state: number }> = {
  sent: { stat: 'ENROUTE', state: 1 },
  delivered: { stat: 'DELIVRD', state: 2 },
  undelivered: { stat: 'UNDELIV', state: 5 },
  failed: { stat: 'REJECTD', state: 8 },
}

/** The deliver_sm fields of a receipt (SMPP 3.4 Appendix B text, plus TLVs in the TLV form). */
function receiptFields(
  submitted: Pick<SubmittedMessage, 'messageId' | 'to' | 'from' | 'text' | 'at'>,
  status: ReportStatus,
  options: ReceiptOptions & { form: 'tlv' | 'text' },
): Record<string, unknown> {
  const { stat, state } = RECEIPT_STATES[status]
  const done = options.at ?? Date.now()
  const err = options.errorCode ?? '000'
  const dlvrd = status === 'delivered' ? '001' : '000'
  const receipt = `id:${submitted.messageId} sub:001 dlvrd:${dlvrd} submit date:${stamp(submitted.at)} done date:${stamp(done)} stat:${stat} err:${err} text:${submitted.text.slice(0, 20)}`
  const tlvs: Record<string, unknown> = {
    receipted_message_id: submitted.messageId,
    message_state: state,
  }
  const numeric = Number(options.errorCode)
  if (options.errorCode !== undefined && Number.isInteger(numeric) && numeric <= 0xffff) {
    // network_error_code: network type (3 = GSM) then the code in two octets.
    const code = Buffer.alloc(3)
    code.writeUInt8(3, 0)
    code.writeUInt16BE(numeric, 1)
    tlvs.network_error_code = code
  }
  return {
    source_addr: submitted.to.replace(/^\+/, ''),
    destination_addr: submitted.from,
    esm_class: 0x04,
    short_message: { message: receipt },
    ...(options.form === 'tlv' ? tlvs : {}),
  }
}

/**
 * @example
 * const smsc = await startFakeSmsc({ receipts: 'tlv' })
 * const carrier = smppCarrier({ id: 'a', host: smsc.host, port: smsc.port, systemId: 'tg', password: 'pw', sourceAddr: 'Shop' })
 */
export async function startFakeSmsc(input: FakeSmscOptions = {}): Promise<FakeSmsc> {
  const options: FakeSmscSettings = {
    systemId: 'textgate',
    password: 'secret1',
    receipts: 'tlv',
    receiptDelayMs: 5,
    ackDelayMs: 0,
    invalidNumber: '+447700900000',
    ...input,
  }
  let nextId = 1
  let refusals: { count: number; status: number } = { count: 0, status: 0 }
  let nextFailure: SmscFailure | undefined
  let bindRefusal: number | undefined
  let muted = false
  const sessions = new Set<Session>()
  /** The bind each accepted message came over: its receipts go back there. */
  const sessionOf = new Map<string, Session>()
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
    bindAttempts: 0,
    connections: 0,
    maxOutstanding: 0,
    enquireLinks: 0,
    options,
    refuseNext(count, status) {
      refusals = { count, status }
    },
    failNext(failure) {
      nextFailure = failure
    },
    refuseBinds(refuse, status = smpp.errors.ESME_RSYSERR!) {
      bindRefusal = refuse ? status : undefined
    },
    mute(value) {
      muted = value
    },
    dropBinds() {
      for (const session of sessions) session.destroy()
    },
    texts() {
      const byTo = new Map<string, string[]>()
      for (const { to, text } of smsc.reassembled()) byTo.set(to, [...(byTo.get(to) ?? []), text])
      return byTo
    },
    reassembled() {
      const whole: ReassembledText[] = []
      const partial = new Map<string, SubmittedMessage[]>()
      for (const message of smsc.submitted) {
        const { to, dataCoding } = message
        if (!message.concat) {
          whole.push({ to, text: message.text, dataCoding, messageId: message.messageId })
          continue
        }
        const key = `${message.to}/${message.concat.reference}`
        const parts = [...(partial.get(key) ?? []), message]
        partial.set(key, parts)
        if (parts.length === message.concat.total) {
          parts.sort((a, b) => a.concat!.index - b.concat!.index)
          const text = parts.map((part) => part.text).join('')
          whole.push({ to, text, dataCoding, messageId: parts[0]!.messageId })
          partial.delete(key)
        }
      }
      return whole
    },
    deliverReceipt(messageId, status, receiptOptions = {}) {
      const submitted = smsc.submitted.find((m) => m.messageId === messageId)
      if (!submitted) return Promise.reject(new Error(`fake SMSC: no message ${messageId}`))
      const own = sessionOf.get(messageId)
      const session =
        own && sessions.has(own) ? own : [...sessions].find((s) => boundSessions.has(s))
      if (!session) return Promise.reject(new Error('fake SMSC: no bound session for the receipt'))
      const form = receiptOptions.form ?? (options.receipts === 'text' ? 'text' : 'tlv')
      const fields = receiptFields(submitted, status, { ...receiptOptions, form })
      return new Promise((resolve, reject) => {
        const written = session.deliver_sm(fields, (response) => {
          if (response.command_status === 0) resolve()
          else reject(new Error(`fake SMSC: deliver_sm answered with ${response.command_status}`))
        })
        if (!written) reject(new Error('fake SMSC: the receipt could not be written'))
      })
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      for (const session of sessions) session.destroy()
      // Connections still in their TLS handshake have no session yet.
      for (const socket of connections) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  const boundSessions = new WeakSet<Session>()
  const tls = options.tls
  const connections = new Set<Socket>()
  /** TLS ("ssmpp") when a key and certificate are given; with a CA, clients must present one. */
  const serverOptions = tls
    ? {
        key: tls.key,
        cert: tls.cert,
        ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      }
    : {}
  const server = smpp.createServer(serverOptions, (session) => {
    sessions.add(session)
    session.socket.setNoDelay(true)
    // The raw bytes of the PDU being handled: the library reads each PDU's 4-octet length, then
    // the rest in one read, and emits it synchronously before the next read.
    let lastBody: Buffer | undefined
    const read = session.socket.read.bind(session.socket)
    session.socket.read = ((size?: number) => {
      const chunk: unknown = read(size)
      if (Buffer.isBuffer(chunk) && size !== 4) lastBody = chunk
      return chunk
    }) as typeof session.socket.read
    let bound = false
    let outstanding = 0
    session.on('close', () => sessions.delete(session))
    session.on('error', () => {
      // A client that vanished; nothing to do.
    })
    session.on('bind_transceiver', (pdu: PDU) => {
      if (muted) return
      smsc.bindAttempts++
      const refusal =
        pdu.system_id !== options.systemId
          ? smpp.errors.ESME_RINVSYSID
          : pdu.password !== options.password
            ? smpp.errors.ESME_RINVPASWD
            : bindRefusal
      if (refusal !== undefined) {
        session.send(pdu.response({ command_status: refusal }))
        return
      }
      bound = true
      boundSessions.add(session)
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
      const failure = nextFailure
      nextFailure = undefined
      if (failure === 'hang') return // never answered: the client's response timeout must fire
      outstanding++
      smsc.maxOutstanding = Math.max(smsc.maxOutstanding, outstanding)
      // Like a real SMSC, an accepted text is taken on receipt: it goes out even when the
      // client vanishes before the response reaches it.
      let refusal = 0
      let submitted: SubmittedMessage | undefined
      if (failure) {
        refusal = failure === 'throttled' ? smpp.errors.ESME_RTHROTTLED! : smpp.errors.ESME_RSYSERR!
      } else if (`+${String(pdu.destination_addr)}` === options.invalidNumber) {
        refusal = smpp.errors.ESME_RINVDSTADR!
      } else if (refusals.count > 0) {
        refusals.count--
        refusal = refusals.status
      } else {
        const payload = pdu.message_payload !== undefined
        const content = payload ? pdu.message_payload : pdu.short_message
        const validityPeriod = lastBody && rawValidityPeriod(lastBody)
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
          ...(validityPeriod ? { validityPeriod } : {}),
          at: Date.now(),
        }
        smsc.submitted.push(submitted)
        sessionOf.set(submitted.messageId, session)
      }
      const answer = () => {
        outstanding--
        if (session.socket.destroyed) return
        if (!submitted) {
          session.send(pdu.response({ command_status: refusal }))
          return
        }
        const accepted = submitted
        session.send(pdu.response({ message_id: accepted.messageId }))
        const form = options.receipts
        if (form === 'none' || !(accepted.registeredDelivery & 0x03)) return
        later(options.receiptDelayMs, () => {
          if (session.socket.destroyed) return
          session.deliver_sm(receiptFields(accepted, 'delivered', { form }))
        })
      }
      if (options.ackDelayMs > 0) later(options.ackDelayMs, answer)
      else answer()
    })
  })

  server.on('connection', (socket: Socket) => {
    connections.add(socket)
    smsc.connections++
    socket.on('close', () => connections.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  smsc.port = (server.address() as AddressInfo).port
  return smsc
}
