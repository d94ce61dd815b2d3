/**
 * Schemas of the operator-facing endpoints: readiness for orchestrators.
 * @module
 */
import * as v from 'valibot'

/** `GET /readyz`: 200 when every check passes, 503 otherwise, with each check's state. */
export const ReadinessResponse = v.object({
  status: v.picklist(['ready', 'not_ready']),
  checks: v.object({
    /** A query answered within 2 s. */
    database: v.picklist(['ok', 'unreachable']),
    /** Every migration this build knows is applied (`ahead`: the database has newer ones too). */
    migrations: v.picklist(['current', 'pending', 'ahead', 'unknown']),
    /** No code text due for more than 5 minutes is left unclaimed. */
    outbox: v.picklist(['ok', 'stuck', 'unknown']),
    /** The same for webhook deliveries. */
    webhooks: v.picklist(['ok', 'stuck', 'unknown']),
    /** The process is not shutting down. */
    accepting: v.boolean(),
  }),
  /** Age in seconds of the oldest due, unclaimed row of each queue (0 when none). */
  oldestDueSeconds: v.object({ outbox: v.number(), webhooks: v.number() }),
})
export type ReadinessResponse = v.InferOutput<typeof ReadinessResponse>
