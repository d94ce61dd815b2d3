/**
 * The {@link FraudContext} of a start, resend or approval: what every check sees.
 * @module
 */
import type { RequestLogContext } from '../logger'
import { networkOf } from './network'
import type { FraudSettings } from './settings'
import type { CallerSignals, FraudContext } from './types'

export interface ContextInput {
  projectId: string
  mode: FraudContext['project']['mode']
  phone: string
  country: string
  /** libphonenumber's type, lower case; `mobile` when unknown (a resend, an approval). */
  numberType?: string | undefined
  /** The caller's address; null (or left out) when unknown, as for an approval. */
  ip?: string | null | undefined
  signals?: CallerSignals | undefined
  userAgent?: string | null | undefined
  /** The start carries a challenge solution or a captcha token. */
  answered?: boolean | undefined
  /** The kind of API key the start came with. */
  keyKind?: 'publishable' | 'secret' | undefined
  /** The request being weighed: its log lines carry its id. */
  request?: RequestLogContext | undefined
}

export function fraudContext(
  input: ContextInput,
  options: {
    settings: FraudSettings
    at: number
    /** Price of one text to `phone` (counted as `country`) on the route a live message would take. */
    routeCost?:
      | ((projectId: string, phone: string, country: string) => number | undefined)
      | undefined
    /** Whether the start carries an answer (a challenge solution, a captcha token): else `input.answered`. */
    answered?: boolean | undefined
  },
): FraudContext {
  const { settings, routeCost } = options
  const ip = input.ip ?? null
  let cost: number | undefined
  return {
    project: { id: input.projectId, mode: input.mode },
    destination: {
      phone: input.phone,
      country: input.country,
      numberType: input.numberType ?? 'mobile',
      // Asked of the router only by a check that needs it (spend), once.
      get cost() {
        cost ??=
          (input.mode === 'live'
            ? routeCost?.(input.projectId, input.phone, input.country)
            : undefined) ??
          settings.spend.costs[input.country] ??
          settings.spend.defaultCostPerSms
        return cost
      },
    },
    caller: {
      ip,
      network: ip === null ? null : networkOf(ip),
      signals: input.signals,
      userAgent: input.userAgent,
      answered: options.answered ?? input.answered,
      keyKind: input.keyKind,
    },
    at: options.at,
    settings,
    request: input.request,
  }
}
