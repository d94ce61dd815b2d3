/**
 * Delivery receipts of SMPP 3.4: a deliver_sm whose esm_class marks an SMSC delivery receipt,
 * carrying the outcome as TLVs (receipted_message_id, message_state, network_error_code) or, on
 * older SMSCs, only as text ("id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD err:…").
 * @module
 */
import type { DeliveryReport, DeliveryStatus } from '../types'

/** esm_class bits 2–5 give the message type; 0x04 is an SMSC delivery receipt. */
export const ESM_CLASS_TYPE_MASK = 0x3c
export const ESM_CLASS_DELIVERY_RECEIPT = 0x04

/** message_state values of SMPP 3.4 §5.2.28. */
const MESSAGE_STATES: Record<number, string> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
}

/** What each final (or intermediate) state means for our message. */
export function normaliseState(stat: string): DeliveryStatus {
  switch (stat.toUpperCase()) {
    case 'DELIVRD':
      return 'delivered'
    case 'UNDELIV':
    case 'EXPIRED':
    case 'DELETED':
      return 'undelivered'
    case 'REJECTD':
      return 'failed'
    default:
      return 'sent'
  }
}

/** The PDU fields a receipt is read from (as the `smpp` package decodes a deliver_sm). */
export interface ReceiptPdu {
  esm_class?: number
  receipted_message_id?: string
  message_state?: number
  network_error_code?: Buffer
  short_message?: { message?: string | Buffer } | Buffer | string
}

/** "YYMMDDhhmm" (or with seconds) in the SMSC's clock, read as UTC. */
function parseReceiptDate(value: string | undefined): number | undefined {
  const match = value && /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(value)
  if (!match) return undefined
  const [, yy, mo, dd, hh, mi, ss] = match
  const at = Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi))
  return Number.isNaN(at) ? undefined : at + Number(ss ?? 0) * 1000
}

/** Reads the text form; keys are case-insensitive, "submit date"/"done date" contain a space. */
export function parseReceiptText(text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  const pattern =
    /(id|sub|dlvrd|submit date|done date|stat|err|text):\s*(.*?)(?=\s+(?:id|sub|dlvrd|submit date|done date|stat|err|text):|$)/gis
  // Some SMSCs wrap the text ("done\ndate:…"): read every run of white space as one space.
  for (const match of text.replace(/\s+/g, ' ').matchAll(pattern)) {
    fields[match[1]!.toLowerCase()] = match[2]!.trim()
  }
  return fields
}

function textOf(shortMessage: ReceiptPdu['short_message']): string {
  if (shortMessage === undefined) return ''
  if (typeof shortMessage === 'string') return shortMessage
  if (Buffer.isBuffer(shortMessage)) return shortMessage.toString('latin1')
  const message = shortMessage.message
  if (message === undefined) return ''
  return typeof message === 'string' ? message : message.toString('latin1')
}

/**
 * Returns the normalised report of a delivery receipt, or null when the PDU is not one (a
 * mobile-originated text) or names no message. TLVs win over the text where both are present.
 * @example
 * parseReceipt({ esm_class: 4, short_message: { message: 'id:7 sub:001 dlvrd:001 stat:DELIVRD err:000' } })
 * // { carrierMessageId: '7', status: 'delivered', carrierStatus: 'DELIVRD', errorCode: undefined, at }
 */
export function parseReceipt(pdu: ReceiptPdu, now = Date.now()): DeliveryReport | null {
  if (((pdu.esm_class ?? 0) & ESM_CLASS_TYPE_MASK) !== ESM_CLASS_DELIVERY_RECEIPT) return null
  const fields = parseReceiptText(textOf(pdu.short_message))
  const carrierMessageId = pdu.receipted_message_id || fields.id
  if (!carrierMessageId) return null
  const stat =
    pdu.message_state !== undefined
      ? (MESSAGE_STATES[pdu.message_state] ?? 'UNKNOWN')
      : (fields.stat ?? 'UNKNOWN')
  let errorCode: string | undefined
  if (pdu.network_error_code && pdu.network_error_code.length >= 3) {
    // network_error_code: network type (1 octet) then the error code (2 octets).
    errorCode = String(pdu.network_error_code.readUInt16BE(1))
  } else if (fields.err && !/^0+$/.test(fields.err)) {
    errorCode = fields.err
  }
  return {
    carrierMessageId,
    status: normaliseState(stat),
    carrierStatus: stat.toUpperCase(),
    errorCode,
    at: parseReceiptDate(fields['done date']) ?? now,
  }
}
