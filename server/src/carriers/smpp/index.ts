/**
 * The SMPP 3.4 carrier adapter: one bind_transceiver session to an SMSC, kept alive with
 * enquire_link and re-bound with full-jitter backoff after it drops. Texts go out as submit_sm
 * (GSM-7 or UCS-2, long ones as UDH-concatenated parts or one message_payload), at most
 * `window` PDUs outstanding at once; delivery receipts (deliver_sm) come back through
 * {@link SmppCarrier.onReport}. Over TLS ("ssmpp") when `tls` is set, with the SMSC's certificate
 * verified unless `rejectUnauthorized: false` says otherwise.
 * @module
 */
import { randomInt } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import type { Logger } from 'pino'
import smpp, { type PDU, type Session } from 'smpp'
import { withFields } from '../../with-fields'
import { indiaDltIds } from '../template-data'
import {
  type CarrierAdapter,
  type CarrierCapabilities,
  CarrierError,
  type DeliveryReport,
  type OutgoingMessage,
  type SendResult,
} from '../types'
import { remainingValidity, type ValidityRange } from '../validity'
import { concatUdh, encodeText } from './encoding'
import { parseReceipt } from './receipt'

/**
 * TLS to the SMSC ("ssmpp"): the server certificate is verified against `ca` (or Node's bundled
 * roots when not given); `cert` and `key` are a client certificate for SMSCs that require one.
 * Contents (PEM), not file names: the routing file's loader reads the files.
 */
export interface SmppTlsOptions {
  ca?: string | Buffer
  cert?: string | Buffer
  key?: string | Buffer
  /** The name checked against the certificate (and sent as SNI); the host when not given. */
  servername?: string
  /** false accepts any certificate (and logs a warning when the adapter is made). */
  rejectUnauthorized?: boolean
}

export interface SmppCarrierOptions {
  /** The adapter id routes refer to. */
  id: string
  host: string
  port: number
  systemId: string
  password: string
  systemType?: string
  /** Sender id: digits (international) or up to 11 letters (alphanumeric). */
  sourceAddr: string
  /** Maximum submit_sm awaiting their response. */
  window?: number
  enquireLinkMs?: number
  /** How long a request may wait for its response before the bind is deemed dead. */
  responseTimeoutMs?: number
  connectTimeoutMs?: number
  reconnectBaseMs?: number
  reconnectMaxMs?: number
  /** Waiting time asked for when the SMSC throttles (ESME_RTHROTTLED, ESME_RMSGQFUL). */
  throttleRetryAfterMs?: number
  /** How texts longer than one segment are sent. */
  longMessages?: 'udh' | 'payload'
  maxParts?: number
  /**
   * India DLT: the vendor TLVs that carry the principal entity id and the content template id
   * on texts to +91 (see {@link DEFAULT_DLT_TLVS}); false sends none.
   */
  dltTlvs?: { entityId: number; templateId: number } | false
  /** Connect over TLS; true verifies the SMSC's certificate against Node's bundled roots. */
  tls?: boolean | SmppTlsOptions
  logger?: Logger
}

/**
 * The TLV tags Indian operators' SMPP DLT specifications use for the principal entity id (PE_ID,
 * 0x1400) and the content template id (0x1401), as text. Other SMSCs may use others: set them
 * per carrier entry.
 */
export const DEFAULT_DLT_TLVS = { entityId: 0x1400, templateId: 0x1401 } as const

/** The PDU field name of a vendor TLV, registered with the smpp library once per tag. */
function vendorTlv(tag: number): string {
  const name = `vendor_tlv_${tag.toString(16)}`
  smpp.addTLV(name, { id: tag, type: smpp.types.tlv.string })
  return name
}

/** The TLV fields carrying India DLT ids, for a message to +91 that has them. */
function dltFields(
  message: OutgoingMessage,
  tags: { entityId: number; templateId: number } | false,
): Record<string, string> {
  const dlt = indiaDltIds(message)
  if (!dlt || !tags) return {}
  const fields: Record<string, string> = {}
  if (dlt.entityId) fields[vendorTlv(tags.entityId)] = dlt.entityId
  if (dlt.templateId) fields[vendorTlv(tags.templateId)] = dlt.templateId
  return fields
}

/**
 * The validity_period we ask for, in seconds: at least 1 s (an empty field would mean the SMSC's
 * default, often days), at most a day (SMSCs may refuse longer relative offsets with
 * ESME_RINVEXPIRY; no code lives that long).
 */
export const SMPP_VALIDITY: ValidityRange = { unitMs: 1_000, min: 1, max: 86_400 }

/**
 * A relative time (SMPP 3.4 §7.1.1): "YYMMDDhhmmss000R", the offset from the SMSC's current
 * time. Years and months are left at 00 (their length is not fixed); seconds below a day fill
 * days, hours, minutes and seconds.
 */
export function relativeTime(seconds: number): string {
  const two = (n: number) => String(n).padStart(2, '0')
  const days = Math.floor(seconds / 86_400)
  const hours = Math.floor((seconds % 86_400) / 3_600)
  const minutes = Math.floor((seconds % 3_600) / 60)
  return `0000${two(days)}${two(hours)}${two(minutes)}${two(seconds % 60)}000R`
}

/** The submit_sm validity_period of a message: the code's remaining lifetime, or none. */
function validityField(message: OutgoingMessage): { validity_period?: string } {
  const seconds = remainingValidity(message, Date.now(), SMPP_VALIDITY)
  return seconds === undefined ? {} : { validity_period: relativeTime(seconds) }
}

export interface SmppCarrier extends CarrierAdapter {
  onReport(listener: (report: DeliveryReport) => void): () => void
  close(): Promise<void>
  /** Binds now instead of at the first send. */
  connect(): Promise<void>
  /**
   * The bind's state, for tests and health checks. `refused`: the SMSC refused the credentials;
   * no re-bind is scheduled, and sends fail at once (permanently) until the hold has passed.
   */
  readonly state: 'idle' | 'connecting' | 'bound' | 'waiting' | 'refused' | 'closed'
}

/** Command status codes (SMPP 3.4 §5.1.3) that say the message itself is wrong: never retried. */
const PERMANENT_STATUSES = new Set([
  0x01, // ESME_RINVMSGLEN
  0x0a, // ESME_RINVSRCADR
  0x0b, // ESME_RINVDSTADR
  0x33, // ESME_RINVNUMDESTS
  0x43, // ESME_RINVESMCLASS
  0x48, // ESME_RINVSRCTON
  0x49, // ESME_RINVSRCNPI
  0x50, // ESME_RINVDSTTON
  0x51, // ESME_RINVDSTNPI
  0x61, // ESME_RINVSCHED
  0x62, // ESME_RINVEXPIRY
  0x65, // ESME_RX_R_APPN (receiver rejected the message permanently)
  0xc0, // ESME_RINVOPTPARSTREAM
  0xc2, // ESME_RINVPARLEN
  0xc4, // ESME_RINVOPTPARAMVAL
])
const THROTTLED_STATUSES = new Set([0x58 /* ESME_RTHROTTLED */, 0x14 /* ESME_RMSGQFUL */])
/**
 * bind_resp statuses that refuse our credentials: retrying the same system_id and password
 * cannot help (and may lock the account), so they are faults of the route (the router moves on
 * to the next one) and start no re-bind loop.
 */
const CREDENTIAL_STATUSES = new Set([
  0x0d, // ESME_RBINDFAIL (what many SMSCs answer to a wrong password)
  0x0e, // ESME_RINVPASWD
  0x0f, // ESME_RINVSYSID
])

/**
 * The TLS alerts an SMSC sends when it refuses our client certificate (or its absence): like
 * refused credentials, retrying with the same certificate cannot help.
 */
const CLIENT_CERT_REFUSED =
  /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/

const STATUS_NAMES = new Map(Object.entries(smpp.errors).map(([name, code]) => [code, name]))

function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`
}

interface Pending {
  resolve(pdu: PDU): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

/** What the adapter can do: long texts up to `maxParts` parts (10 by default). */
export function smppCapabilities({
  maxParts = 10,
}: Pick<SmppCarrierOptions, 'maxParts'>): CarrierCapabilities {
  return { unicode: true, deliveryReports: true, maxParts, validityPeriod: true }
}

/**
 * @example
 * const carrier = smppCarrier({ id: 'smsc-a', host: '127.0.0.1', port: 2775,
 *   systemId: 'textgate', password: process.env.SMSC_PASSWORD!, sourceAddr: 'Shop' })
 * carrier.onReport((report) => console.log(report.carrierMessageId, report.status))
 * await carrier.send({ id, to: '+447700900123', body: 'Your code is 123456', projectId, mode: 'live' })
 */
export function smppCarrier(options: SmppCarrierOptions): SmppCarrier {
  const {
    id,
    window = 10,
    enquireLinkMs = 30_000,
    responseTimeoutMs = 10_000,
    connectTimeoutMs = 5_000,
    reconnectBaseMs = 250,
    reconnectMaxMs = 30_000,
    throttleRetryAfterMs = 1_000,
    longMessages = 'udh',
    maxParts = 10,
    logger,
  } = options
  const tls = options.tls === true ? {} : options.tls || undefined
  if (tls?.rejectUnauthorized === false) {
    logger?.warn(
      { carrier: id },
      `SMPP carrier "${id}": TLS certificate verification is off (tls.rejectUnauthorized false); anyone on the path can read and alter the traffic`,
    )
  }

  let state: SmppCarrier['state'] = 'idle'
  let session: Session | undefined
  let binding: Promise<Session> | undefined
  let reconnectTimer: NodeJS.Timeout | undefined
  let reconnectAt = 0
  let failedBinds = 0
  /**
   * After a refusal that the same settings cannot get past (bind credentials, a TLS certificate):
   * the error sends fail with, and until when they fail without a bind.
   */
  let refusal: { error: () => CarrierError; until: number } | undefined
  let keepalive: NodeJS.Timeout | undefined
  /** Gives up the bind under way (its connection too), when close() comes during it. */
  let abandonBind: (() => void) | undefined
  let reference = randomInt(256)
  const pending = new Map<Session, Set<Pending>>()
  /** Sessions whose socket is corked until the end of this turn (see sendPdu). */
  const corked = new WeakSet<Session>()
  const listeners = new Set<(report: DeliveryReport) => void>()

  // The submit window: a counting semaphore.
  let outstanding = 0
  const waiters: (() => void)[] = []
  async function acquire(): Promise<void> {
    if (outstanding < window) {
      outstanding++
      return
    }
    await new Promise<void>((resolve) => waiters.push(resolve))
  }
  function release(): void {
    const next = waiters.shift()
    if (next) next()
    else outstanding--
  }

  function transient(message: string, retryAfterMs?: number, cause?: unknown): CarrierError {
    return new CarrierError(id, message, { retryAfterMs, cause })
  }

  /** The permanent error of a bind whose system_id or password the SMSC refused. */
  function credentialsRefused(status: string): CarrierError {
    return new CarrierError(
      id,
      `the SMSC refused the bind credentials (${status}): check system_id and password`,
      { routeFault: true, code: status },
    )
  }

  /**
   * The error of a TLS handshake that failed on a certificate: the SMSC's, which we
   * could not verify (wrong CA, name, expiry), or ours, which the SMSC refused. A configuration
   * problem, like refused credentials; null for any other connection error.
   */
  function certificateError(
    error: Error & { code?: string },
    socket: TLSSocket,
  ): CarrierError | null {
    const code = error.code ?? ''
    if (socket.authorizationError) {
      return new CarrierError(
        id,
        `TLS certificate verification failed: the SMSC's certificate is not trusted (${socket.authorizationError}: ${error.message}); check tls.caFile and tls.servername`,
        { routeFault: true, code: String(socket.authorizationError), cause: error },
      )
    }
    if (CLIENT_CERT_REFUSED.test(code)) {
      return new CarrierError(
        id,
        `TLS handshake failed: the SMSC refused our client certificate (${code}); check tls.certFile and tls.keyFile`,
        { routeFault: true, code, cause: error },
      )
    }
    return null
  }

  /** Holds off binds after a permanent refusal: sends fail with `error` until the hold passes. */
  function hold(error: () => CarrierError): void {
    refusal = { error, until: Date.now() + reconnectMaxMs }
    if (state !== 'closed') state = 'refused'
  }

  /**
   * Sends a PDU with the others of this turn of the event loop, in one write: a round of
   * submits, or the responses to a burst of receipts, costs one system call and one TCP segment
   * rather than one each (Nagle is off on the socket, so every write is a segment of its own).
   * The socket is corked at the turn's first PDU and uncorked once the turn's callbacks and
   * promise jobs have run.
   */
  function sendPdu(current: Session, pdu: PDU, onResponse?: (response: PDU) => void): boolean {
    if (!corked.has(current)) {
      const { socket } = current
      corked.add(current)
      socket.cork()
      process.nextTick(() => {
        corked.delete(current)
        socket.uncork()
      })
    }
    return current.send(pdu, onResponse)
  }

  /** Sends a request and resolves with its response; rejects if the bind drops or times out. */
  function request(
    current: Session,
    command: string,
    fields: Record<string, unknown>,
  ): Promise<PDU> {
    return new Promise((resolve, reject) => {
      let set = pending.get(current)
      if (!set) {
        set = new Set()
        pending.set(current, set)
      }
      const entries = set
      const entry: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          entries.delete(entry)
          reject(transient(`no answer within ${responseTimeoutMs} ms (no ${command}_resp)`))
          // A bind that stops answering is dead: drop it so that it is re-bound.
          onDropped(current, `no ${command}_resp`)
          current.destroy()
        }, responseTimeoutMs),
      }
      entries.add(entry)
      const pdu = new smpp.PDU(command, fields)
      const written = sendPdu(current, pdu, (response) => {
        clearTimeout(entry.timer)
        entries.delete(entry)
        resolve(response)
      })
      if (!written) {
        clearTimeout(entry.timer)
        entries.delete(entry)
        reject(transient('the SMPP connection is not writable'))
        onDropped(current, 'not writable')
      }
    })
  }

  /**
   * Hands a receipt to the listeners as the SMSC sent it: a receipt for a later part of a long
   * text names that part's id, which the dispatcher stored (see SendResult.sentParts), so any
   * process finds its message, also after a restart.
   */
  function emitReport(report: DeliveryReport): void {
    for (const listener of listeners) {
      try {
        listener(report)
      } catch (error) {
        logger?.error({ err: error, carrier: id }, 'delivery report listener failed')
      }
    }
  }

  function onDropped(dropped: Session, reason: string): void {
    if (session !== dropped) return
    session = undefined
    if (keepalive) clearInterval(keepalive)
    keepalive = undefined
    const set = pending.get(dropped)
    pending.delete(dropped)
    for (const entry of set ?? []) {
      clearTimeout(entry.timer)
      entry.reject(transient(`the SMPP bind dropped (${reason})`))
    }
    if (state === 'closed') return
    logger?.warn({ carrier: id, reason }, 'SMPP bind dropped; re-binding')
    scheduleReconnect()
  }

  function scheduleReconnect(): void {
    if (state === 'closed' || reconnectTimer) return
    const delay = randomInt(
      Math.max(1, Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(failedBinds, 20))) + 1,
    )
    state = 'waiting'
    reconnectAt = Date.now() + delay
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      bind().catch(() => {
        // bind() schedules the next attempt itself.
      })
    }, delay)
    reconnectTimer.unref()
  }

  function bind(): Promise<Session> {
    if (session) return Promise.resolve(session)
    if (binding) return binding
    if (state === 'closed') return Promise.reject(transient('the adapter is closed'))
    state = 'connecting'
    binding = new Promise<Session>((resolve, reject) => {
      const candidate = smpp.connect(
        tls
          ? withFields(tls, {
              // Verification is on unless switched off in so many words.
              rejectUnauthorized: tls.rejectUnauthorized !== false,
              host: options.host,
              port: options.port,
              tls: true,
            })
          : { host: options.host, port: options.port },
      )
      let settled = false
      /** Gives up this attempt; `retry` schedules the next one with backoff. */
      const fail = (error: CarrierError, retry = true) => {
        if (settled) return
        settled = true
        abandonBind = undefined
        clearTimeout(timer)
        candidate.destroy()
        failedBinds++
        binding = undefined
        reject(error)
        if (retry) scheduleReconnect()
      }
      /** Over TLS: whether the handshake is done (a clear-text port never answers it). */
      let secured = false
      abandonBind = () => fail(transient('the adapter is closed'), false)
      const timer = setTimeout(
        () =>
          fail(
            transient(
              tls && !secured
                ? `no TLS handshake within ${connectTimeoutMs} ms (does the SMSC take TLS on port ${options.port}?)`
                : `no bind within ${connectTimeoutMs} ms`,
            ),
          ),
        connectTimeoutMs,
      )
      candidate.on('error', (error: Error) => {
        const refused = !settled && tls && certificateError(error, candidate.socket as TLSSocket)
        if (refused) {
          logger?.error(
            { carrier: id, code: refused.code },
            'TLS certificate problem; not re-binding on our own',
          )
          hold(() => certificateError(error, candidate.socket as TLSSocket)!)
          fail(refused, false)
        } else if (!settled) fail(transient(`cannot connect: ${error.message}`, undefined, error))
        else logger?.warn({ carrier: id, err: error.message }, 'SMPP socket error')
      })
      candidate.on('close', () => {
        if (!settled) fail(transient('the SMSC closed the connection before the bind'))
        else onDropped(candidate, 'connection closed')
      })
      // Over TLS the bind waits for the handshake (and the certificate check) to succeed.
      candidate.on(tls ? 'secureConnect' : 'connect', () => {
        secured = Boolean(tls)
        // Small PDUs must not wait for the peer's delayed ACK (Nagle): the window needs them out.
        candidate.socket.setNoDelay(true)
        candidate.bind_transceiver(
          {
            system_id: options.systemId,
            password: options.password,
            system_type: options.systemType ?? '',
            interface_version: 0x34,
          },
          (response) => {
            if (settled) return
            const status = response.command_status
            if (CREDENTIAL_STATUSES.has(status)) {
              const name = statusName(status)
              logger?.error(
                { carrier: id, status: name },
                'the SMSC refused the bind credentials; not re-binding on our own',
              )
              hold(() => credentialsRefused(name))
              fail(credentialsRefused(name), false)
              return
            }
            if (status !== 0) {
              fail(transient(`bind refused: ${statusName(status)}`))
              return
            }
            refusal = undefined
            settled = true
            abandonBind = undefined
            clearTimeout(timer)
            failedBinds = 0
            binding = undefined
            session = candidate
            state = 'bound'
            attachHandlers(candidate)
            resolve(candidate)
          },
        )
      })
    })
    return binding
  }

  function attachHandlers(current: Session): void {
    current.on('deliver_sm', (pdu: PDU) => {
      sendPdu(current, pdu.response())
      const report = parseReceipt(pdu as Parameters<typeof parseReceipt>[0])
      if (report) emitReport(report)
    })
    current.on('enquire_link', (pdu: PDU) => {
      sendPdu(current, pdu.response())
    })
    current.on('unbind', (pdu: PDU) => {
      sendPdu(current, pdu.response())
      current.close()
    })
    keepalive = setInterval(() => {
      request(current, 'enquire_link', {}).catch(() => {
        // request() already dropped the bind; the close handler re-binds.
      })
    }, enquireLinkMs)
    keepalive.unref()
  }

  /** A bound session, waiting for a bind under way; fails fast while backing off. */
  async function ready(): Promise<Session> {
    if (session) return session
    if (state === 'closed') throw transient('the adapter is closed')
    // Refused credentials or certificate: fail at once for a while instead of hammering the
    // SMSC with binds.
    if (state === 'refused' && refusal && Date.now() < refusal.until) {
      throw refusal.error()
    }
    if (state === 'waiting' && reconnectTimer) {
      throw transient('the SMPP bind is down; re-binding', Math.max(0, reconnectAt - Date.now()))
    }
    return bind()
  }

  async function submit(fields: Record<string, unknown>): Promise<string> {
    await acquire()
    try {
      const current = await ready()
      const response = await request(current, 'submit_sm', fields)
      const status = response.command_status
      if (status === 0) {
        const messageId = String(response.message_id ?? '')
        if (!messageId) throw transient('submit_sm_resp carried no message_id')
        return messageId
      }
      const name = statusName(status)
      if (THROTTLED_STATUSES.has(status)) {
        throw transient(`throttled by the SMSC (${name})`, throttleRetryAfterMs)
      }
      throw new CarrierError(id, `submit_sm refused: ${name}`, {
        permanent: PERMANENT_STATUSES.has(status),
      })
    } finally {
      release()
    }
  }

  const carrier: SmppCarrier = {
    id,
    capabilities: smppCapabilities({ maxParts }),
    get state() {
      return state
    },
    async connect() {
      await bind()
    },
    onReport(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async send(message: OutgoingMessage): Promise<SendResult> {
      const encoded = encodeText(message.body)
      if (encoded.parts.length > maxParts) {
        throw new CarrierError(
          id,
          `the text needs ${encoded.parts.length} parts (at most ${maxParts})`,
          {
            permanent: true,
          },
        )
      }
      const base = {
        source_addr_ton: /^\+?\d+$/.test(options.sourceAddr) ? 1 : 5,
        source_addr_npi: /^\+?\d+$/.test(options.sourceAddr) ? 1 : 0,
        source_addr: options.sourceAddr.replace(/^\+/, ''),
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: message.to.replace(/^\+/, ''),
        registered_delivery: 0x01,
        data_coding: encoded.dataCoding,
        ...dltFields(message, options.dltTlvs ?? DEFAULT_DLT_TLVS),
        // Every part of a long text carries it: the SMSC drops what it cannot deliver in time.
        ...validityField(message),
      }
      if (encoded.parts.length === 1) {
        const carrierMessageId = await submit(withFields(base, { short_message: encoded.whole }))
        return { carrierMessageId, status: 'sent', segments: 1 }
      }
      if (longMessages === 'payload') {
        const carrierMessageId = await submit(
          withFields(base, {
            short_message: Buffer.alloc(0),
            message_payload: encoded.whole,
          }),
        )
        return { carrierMessageId, status: 'sent', segments: encoded.parts.length }
      }
      reference = (reference + 1) % 256
      const ids: string[] = []
      for (const [index, part] of encoded.parts.entries()) {
        const udh = concatUdh(reference, encoded.parts.length, index + 1)
        try {
          ids.push(
            await submit(
              withFields(base, { esm_class: 0x40, short_message: Buffer.concat([udh, part]) }),
            ),
          )
        } catch (error) {
          // Parts already accepted will reach the phone; a retry sends the whole text again.
          if (ids.length > 0 && error instanceof CarrierError && !error.permanent) {
            logger?.warn({ carrier: id, sentParts: ids.length }, 'long text cut after some parts')
          }
          throw error
        }
      }
      // Each part gets its own receipt: every id goes back to be stored with the message.
      return {
        carrierMessageId: ids[0]!,
        status: 'sent',
        segments: ids.length,
        sentParts: ids.map((carrierMessageId) => ({ carrierMessageId })),
      }
    },
    async close() {
      const current = session
      state = 'closed'
      if (reconnectTimer) clearTimeout(reconnectTimer)
      reconnectTimer = undefined
      if (keepalive) clearInterval(keepalive)
      keepalive = undefined
      // A bind under way (a re-bind, say) must not outlive the adapter with its connection.
      abandonBind?.()
      if (!current) return
      try {
        await Promise.race([
          request(current, 'unbind', {}),
          new Promise((resolve) => setTimeout(resolve, 1_000)),
        ])
      } catch {
        // Closing anyway.
      }
      await new Promise<void>((resolve) => {
        // The SMSC may have closed the connection after unbind_resp: no 'close' would come again.
        if (current.socket.destroyed) resolve()
        else current.destroy(() => resolve())
      })
    },
  }
  return carrier
}
