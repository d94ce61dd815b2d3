/**
 * Routing-file entries that are valid but will not work as the operator likely expects: said
 * once at start-up (and by `routes check`), naming the entry id, never a secret.
 * @module
 */
import { kindOf } from '../carriers/registry'
import type { RoutingConfig } from './routing-file'

/**
 * One line per carrier entry whose delivery reports will all be refused: the carrier posts
 * them, but with neither a signature secret nor a callback token nothing proves they are
 * genuine, so report intake answers 401 and messages stay `sent`. Such an entry still sends,
 * so it is accepted (an operator may not want reports), but said out loud.
 */
export function routingWarnings(config: Pick<RoutingConfig, 'carriers'>): string[] {
  const warnings: string[] = []
  for (const spec of config.carriers) {
    const needs = kindOf(spec).reportProofMissing?.(spec)
    if (needs) {
      warnings.push(
        `carrier "${spec.id}" (${spec.type}): no signature secret or callback token, so every delivery report it posts will be refused and its messages stay "sent"; set ${needs} to track delivery`,
      )
    }
  }
  return warnings
}
