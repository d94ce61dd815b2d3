/**
 * An endpoint that answers as a whole that it is busy (429 Too Many Requests, 502, 503, 504) is
 * held until its retry time: every delivery to it waits, those already waiting, those raised
 * during the hold and replays alike, and none spends an attempt on the same answer. The
 * dispatcher's claim and readiness both ask {@link toEndpointTakingDeliveries}.
 * @module
 */
import type { ExpressionBuilder, Transaction } from 'kysely'
import type { Database } from '../storage'

/** Answers that hold the endpoint (Standard Webhooks: throttle), not only this delivery. */
export const THROTTLING: ReadonlySet<number> = new Set([429, 502, 503, 504])

/** A query over `webhook_deliveries as d`. */
type Deliveries = Database & { d: Database['webhook_deliveries'] }

/**
 * True for a delivery `d` whose endpoint takes deliveries at `at`: enabled, and not held.
 * @example
 * db.selectFrom('webhook_deliveries as d').selectAll().where(toEndpointTakingDeliveries(now))
 */
export function toEndpointTakingDeliveries(at: number) {
  return (eb: ExpressionBuilder<Deliveries, 'd'>) =>
    eb('d.endpoint_id', 'in', (sub) =>
      sub
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('enabled', '=', 1)
        .where((e) => e.or([e('held_until', 'is', null), e('held_until', '<=', at)])),
    )
}

/**
 * When a delivery written at `at` to an endpoint held until `heldUntil` is first due: its
 * outbox row says so, so the dispatcher's "anything due?" read does not find it before.
 */
export function dueAt(at: number, heldUntil: number | null): number {
  return heldUntil !== null && heldUntil > at ? heldUntil : at
}

/**
 * Holds `endpointId` until `until` (never shortens a hold already longer) and moves its pending
 * deliveries that are not under way to then, their attempts uncounted. `doneWith` is the
 * delivery whose answer asked for it, already rescheduled by the caller.
 */
export async function holdEndpoint(
  trx: Transaction<Database>,
  {
    endpointId,
    until,
    at,
    doneWith,
  }: {
    endpointId: string
    until: number
    at: number
    doneWith: string
  },
): Promise<void> {
  // Deliveries first, then the endpoint's row: the order the claim takes its locks in.
  await trx
    .updateTable('webhook_deliveries')
    .set({ available_at: until })
    .where('endpoint_id', '=', endpointId)
    .where('state', '=', 'pending')
    .where('available_at', '<', until)
    .where('id', '!=', doneWith)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
    .execute()
  await trx
    .updateTable('webhook_endpoints')
    .set({ held_until: until })
    .where('id', '=', endpointId)
    .where((eb) => eb.or([eb('held_until', 'is', null), eb('held_until', '<', until)]))
    .execute()
}
