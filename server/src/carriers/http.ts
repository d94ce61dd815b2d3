/**
 * What every HTTP carrier adapter shares: a fetch with a hard timeout, the mapping of HTTP
 * statuses to {@link CarrierError}, Retry-After parsing and constant-time secret comparison.
 * Nothing here logs: errors carry the carrier's own message, never our credentials.
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import { withFields } from '../with-fields'
import { CarrierError } from './types'

export const DEFAULT_TIMEOUT_MS = 10_000

/**
 * Reads Retry-After (delta seconds or an HTTP date) as milliseconds from `now`.
 * @example
 * parseRetryAfter('7') // 7000
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()) {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Sends one request and gives the response, or throws a transient CarrierError when the network
 * failed or the carrier did not answer within `timeoutMs` (the request is aborted then).
 */
export async function carrierFetch(
  carrier: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(url, withFields(init, { signal: AbortSignal.timeout(timeoutMs) }))
  } catch (error) {
    const name = (error as Error | undefined)?.name
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new CarrierError(carrier, `no answer within ${timeoutMs} ms`, { cause: error })
    }
    throw new CarrierError(carrier, `network error: ${(error as Error).message}`, { cause: error })
  }
}

/**
 * The error for a non-2xx answer: 408, 425, 429 and 5xx are transient (retried, honouring
 * Retry-After); 401 and 403 (credentials refused, account not allowed) are faults of the route,
 * not of the text (see {@link CarrierError.routeFault}); every other 4xx — bad number, refused
 * content — is permanent.
 */
export function httpStatusError(
  carrier: string,
  response: Response,
  detail: string,
  options: { code?: string; permanent?: boolean; routeFault?: boolean } = {},
) {
  const status = response.status
  const transient = status === 408 || status === 425 || status === 429 || status >= 500
  const routeFault = options.routeFault ?? (status === 401 || status === 403)
  const permanent = !routeFault && (options.permanent ?? !transient)
  return new CarrierError(carrier, `HTTP ${status}: ${scrubNumbers(detail)}`.slice(0, 300), {
    permanent,
    routeFault,
    retryAfterMs: permanent ? undefined : parseRetryAfter(response.headers.get('retry-after')),
    code: options.code,
  })
}

/**
 * Masks phone numbers in a carrier's error text ("The 'To' number +4477… is not valid"), which
 * ends up in logs and in the messages table.
 * @example scrubNumbers("The 'To' number +447700900123 is not valid") // "The 'To' number [number] is not valid"
 */
export function scrubNumbers(text: string): string {
  return text.replace(/\+?\d[\d ()-]{5,}\d/g, '[number]')
}

/** Reads a body as JSON, or undefined when it is not JSON. */
export async function readJsonBody(response: Response): Promise<unknown> {
  const text = await response.text()
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Compares two secrets (signatures, tokens) without leaking where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/** The E.164 number without its plus, as several carriers want it. */
export function digitsOnly(e164: string): string {
  return e164.replace(/^\+/, '')
}
