/**
 * Weighing the destination against the caller: what a start gets. A decoy needs two strikes —
 * a destination in trouble (cold and high-risk, or restricted) and a caller the guard is
 * confident is a bot (an automation hint, an inhuman interaction, one device across many
 * addresses) — so no country, and no class of callers merely lacking signals, is ever decoyed.
 * A caller without signals is told plainly instead (a 429 throttle), so a store's server knows
 * and can start from the widget or with its secret key:
 *
 * | caller \ destination | open      | cold (no history)                     | restricted                        |
 * |----------------------|-----------|---------------------------------------|-----------------------------------|
 * | store server (sk_)   | allow     | allow (the cold budget is its ceiling)| probe when due, else throttle     |
 * | trusted device       | allow     | allow                                 | priced challenge                  |
 * | human-looking        | allow     | high risk: escalate; else challenge   | escalate (captcha or 4× work)     |
 * | unknown (no signals) | allow     | captcha if the store has one, else throttle | captcha if the store has one, else probe when due, else throttle |
 * | bot                  | challenge | decoy                                 | decoy                             |
 * @module
 */
import type { CallerClass } from './callers'
import type { DestinationRisk } from './destinations/prior'
import type { DestinationState } from './destinations/verdict'

export type Action = 'allow' | 'challenge' | 'escalate' | 'probe' | 'throttle' | 'decoy'

export interface Weighing {
  action: Action
  destination: DestinationState
  caller: CallerClass
}

export function weigh(
  destination: DestinationState,
  risk: DestinationRisk,
  caller: CallerClass,
  /** The store configured Turnstile or hCaptcha: an escalation is an interactive step. */
  captcha = false,
): Weighing {
  const action = ((): Action => {
    switch (destination) {
      case 'open':
        return caller === 'bot' ? 'challenge' : 'allow'
      case 'cold':
        if (caller === 'trusted' || caller === 'server') return 'allow'
        // High risk and no history: the interactive step (or 4× the work) for a new device.
        if (caller === 'human') return risk === 'high' ? 'escalate' : 'challenge'
        // Proof of work alone is what a pumping script solves: only a captcha tells. Medium risk
        // too: a pumper simply picks the countries a prior does not call high.
        if (caller === 'unknown') return captcha ? 'escalate' : 'throttle'
        return 'decoy'
      case 'restricted':
        if (caller === 'trusted') return 'challenge'
        if (caller === 'human') return 'escalate'
        if (caller === 'unknown' && captcha) return 'escalate'
        if (caller === 'unknown' || caller === 'server') return 'probe'
        return 'decoy'
    }
  })()
  return { action, destination, caller }
}
