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
