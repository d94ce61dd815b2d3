/**
 * Events of one verification reach an endpoint in order. The dispatcher claims only a delivery
 * with no earlier one of its order pending, and readiness does not count one that waits on
 * purpose behind an earlier one being retried: both ask this one question.
 * @module
 */
import type { ExpressionBuilder } from 'kysely'
import type { Database } from '../storage'

/** A query over `webhook_deliveries as d`. */
type Deliveries = Database & { d: Database['webhook_deliveries'] }

/**
 * True for a delivery `d` with no earlier delivery of its order (same endpoint and order key,
 * lower `seq`, or the same `seq` and a lower id) still pending.
 * @example
 * db.selectFrom('webhook_deliveries as d').selectAll().where(firstOfItsOrder)
 */
export function firstOfItsOrder({ not, exists, selectFrom }: ExpressionBuilder<Deliveries, 'd'>) {
  return not(
    exists(
      selectFrom('webhook_deliveries as p')
        .select('p.id')
        .whereRef('p.endpoint_id', '=', 'd.endpoint_id')
        .whereRef('p.order_key', '=', 'd.order_key')
        .where('p.state', '=', 'pending')
        .where((eb) =>
          eb.or([
            eb('p.seq', '<', eb.ref('d.seq')),
            eb.and([eb('p.seq', '=', eb.ref('d.seq')), eb('p.id', '<', eb.ref('d.id'))]),
          ]),
        ),
    ),
  )
}
