/**
 * The carrier adapter interface: every way of handing a text to a network implements it.
 * @module
 */

import type { KeyMode } from '../storage'
import type { RowBatch } from '../storage/row-insert'

export interface OutgoingMessage {
  /** Our message id; adapters pass it as the carrier's client reference where they can. */
  id: string
  to: string
  /** The rendered text, as free-text carriers send it. */
  body: string
  /**
   * The same text as the outbox keeps it, sealed with the server's key (`secrets.encrypt`): an
   * adapter that stores a copy (the sandbox's inbox) stores this instead of sealing it again.
   */
  sealedBody?: string
  /**
   * The caller writes the rows a send returns (`SendResult.rows`) in the commit that records
   * the send (the outbox's dispatcher does): an adapter that delivers into the database (the
   * sandbox's inbox) then returns its rows instead of writing them, and a text and the record
   * of its sending land in one commit. Unset, such an adapter writes them itself.
   */
  rowsWithRecord?: boolean
  projectId: string
  mode: KeyMode
  /**
   * When the code in the text stops working (epoch ms): adapters ask the carrier to drop the
   * text after it (SMPP validity_period, Twilio ValidityPeriod, Vonage ttl, Infobip
   * validityPeriod), since a code that arrives late is of no use.
   */
  expiresAt?: number
  /**
   * What the text was made of, and the project's registrations for its locale: template-only
   * carriers (Alibaba, Tencent) build their request from it, India's DLT ids ride along.
   * Absent on messages queued before it existed.
   */
  template?: TemplateData
  /**
   * The country its verification was counted as (phone/territory.ts; an allowed territory where
   * the number alone cannot tell it): the router matches the routing file's `countries` to it.
   * Absent: the router reads the number's country itself.
   */
  country?: string | undefined
}

/** The values a code message is made of; registered templates name them as their parameters. */
export type TemplateParamName = 'code' | 'minutes' | 'brand'

/**
 * What a project registered for one carrier or one country's rules (Alibaba's template code,
 * India's DLT ids …), under that carrier's or rule's key. Empty here: each carrier folder that
 * reads registrations adds its own key by declaration merging (`declare module '../types'`),
 * so no vendor field lives in the shared types.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the carrier folders
export interface TemplateRegistrations {}

/** A code message's values plus the project's registrations resolved for its locale. */
export interface TemplateData extends TemplateRegistrations {
  values: Record<TemplateParamName, string>
  /** The locale the text was rendered for (BCP 47), when the widget sent one. */
  locale: string | null
  /** The registered Chinese signature (签名) without brackets; 【…】 in free texts to +86. */
  signName?: string
}

/** A price as the carrier states it: a decimal string, never a float. */
export interface Cost {
  amount: string
  currency: string
}

/** One part of a long text as the carrier took it: its own id, and its price when stated. */
export interface SentPart {
  carrierMessageId: string
  cost?: Cost
}

export interface SendResult {
  /** The carrier's id for the message; for a text sent in parts, the first part's id. */
  carrierMessageId: string
  /** `delivered` when the carrier confirms delivery synchronously (the sandbox does). */
  status: 'sent' | 'delivered'
  /** What the carrier charged, or what the route's per-segment price makes it. */
  cost?: Cost
  /** Parts the carrier reports it split the text into, when it says so. */
  parts?: number
  /** The adapter that took the message, when `send` went through a router to another one. */
  carrier?: string
  /** How many parts (segments) the carrier was handed, when the adapter knows. */
  segments?: number
  /**
   * Every part's own id, in order, when the carrier gives one per part (Vonage answers one
   * `message-id` per part; SMPP takes one submit_sm per UDH part) and reports each part on its
   * own. The dispatcher stores them with the send, so a report for any part finds its message.
   */
  sentParts?: SentPart[]
  /** What the send is, as rows not yet written (see `OutgoingMessage.rowsWithRecord`). */
  rows?: RowBatch
}

export interface SenderIdRules {
  /** Whether an alphanumeric sender ("Shop") may be used where the destination allows it. */
  alphanumeric: boolean
  /** Longest alphanumeric sender accepted (11 on GSM networks). */
  maxLength: number
}

/** How a carrier's delivery-report callbacks prove they come from it. */
export type CallbackAuth =
  /** The carrier signs each callback (body and/or URL) with a shared secret. */
  | 'signature'
  /** The carrier does not sign; a secret token placed in the callback URL is checked. */
  | 'url-token'
  | 'none'

export interface CarrierCapabilities {
  unicode: boolean
  deliveryReports: boolean
  /** Largest number of concatenated parts the carrier accepts for one message. */
  maxParts: number
  senderId?: SenderIdRules
  /** The carrier sends only pre-registered templates (e.g. mainland China), not free text. */
  templatesOnly?: boolean
  callbackAuth?: CallbackAuth
  /**
   * The adapter passes the code's remaining lifetime ({@link OutgoingMessage.expiresAt}) to the
   * carrier, which drops the text instead of delivering it late. False (or absent) where the
   * carrier has no such parameter.
   */
  validityPeriod?: boolean
}

/** A carrier callback as received: what signature checks and parsers need, nothing framework-bound. */
export interface CallbackRequest {
  method: string
  /** The full public URL the carrier called, query included (Twilio signs it). */
  url: string
  /** Header names in lower case. */
  headers: Record<string, string>
  /** The raw body, exactly as received. */
  body: string
}

export type ReportStatus = 'sent' | 'delivered' | 'failed' | 'undelivered'
/** Another name for {@link ReportStatus}, as the SMPP adapter says it. */
export type DeliveryStatus = ReportStatus

/** A delivery report, the same shape whatever carrier sent it. */
export interface DeliveryReport {
  carrierMessageId: string
  status: ReportStatus
  /** The carrier's own word for the state (e.g. SMPP "DELIVRD", "UNDELIV"). */
  carrierStatus?: string
  /** The carrier's own error code, as text, when the report carries one. */
  errorCode?: string | undefined
  /** When the carrier says the status changed (epoch ms); the receive time when it does not. */
  at: number
  cost?: Cost
}

export interface CarrierAdapter {
  readonly id: string
  readonly capabilities: CarrierCapabilities
  send(message: OutgoingMessage): Promise<SendResult>
  /** True when the callback provably comes from this carrier (signature or URL token). */
  verifyCallback?(request: CallbackRequest): boolean
  /**
   * A value unique to one signed callback (its signature), for callbacks signed with a
   * timestamp: the same value twice is a replay and is not applied again. Undefined when the
   * callback carries no such signature (URL-token callbacks).
   */
  callbackReplayKey?(request: CallbackRequest): string | undefined
  /**
   * Fields the carrier reads in the JSON answer to a callback to count its push received, where
   * a 200 alone is not enough (Alibaba's `{ code: 0 }`, Tencent's `{ result: 0 }`): without them
   * it pushes the same reports again. Added to every 200 answer of its report route.
   */
  readonly callbackAcknowledgement?: Readonly<Record<string, string | number>>
  /** The delivery reports a verified callback carries (statuses we do not track are left out). */
  parseReports?(request: CallbackRequest, receivedAt: number): DeliveryReport[]
  close?(): Promise<void>
  /** Opens the connection ahead of the first send (connection-oriented adapters such as SMPP). */
  connect?(): Promise<void>
  /** Adapters with asynchronous delivery reports call `listener` for each; returns "unsubscribe". */
  onReport?(listener: (report: DeliveryReport) => void): () => void
}

/**
 * A carrier's refusal. `permanent` errors (bad number, rejected content) are never retried;
 * transient ones are retried with backoff, honouring `retryAfterMs` when the carrier gave one.
 */
export class CarrierError extends Error {
  readonly permanent: boolean
  /**
   * The route itself cannot send anything now, whatever the text: credentials refused, account
   * suspended or out of credit, destination not enabled for the account. Not the text's fault,
   * so never `permanent`: the router moves to the next route at once (retrying the same
   * credentials is pointless), the route's breaker counts it, and the outbox tries again later.
   */
  readonly routeFault: boolean
  readonly retryAfterMs: number | undefined
  /** The carrier's own error code (Twilio 21211, Vonage status 3, …), when it gave one. */
  readonly code: string | undefined
  constructor(
    readonly carrier: string,
    message: string,
    options: {
      permanent?: boolean
      routeFault?: boolean
      retryAfterMs?: number
      code?: string
      cause?: unknown
    } = {},
  ) {
    super(`[textgate] [${carrier}] ${message}`, { cause: options.cause })
    this.name = 'CarrierError'
    this.routeFault = options.routeFault ?? false
    this.permanent = !this.routeFault && (options.permanent ?? false)
    this.retryAfterMs = options.retryAfterMs
    this.code = options.code
  }
}
