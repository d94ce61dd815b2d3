/**
 * The caller: first-party signals the widget sends with a start (a random per-browser device id,
 * how the number was entered, automation hints), weighed into one of five classes:
 *
 * - `server`: the store's own server, starting with its secret key: no browser, so no signals,
 *   and the store answers for it (its secret keys are bound to its IP allowlist);
 * - `trusted`: a device that verified a number of the same country at this store in the last 30
 *   days, and nothing bot-like;
 * - `human`: interaction signals present and plausible, no automation hint;
 * - `unknown`: no interaction signals on a publishable key (not the widget: a script, or a store
 *   server using its publishable key);
 * - `bot`: an automation hint, an interaction no person produces, or one device id starting
 *   verifications from address after address.
 *
 * The class alone never refuses anyone: the guard weighs it with the destination (see guard.ts).
 * @module
 */
import type { FraudSettings } from './settings'
import type { CallerSignals } from './types'

export type CallerClass = 'server' | 'trusted' | 'human' | 'unknown' | 'bot'

export interface CallerFigures {
  /** Starts from this device id in the last hour, this one included. */
  deviceStarts1h?: number
  /**
   * Verifications this device id completed at this store in the last 30 days, for numbers of the
   * destination's country.
   */
  deviceVerified30d?: number
}

export interface CallerVerdict {
  class: CallerClass
  /** `caller.*` reason codes behind the class. */
  reasons: string[]
}

const HEADLESS_AGENT = /HeadlessChrome|PhantomJS|Puppeteer|Playwright|python-requests|curl\//i

export function judgeCaller(
  signals: CallerSignals | undefined,
  userAgent: string | null | undefined,
  figures: CallerFigures,
  settings: FraudSettings['callers'],
  keyKind?: 'publishable' | 'secret',
): CallerVerdict {
  if (keyKind === 'secret') return { class: 'server', reasons: ['caller.store_server'] }
  const bot: string[] = []
  if (signals?.webdriver === true) bot.push('caller.webdriver')
  if (userAgent && HEADLESS_AGENT.test(userAgent)) bot.push('caller.automation_agent')
  if (signals?.visible === false) bot.push('caller.hidden_page')
  if (signals?.shownMs !== undefined && signals.shownMs < settings.minShownMs) {
    bot.push('caller.too_fast')
  }
  // Typing a phone number takes key presses and a focus on the field.
  if (signals?.entry === 'typed' && (signals.keys ?? 0) < 4) bot.push('caller.typed_without_keys')
  if ((signals?.entry === 'typed' || signals?.entry === 'mixed') && signals.focuses === 0) {
    bot.push('caller.no_focus')
  }
  if ((figures.deviceStarts1h ?? 0) > settings.deviceStartsPerHour) {
    bot.push('caller.device_velocity')
  }
  if (bot.length > 0) return { class: 'bot', reasons: bot }

  if ((figures.deviceVerified30d ?? 0) >= 1)
    return { class: 'trusted', reasons: ['caller.known_device'] }
  const interaction =
    signals?.shownMs !== undefined && signals.entry !== undefined && signals.visible !== undefined
  if (!signals || Object.keys(signals).length === 0) {
    return { class: 'unknown', reasons: ['caller.no_signals'] }
  }
  if (!interaction) return { class: 'unknown', reasons: ['caller.no_interaction'] }
  if (signals.deviceId === undefined) return { class: 'unknown', reasons: ['caller.no_device'] }
  return { class: 'human', reasons: [] }
}
