/**
 * The order a message's (or a part's) status moves in: queued < sending < sent < delivered |
 * failed | undelivered. Reports only ever move it forward.
 * @module
 */
import type { MessageStatusColumn } from '../storage'

const RANK: Record<MessageStatusColumn, number> = {
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  failed: 3,
  undelivered: 3,
  // Never sent: no report can move it.
  suppressed: 4,
}

/** The statuses a message may be in for `next` to move it forward. */
export function statusesBefore(next: MessageStatusColumn): MessageStatusColumn[] {
  return (Object.keys(RANK) as MessageStatusColumn[]).filter((s) => RANK[s] < RANK[next])
}
