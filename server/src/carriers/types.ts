/**
 * The carrier adapter interface: every way of handing a text to a network implements it.
 * @module
 */
import type { KeyMode } from '../storage'

export interface OutgoingMessage {
  /** Our message id; adapters pass it as the carrier's client reference where they can. */
  id: string
  to: string
  body: string
  projectId: string
  mode: KeyMode
}

export interface SendResult {
  carrierMessageId: string
  /** `delivered` when the carrier confirms delivery synchronously (the sandbox does). */
  status: 'sent' | 'delivered'
  /** The adapter that took the message, when `send` went through a router to another one. */
  carrier?: string
  /** How many parts (segments) the carrier was handed, when the adapter knows. */
  segments?: number
  /** What sending it cost, when the route names a per-segment price. */
  cost?: number
}

/** Where a delivery report leaves a message (a subset of the message statuses). */
export type DeliveryStatus = 'sent' | 'delivered' | 'undelivered' | 'failed'

/** A delivery report, normalised from whatever the carrier sent. */
export interface DeliveryReport {
  /** The id the carrier returned when it accepted the message. */
  carrierMessageId: string
  status: DeliveryStatus
  /** The carrier's own word for the state (e.g. SMPP "DELIVRD", "UNDELIV"). */
  carrierStatus?: string
  errorCode?: string | undefined
  /** When the carrier says it happened (epoch ms). */
  at: number
}

export interface CarrierCapabilities {
  unicode: boolean
  deliveryReports: boolean
  /** Largest number of concatenated parts the carrier accepts for one message. */
  maxParts: number
}

export interface CarrierAdapter {
  readonly id: string
  readonly capabilities: CarrierCapabilities
  send(message: OutgoingMessage): Promise<SendResult>
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
  readonly retryAfterMs: number | undefined
  constructor(
    readonly carrier: string,
    message: string,
    options: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(`[textgate] [${carrier}] ${message}`, { cause: options.cause })
    this.name = 'CarrierError'
    this.permanent = options.permanent ?? false
    this.retryAfterMs = options.retryAfterMs
  }
}
