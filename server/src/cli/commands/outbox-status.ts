/**
 * `pnpm textgate outbox status`: texts waiting, being sent, given up, and each carrier's
 * delivery figures.
 * @module
 */
import { formatOutboxStatus, outboxStatus } from '../../outbox/status'
import { type Command, settings, UsageError, withStorage } from '../command'

export const outboxStatusCommand: Command = {
  name: 'outbox status',
  usage: `  outbox status [--hours N]     texts waiting, being sent, given up; each carrier's
                                delivery figures over the last N hours (default 1)`,
  async run({ values, out }) {
    const hours = values.hours === undefined ? 1 : Number(values.hours)
    if (!Number.isFinite(hours) || hours <= 0) throw new UsageError('--hours must be > 0')
    const status = await withStorage(settings(), ({ db }) =>
      outboxStatus(db, Date.now(), { hours }),
    )
    out.print(formatOutboxStatus(status), status)
  },
}
