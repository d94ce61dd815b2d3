/**
 * A code's remaining lifetime as carriers want it: adapters ask their carrier to drop a text
 * that cannot be delivered before its code expires ({@link OutgoingMessage.expiresAt}).
 * @module
 */
import type { OutgoingMessage } from './types'

/** A carrier's validity parameter: its unit (in ms) and the range it accepts, in that unit. */
export interface ValidityRange {
  unitMs: number
  min: number
  max: number
}

/**
 * The time left until `message.expiresAt`, in the carrier's unit, rounded down and clamped to
 * its range (below the minimum, the minimum: the outbox already refuses expired codes, so a
 * text sent this close to expiry is still worth a short try). Undefined when the message
 * carries no expiry: then nothing extra is sent and the carrier's default applies.
 */
export function remainingValidity(
  message: Pick<OutgoingMessage, 'expiresAt'>,
  now: number,
  range: ValidityRange,
): number | undefined {
  if (message.expiresAt === undefined) return undefined
  const units = Math.floor((message.expiresAt - now) / range.unitMs)
  return Math.min(range.max, Math.max(range.min, units))
}
