/**
 * Weighing the destination against the caller: what a start gets. A decoy needs two strikes —
 * a destination in trouble (cold and high-risk, or restricted) and a caller the guard is
 * confident about (a bot, or no signals at all) — so no country is ever decoyed as a whole:
 *
 * | caller \ destination | open      | cold (no history)              | restricted                   |
 * |----------------------|-----------|--------------------------------|------------------------------|
 * | trusted device       | allow     | allow                          | priced challenge             |
 * | human-looking        | allow     | high risk: escalate; else challenge | escalate (captcha or 4× work)|
 * | unknown (no signals) | allow     | high risk: decoy; else challenge | probe when due, else decoy |
 * | bot                  | challenge | decoy                          | decoy                        |
 * @module
 */
import type { CallerClass } from './callers'
import type { DestinationRisk } from './destinations/prior'
import type { DestinationState } from './destinations/verdict'

export type Action = 'allow' | 'challenge' | 'escalate' | 'probe' | 'decoy'

export interface Weighing {
  action: Action
  destination: DestinationState
  caller: CallerClass
}

export function weigh(
  destination: DestinationState,
  risk: DestinationRisk,
  caller: CallerClass,
): Weighing {
  const action = ((): Action => {
    switch (destination) {
      case 'open':
        return caller === 'bot' ? 'challenge' : 'allow'
      case 'cold':
        if (caller === 'trusted') return 'allow'
        // High risk and no history: the interactive step (or 4× the work) for a new device.
        if (caller === 'human') return risk === 'high' ? 'escalate' : 'challenge'
        if (caller === 'unknown') return risk === 'high' ? 'decoy' : 'challenge'
        return 'decoy'
      case 'restricted':
        if (caller === 'trusted') return 'challenge'
        if (caller === 'human') return 'escalate'
        if (caller === 'unknown') return 'probe'
        return 'decoy'
    }
  })()
  return { action, destination, caller }
}
