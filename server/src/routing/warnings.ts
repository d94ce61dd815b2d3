/**
 * Routing-file entries that are valid but will not work as the operator likely expects: said
 * once at start-up (and by `routes check`), naming the entry id, never a secret.
 * @module
 */
import type { CarrierSpec, RoutingConfig } from './config'

/** What a carrier entry needs so its delivery reports can be proven genuine. */
const REPORT_PROOF: Partial<
  Record<CarrierSpec['type'], (spec: CarrierSpec) => string | undefined>
> = {
  vonage: (spec) =>
    spec.type === 'vonage' && !spec.signature && !spec.callbackTokenEnv
      ? '"signature" (Vonage signs receipts with it) or "callbackTokenEnv"'
      : undefined,
  infobip: (spec) =>
    spec.type === 'infobip' && !spec.callbackTokenEnv ? '"callbackTokenEnv"' : undefined,
  alibaba: (spec) =>
    spec.type === 'alibaba' && !spec.callbackTokenEnv ? '"callbackTokenEnv"' : undefined,
  tencent: (spec) =>
    spec.type === 'tencent' && !spec.callbackTokenEnv ? '"callbackTokenEnv"' : undefined,
}

/**
 * One line per carrier entry whose delivery reports will all be refused: the carrier posts
 * them, but with neither a signature secret nor a callback token nothing proves they are
 * genuine, so report intake answers 401 and messages stay `sent`. Such an entry still sends,
 * so it is accepted (an operator may not want reports), but said out loud.
 */
export function routingWarnings(config: Pick<RoutingConfig, 'carriers'>): string[] {
  const warnings: string[] = []
  for (const spec of config.carriers) {
    const needs = REPORT_PROOF[spec.type]?.(spec)
    if (needs) {
      warnings.push(
        `carrier "${spec.id}" (${spec.type}): no signature secret or callback token, so every delivery report it posts will be refused and its messages stay "sent"; set ${needs} to track delivery`,
      )
    }
  }
  return warnings
}
